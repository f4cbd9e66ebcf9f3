/**
 * The messages between the orchestrator and a child-process host, over Node's IPC channel (JSON). Both
 * sides decode every message with these schemas; what does not decode is a `HostProtocolError` naming
 * the message (its `_tag`, or that it had none) and the field that was wrong.
 *
 * Parent -> child: `Start` (once: which instance, which generation, and with `calls` the agents it may
 * call), `Run` (one turn), `Cancel` (the turn's requester gave up), `Abandon` (record the interrupted turn
 * as abandoned), `InLog` (which recovered inbox messages the log already holds), `CallResult` (the answer
 * to a `Call`), `Shutdown` (with the reason). Child -> parent: `Ready` (the handshake: the instance is open
 * and holds its lock), `StartFailed`, `Delta` (streamed model output of a `Run`), `Done`, `Failed` (with
 * `crash` when the instance died with it), `Cancelled`, `InLogResult`, `Abandoned`, `Call` (an agents API
 * call of the instance, answered by the orchestrator), `CallCancel` (the call's caller was interrupted),
 * `Rejected` (the child could not decode a message).
 *
 * A `Call` carries only what the caller knows of itself that the parent cannot: its turn, span and call
 * chain. Who calls is the instance the child was started for; the parent never takes that from the child.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Message from "../../conversation/Message.js"
import * as Trace from "../../event/Trace.js"
import { AgentsApiError, type TurnResult } from "../../pipeline/Middleware.js"
import { NativeCallFailed } from "../../sandbox/NativeTools.js"
import { Reply } from "./callsInbox.js"
import type { TurnInput } from "./mailbox.js"

const OptionalString = Schema.optional(Schema.String)

const Call = Schema.Struct({
  callerAgent: OptionalString,
  callerInstanceKey: OptionalString,
  callerTurnId: OptionalString,
  callSource: OptionalString,
  callStack: Schema.optional(Schema.Array(Schema.String)),
  replyTo: Schema.optional(Schema.Struct({ target: Schema.String, correlationId: Schema.String }))
})

/** A mailbox `TurnInput` without its in-process parts (`onDelta`). */
const Input = Schema.Struct({
  input: Schema.String,
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Message.Json })),
  call: Schema.optional(Schema.Struct({
    source: Schema.optional(Message.MessageSource),
    parentTrace: Schema.optional(Trace.TraceContext),
    call: Schema.optional(Call),
    metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Message.Json }))
  }))
})

const Usage = Schema.Struct({
  inputTokens: Schema.optional(Schema.Number),
  outputTokens: Schema.optional(Schema.Number),
  totalTokens: Schema.optional(Schema.Number),
  cachedInputTokens: Schema.optional(Schema.Number),
  cacheWriteInputTokens: Schema.optional(Schema.Number),
  reasoningTokens: Schema.optional(Schema.Number)
})

const Part = Schema.Union(
  Schema.TaggedStruct("TextDelta", { text: Schema.String }),
  Schema.TaggedStruct("ReasoningDelta", { text: Schema.String }),
  Schema.TaggedStruct("ToolCallStart", { index: Schema.Number, id: Schema.String, name: Schema.String }),
  Schema.TaggedStruct("ToolCallDelta", { index: Schema.Number, argumentsDelta: Schema.String }),
  Schema.TaggedStruct("Usage", { usage: Usage })
)

const Result = Schema.Struct({
  turnId: Schema.String,
  responseMessage: Schema.optional(Message.Message),
  finishReason: Schema.Literal("text_response", "max_steps", "budget_exceeded", "awaiting_approval", "error"),
  limit: OptionalString,
  error: Schema.optional(Schema.Struct({ message: Schema.String, code: OptionalString }))
})

/** What a call's caller knows of itself (the running turn, its span, the chain that led to it). */
const Caller = Schema.Struct({
  turnId: Schema.String,
  trace: Trace.TraceContext,
  callChain: Schema.Array(Schema.String)
})

/** JSON turns NaN and Infinity into null: the parent refuses it as an invalid timeout, as in-process. */
const Timeout = Schema.optional(Schema.NullOr(Schema.Number))

const Json = Schema.Record({ key: Schema.String, value: Message.Json })

/** One agents API call of the child's instance (`Middleware.AgentsApi`, the reply inbox, `ctx.callAgent`). */
export const CallOp = Schema.Union(
  Schema.TaggedStruct("request", {
    target: Schema.String,
    input: OptionalString,
    instanceKey: OptionalString,
    timeoutMs: Timeout,
    async: Schema.optional(Schema.Boolean),
    metadata: Schema.optional(Json)
  }),
  Schema.TaggedStruct("send", {
    target: Schema.String,
    input: OptionalString,
    instanceKey: OptionalString,
    metadata: Schema.optional(Json)
  }),
  Schema.TaggedStruct("spawn", { target: Schema.String, instanceKey: OptionalString }),
  Schema.TaggedStruct("list", { includeAll: Schema.Boolean }),
  Schema.TaggedStruct("catalog", {}),
  Schema.TaggedStruct("pendingReplies", {}),
  Schema.TaggedStruct("markDelivered", { correlationIds: Schema.Array(Schema.String) }),
  Schema.TaggedStruct("pendingAsync", {}),
  Schema.TaggedStruct("callAgent", {
    target: Schema.String,
    input: Message.Json,
    toolId: Schema.String,
    instanceKey: OptionalString,
    mode: Schema.optional(Schema.Literal("sync", "async")),
    timeoutMs: Timeout,
    traceparent: OptionalString,
    tracestate: OptionalString,
    callChain: Schema.optional(Schema.Array(Schema.String))
  })
)
export type CallOp = typeof CallOp.Type

const Spawned = Schema.Struct({
  target: Schema.String,
  instanceKey: Schema.String,
  spawned: Schema.Boolean,
  owner: Schema.String
})

/** The orchestrator's answer to a `Call`: one success shape per operation, or the typed error. */
export const CallAnswer = Schema.Union(
  Schema.TaggedStruct("Response", {
    target: Schema.String,
    correlationId: Schema.String,
    async: Schema.Boolean,
    response: OptionalString
  }),
  Schema.TaggedStruct("Sent", { accepted: Schema.Boolean, target: Schema.String, correlationId: Schema.String }),
  Schema.TaggedStruct("Spawned", { spawned: Spawned }),
  Schema.TaggedStruct("Listed", { instances: Schema.Array(Spawned) }),
  Schema.TaggedStruct("Catalog", {
    swarmName: Schema.String,
    entryAgent: Schema.String,
    selfAgent: Schema.String,
    availableAgents: Schema.Array(Schema.String),
    callableAgents: Schema.Array(Schema.String)
  }),
  Schema.TaggedStruct("Replies", { replies: Schema.Array(Reply) }),
  Schema.TaggedStruct("Count", { count: Schema.Number }),
  Schema.TaggedStruct("Unit", {}),
  Schema.TaggedStruct("Native", { value: Message.Json }),
  AgentsApiError,
  NativeCallFailed
)
export type CallAnswer = typeof CallAnswer.Type

/** The reasons a child is shut down (see `AgentHost.ShutdownReason`). */
const Reason = Schema.Literal("restart", "stop", "idle", "config_change", "orchestrator_shutdown")

/** Parent -> child. */
export const ToChild = Schema.Union(
  Schema.TaggedStruct("Start", {
    generation: Schema.Number,
    bundleRoot: Schema.String,
    stateRoot: Schema.String,
    swarm: Schema.String,
    agent: Schema.String,
    instanceKey: Schema.String,
    workspaceId: Schema.String,
    /** Present when the orchestrator answers the instance's agents API calls: the agents it may call. */
    calls: Schema.optional(Schema.Struct({ callable: Schema.Array(Schema.String) }))
  }),
  Schema.TaggedStruct("Run", { id: Schema.Number, input: Input, resume: Schema.Boolean, stream: Schema.Boolean }),
  Schema.TaggedStruct("Cancel", { id: Schema.Number }),
  Schema.TaggedStruct("Abandon", { id: Schema.Number, reason: Schema.String }),
  Schema.TaggedStruct("CallResult", { id: Schema.Number, answer: CallAnswer }),
  Schema.TaggedStruct("InLog", { id: Schema.Number, ids: Schema.Array(Schema.String) }),
  Schema.TaggedStruct("Shutdown", { reason: Reason })
)
export type ToChild = typeof ToChild.Type

/** Child -> parent. */
export const ToParent = Schema.Union(
  Schema.TaggedStruct("Ready", { generation: Schema.Number, pid: Schema.Number }),
  Schema.TaggedStruct("StartFailed", { errorTag: Schema.String, detail: Schema.String }),
  Schema.TaggedStruct("Delta", { id: Schema.Number, stepIndex: Schema.Number, part: Part }),
  Schema.TaggedStruct("Done", { id: Schema.Number, result: Result }),
  Schema.TaggedStruct("Failed", {
    id: Schema.Number,
    errorTag: Schema.String,
    detail: Schema.String,
    crash: Schema.Boolean
  }),
  Schema.TaggedStruct("Cancelled", { id: Schema.Number }),
  Schema.TaggedStruct("InLogResult", {
    id: Schema.Number,
    started: Schema.Array(Schema.String),
    open: Schema.optional(Schema.String)
  }),
  Schema.TaggedStruct("Abandoned", { id: Schema.Number, error: OptionalString }),
  Schema.TaggedStruct("Call", { id: Schema.Number, caller: Schema.optional(Caller), op: CallOp }),
  Schema.TaggedStruct("CallCancel", { id: Schema.Number }),
  Schema.TaggedStruct("Rejected", { message: Schema.String, detail: Schema.String })
)
export type ToParent = typeof ToParent.Type

/**
 * A message from the other side did not decode: `received` is its `_tag` (or `(no _tag)`), `detail` what
 * was wrong, field by field (`generation: Expected number, actual "one"`).
 */
export class HostProtocolError extends Schema.TaggedError<HostProtocolError>("effect-swarm/HostProtocolError")(
  "HostProtocolError",
  { direction: Schema.Literal("to-child", "to-parent"), received: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `agent host protocol (${this.direction}): message ${this.received} is malformed: ${this.detail}; ` +
      "the parent and the child run different versions of effect-swarm, or something else writes to the channel"
  }
}

const tagOf = (u: unknown): string =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" ? u._tag : "(no _tag)"

/** Each issue as `field.path: what was expected` (a whole-message mismatch shortened). */
const describeIssues = (e: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(e).map((issue) => {
    const message = issue.message.length > 300 ? `${issue.message.slice(0, 300)}…` : issue.message
    return issue.path.length === 0 ? message : `${issue.path.map(String).join(".")}: ${message}`
  }).join("; ")

const decoder = <A, I>(schema: Schema.Schema<A, I>, direction: "to-child" | "to-parent") => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })
  return (u: unknown): Either.Either<A, HostProtocolError> =>
    Either.mapLeft(decode(u), (e) =>
      new HostProtocolError({
        direction,
        received: tagOf(u),
        detail: describeIssues(e)
      }))
}

export const decodeToChild = decoder(ToChild, "to-child")
export const decodeToParent = decoder(ToParent, "to-parent")
export const encodeToChild = Schema.encodeSync(ToChild)
export const encodeToParent = Schema.encodeSync(ToParent)

/** The JSON form of a mailbox input (its `onDelta` stays in this process). */
export const wireInput = (input: TurnInput): typeof Input.Type => ({
  input: input.input,
  ...(input.metadata === undefined ? {} : { metadata: input.metadata as Record<string, Message.Json> }),
  ...(input.call === undefined ? {} : { call: input.call })
})

/** A decoded turn result as the orchestrator returns it. */
export const turnResult = (result: typeof Result.Type): TurnResult => result

/** Encodes a message for `process.send`, or fails with the encoding issue (a bug: it is a defect). */
export const encodeOrDie = <A>(encode: (a: A) => unknown, message: A): Effect.Effect<unknown> =>
  Effect.try(() => encode(message)).pipe(Effect.orDie)
