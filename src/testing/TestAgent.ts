/**
 * A harness for testing agents: an instance on a scripted model, in memory or on a temporary state root
 * (durable, exactly as in production), with its tools, the runtime events it published and assertions on
 * the recorded turn. Time is Effect's `Clock`, so `TestClock` drives every timer (`it.effect` provides it).
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { AwaitingApproval, TurnStorageError } from "../agent/AgentError.js"
import * as AgentInstance from "../agent/AgentInstance.js"
import * as Turn from "../agent/Turn.js"
import type * as Message from "../conversation/Message.js"
import * as EventBus from "../event/EventBus.js"
import type { RuntimeEvent } from "../event/RuntimeEvent.js"
import type * as Model from "../model/Model.js"
import type { ModelConfigError } from "../model/ModelError.js"
import * as Scripted from "../model/providers/Scripted.js"
import type { TurnResult } from "../pipeline/Middleware.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"
import type { ToolHandler } from "../tool/ToolRegistry.js"
import * as ExtensionState from "../workspace/ExtensionState.js"
import * as Instances from "../workspace/Instances.js"
import * as MessageStore from "../workspace/MessageStore.js"
import * as RuntimeEventLog from "../workspace/RuntimeEventLog.js"
import type { EventRecord } from "../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"

/**
 * A tool of the test agent: its catalog item, its handler and its loop settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestTool {
  readonly item: ToolCatalogItem
  readonly handler: ToolHandler
  readonly idempotent?: boolean | undefined
  readonly needsApproval?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<AgentInstance.Options, "ref" | "model" | "tools"> {
  /** The model; defaults to a scripted one running `script`. */
  /** The scripted model's steps (see `Scripted.ScriptStep`); or give `model`. */
  readonly script?: ReadonlyArray<Scripted.ScriptStep> | undefined
  readonly model?: Model.Service | undefined
  readonly tools?: ReadonlyArray<TestTool> | undefined
  readonly ref?: InstanceRef | undefined
  /**
   * `"memory"` (default), `"temp"` (a durable instance on a temporary state root removed with the scope),
   * or `{ root }` (a durable instance on that state root, e.g. to reopen it as after a restart).
   */
  readonly storage?: "memory" | "temp" | { readonly root: string } | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TestAgent {
  readonly instance: AgentInstance.AgentInstance
  /** The state root of a durable test agent. */
  readonly root: string | undefined
  readonly run: (input: string) => Effect.Effect<TurnResult, Turn.TurnError | AwaitingApproval>
  /** The conversation's messages. */
  readonly messages: Effect.Effect<ReadonlyArray<Message.Message>>
  /** Every runtime event the instance's pipeline published so far. */
  readonly events: Effect.Effect<ReadonlyArray<RuntimeEvent>>
  /** The turn-loop records written so far (`turn.started`, `approval.requested`, ...). */
  readonly records: Effect.Effect<ReadonlyArray<EventRecord>, TurnStorageError>
  /** One line per message: `user: hi`, `assistant: [calls a__b]`, `tool a__b: ok {...}`. */
  readonly transcript: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The default instance of a test agent.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRef: InstanceRef = { workspaceId: "test", agentName: "agent", instanceKey: "test" }

const line = (m: Message.Message): string => {
  const data = m.data
  if (data.role === "tool") {
    const part = typeof data.content === "string" ? undefined : data.content.find((p) => p.type === "tool-result")
    const output = part?.type === "tool-result" ? part.output : data.content
    const status = part?.type === "tool-result" && part.isError === true ? "error" : "ok"
    return `tool ${data.toolName ?? "?"}: ${status} ${typeof output === "string" ? output : JSON.stringify(output)}`
  }
  const text = typeof data.content === "string"
    ? data.content
    : data.content.flatMap((p) => p.type === "text" ? [p.text] : []).join("\n")
  const calls = data.toolCalls ?? []
  const shown = calls.length === 0 ? "" : `[calls ${calls.map((c) => c.name).join(", ")}]`
  return `${data.role}: ${[text, shown].filter((s) => s !== "").join(" ")}`
}

/**
 * Builds a test agent in the scope.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestAgent } from "effect-swarm/testing"
 * it.scoped("answers", () =>
 *   Effect.gen(function*() {
 *     const agent = yield* TestAgent.make({ script: [{ text: "hello" }] })
 *     const result = yield* agent.run("hi")
 *     yield* TestAgent.assertFinish(result, "text_response")
 *   }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TestAgent, ModelConfigError | AgentInstance.OpenError, Scope.Scope> =>
  Effect.gen(function*() {
    const model = options.model ?? (yield* Scripted.make(options.script ?? []))
    const bus = yield* EventBus.make()
    const subscription = yield* bus.subscribe
    const seen = yield* Ref.make<ReadonlyArray<RuntimeEvent>>([])
    const settings: Record<string, { idempotent?: boolean | undefined; needsApproval?: boolean | undefined }> = {}
    for (const t of options.tools ?? []) {
      settings[t.item.name] = { idempotent: t.idempotent, needsApproval: t.needsApproval }
    }
    const instanceOptions: AgentInstance.Options = {
      ...options,
      ref: options.ref ?? defaultRef,
      model,
      tools: settings
    }
    const storage = options.storage ?? "memory"
    let root: string | undefined
    let instance: AgentInstance.AgentInstance
    if (storage === "memory") {
      instance = yield* AgentInstance.makeInMemory(instanceOptions).pipe(
        Effect.provideService(EventBus.EventBus, bus)
      )
    } else {
      const fsRoot = storage === "temp"
        ? yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "es-agent-" }))
          .pipe(Effect.provide(NodeFileSystem.layer), Effect.orDie)
        : storage.root
      root = fsRoot
      const stores = Layer.mergeAll(
        MessageStore.layer({ root: fsRoot }),
        RuntimeEventLog.layer({ root: fsRoot }),
        Instances.layer({ root: fsRoot }),
        ExtensionState.layer({ root: fsRoot })
      ).pipe(Layer.provide(NodeFileSystem.layer))
      const context = yield* Layer.build(stores)
      instance = yield* AgentInstance.make(instanceOptions).pipe(
        Effect.provide(context),
        Effect.provideService(EventBus.EventBus, bus)
      )
    }
    for (const t of options.tools ?? []) {
      yield* instance.tools.register(t.item, t.handler).pipe(Effect.orDie)
    }
    const events = Effect.flatMap(Queue.takeAll(subscription), (chunk) =>
      Ref.updateAndGet(seen, (all) => [...all, ...Chunk.toReadonlyArray(chunk)]))
    const messages = Effect.map(AgentInstance.conversation(instance), (c) =>
      c.messages)
    return {
      instance,
      root,
      run: (input) => Turn.run(instance, input),
      messages,
      events,
      records: instance.state.storage.records,
      transcript: Effect.map(messages, (ms) => ms.map(line))
    } satisfies TestAgent
  })

/**
 * An assertion of the harness failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class AssertionFailed extends Schema.TaggedError<AssertionFailed>("effect-swarm/AssertionFailed")(
  "AssertionFailed",
  { message: Schema.String }
) {}

/**
 * Asserts a turn's finish reason (and its limit, for `budget_exceeded`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestAgent } from "effect-swarm/testing"
 * const program = Effect.gen(function*() {
 *   const agent = yield* TestAgent.make({ script: [{ text: "hello" }] })
 *   yield* TestAgent.assertFinish(yield* agent.run("hi"), "text_response")
 * })
 * ```
 *
 * @since 0.1.0
 * @category assertions
 */
export const assertFinish = (
  result: TurnResult,
  finishReason: TurnResult["finishReason"],
  limit?: string
): Effect.Effect<void, AssertionFailed> =>
  result.finishReason === finishReason && (limit === undefined || result.limit === limit)
    ? Effect.void
    : Effect.fail(
      new AssertionFailed({
        message: `expected the turn to end with ${finishReason}${limit === undefined ? "" : ` (${limit})`}, got ${
          JSON.stringify({ finishReason: result.finishReason, limit: result.limit, error: result.error })
        }`
      })
    )

const firstDifference = (expected: ReadonlyArray<string>, actual: ReadonlyArray<string>): string => {
  let i = 0
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++
  const show = (line: string | undefined) => line === undefined ? "nothing" : JSON.stringify(line)
  return `line ${i + 1} differs: expected ${show(expected[i])}, got ${show(actual[i])}`
}

/**
 * Asserts the transcript of the conversation, line by line (see {@link TestAgent.transcript}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestAgent } from "effect-swarm/testing"
 * const program = Effect.gen(function*() {
 *   const agent = yield* TestAgent.make({ script: [{ text: "hello" }] })
 *   yield* agent.run("hi")
 *   yield* TestAgent.assertTranscript(agent, ["user: hi", "assistant: hello"])
 * })
 * ```
 *
 * @since 0.1.0
 * @category assertions
 */
export const assertTranscript = (
  agent: TestAgent,
  expected: ReadonlyArray<string>
): Effect.Effect<void, AssertionFailed> =>
  Effect.flatMap(
    agent.transcript,
    (actual) =>
      actual.length === expected.length && actual.every((l, i) => l === expected[i])
        ? Effect.void
        : Effect.fail(
          new AssertionFailed({
            message: `transcript differs: ${firstDifference(expected, actual)}\nexpected:\n  ${
              expected.join("\n  ")
            }\nactual:\n  ${actual.join("\n  ")}`
          })
        )
  )

/**
 * The text of a turn's reply (`""` when it has none).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestAgent } from "effect-swarm/testing"
 * const program = Effect.gen(function*() {
 *   const agent = yield* TestAgent.make({ script: [{ text: "hello" }] })
 *   return TestAgent.replyText(yield* agent.run("hi")) // "hello"
 * })
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const replyText = (result: TurnResult): string =>
  Option.match(Option.fromNullable(result.responseMessage), {
    onNone: () => "",
    onSome: (m) =>
      typeof m.data.content === "string"
        ? m.data.content
        : m.data.content.flatMap((p) => p.type === "text" ? [p.text] : []).join("\n")
  })
