/**
 * Writing the instance's log: turn-loop records (synchronously durable), message events appended after
 * the last seq the instance has seen, and the tool-result messages the loop writes itself. Also the
 * mutable state of the turn being run.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as ContextWindow from "../../context/ContextWindow.js"
import * as Conversation from "../../conversation/Conversation.js"
import * as Message from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import { loopRecordVersion } from "../../event/RuntimeEvent.js"
import type { TraceContext } from "../../event/Trace.js"
import type * as Model from "../../model/Model.js"
import { type ConversationState, ConversationWriteError, type RuntimeInfo } from "../../pipeline/Middleware.js"
import * as ToolExecutor from "../../tool/ToolExecutor.js"
import type { EventRecord } from "../../workspace/RuntimeEventLog.js"
import type { Limit } from "../Policy.js"
import type { AgentInstance } from "./instance.js"
import * as Log from "./log.js"

/** A piece of a step's streamed model response (everything but the final `Finish`). */
export type StepDelta = Exclude<Model.StreamPart, { readonly _tag: "Finish" }>

/** Receives the deltas of each step's model response when the caller streams the turn. */
export type OnDelta = (stepIndex: number, part: StepDelta) => Effect.Effect<void>

/** What the turn being run has used and decided so far (owned by one fiber under the instance lock). */
export interface TurnState {
  readonly turnId: string
  readonly input: string | undefined
  /** Set when the caller asked for deltas: steps then call `Model.stream` instead of `generate`. */
  readonly onDelta: OnDelta | undefined
  /** For a turn another agent asked for: the call (chain, caller) and the caller's span. */
  readonly call: RuntimeInfo["call"] | undefined
  readonly parentTrace: TraceContext | undefined
  steps: number
  toolCalls: number
  tokens: number
  empty: number
  malformed: number
  exceeded: { readonly limit: Limit; readonly value: number; readonly used: number } | undefined
  awaiting: ReadonlyArray<string>
  failure: { readonly code: string; readonly message: string } | undefined
}

export const stateFor = (
  turnId: string,
  input: string | undefined,
  used?: ReturnType<typeof Log.usedBy>,
  call?: { readonly call?: RuntimeInfo["call"] | undefined; readonly parentTrace?: TraceContext | undefined },
  onDelta?: OnDelta
): TurnState => ({
  turnId,
  input,
  onDelta,
  call: call?.call,
  parentTrace: call?.parentTrace,
  steps: used?.steps ?? 0,
  toolCalls: used?.toolCalls ?? 0,
  tokens: used?.tokens ?? 0,
  empty: 0,
  malformed: 0,
  exceeded: undefined,
  awaiting: [],
  failure: undefined
})

/** Error codes of tool results the loop writes itself. */
export const codes = {
  interrupted: "E_TOOL_INTERRUPTED",
  denied: "E_TOOL_DENIED",
  budget: "E_BUDGET_EXCEEDED"
} as const

/**
 * Writes one turn-loop record (durable on return) and applies it to the in-memory log. `withNext`: the
 * record is written with the next one instead (see `Storage.recordWithNext`), for records nothing
 * depends on until the turn ends.
 */
export const record = (
  inst: AgentInstance,
  type: string,
  turnId: string,
  fields: Record<string, unknown>,
  options?: { readonly withNext?: boolean }
) =>
  Effect.flatMap(Clock.currentTimeMillis, (ms) => {
    const r: EventRecord = {
      type,
      timestamp: new Date(ms).toISOString(),
      agentName: inst.ref.agentName,
      instanceKey: inst.ref.instanceKey,
      turnId,
      rv: loopRecordVersion,
      ...fields
    }
    const write = options?.withNext === true ? inst.state.storage.recordWithNext([r]) : inst.state.storage.record([r])
    return Effect.as(write, r).pipe(Effect.tap((r) => {
      Log.applyRecord(inst.state.log, r)
      // Extensions' `events.on("approval.requested", ...)`: the loop's records are not on the bus.
      inst.state.extensions?.deliverRecord(r)
    }))
  })

/**
 * How many events an instance's conversation keeps in memory past its base before it may fold them (and
 * only once they outnumber its current messages: then at least that many are dead, a `truncate`, `remove`
 * or `replace` or what one of those dropped).
 */
export const foldAfter = 64

/**
 * The conversation an instance keeps in memory after an append: folded into its base (`Conversation.fold`,
 * what the durable store's compaction writes to its snapshot) once dead events dominate, so an instance
 * that truncates its context keeps what it must (its current messages, at most `max(foldAfter, messages)`
 * events past them) however long it runs. The ended turns the fold dropped leave the loop's log and, for an
 * in-memory instance, its records. Each fold copies the current messages, fewer than the events since the
 * last: amortised O(1) per event. A fork at a seq folded away is refused as for a compacted log.
 */
const settled = (inst: AgentInstance, c: Conversation.Conversation): Conversation.Conversation => {
  const events = Conversation.eventCount(c)
  if (events < foldAfter || events <= Conversation.size(c)) return c
  const folded = Conversation.fold(c)
  const gone = Log.forgetEnded(inst.state.log, folded.messages)
  if (gone.size > 0) inst.state.storage.forget(gone)
  return folded
}

/**
 * Appends message events after the last seq this instance has seen (durable on return), after the staged
 * ones (see {@link stage}) if any: those are written first, in the same append.
 */
export const appendAll = (inst: AgentInstance, drafts: ReadonlyArray<MessageEvent.Draft>) =>
  // The conversation is read first (one operation, where a `suspend` cost one more): what is staged is
  // decided when the append runs.
  Effect.flatMap(Ref.get(inst.state.conversation), (current) => {
    const state = inst.state
    const staged = state.staged
    if (staged.length === 0) {
      return Effect.flatMap(
        state.storage.append(drafts, current.lastSeq),
        (events) => Ref.update(state.conversation, (c) => settled(inst, Conversation.applyAll(c, events)))
      )
    }
    // The staged events are in the conversation already (numbered from `stagedAfter`): write them with
    // these, apply only these. A failed write keeps them staged, so the next append writes them.
    return Effect.flatMap(
      state.storage.append([...staged, ...drafts], state.stagedAfter),
      (events) => {
        state.staged = []
        return drafts.length === 0 ?
          Effect.void :
          Ref.update(state.conversation, (c) => settled(inst, Conversation.applyAll(c, events.slice(staged.length))))
      }
    )
  })

/**
 * Group commit of a step (durable instances): the drafts are numbered after the last seq and applied to
 * the conversation now (everything in this process sees them at once), but written only with the next
 * append, the step's tool results. Only for a step whose tool calls are all idempotent: if the process dies
 * before that append, the step is not in the log, and the restarted instance asks the model for it again;
 * its tools may have run (which their `idempotent` declaration allows), nothing acknowledged is lost. An
 * interrupted turn writes it before it stops (`drive`), so only a crash loses it.
 */
export const stage = (inst: AgentInstance, drafts: ReadonlyArray<MessageEvent.Draft>) =>
  Ref.update(inst.state.conversation, (c) => {
    if (inst.state.staged.length === 0) inst.state.stagedAfter = c.lastSeq
    inst.state.staged = [...inst.state.staged, ...drafts]
    let next = c
    for (const draft of drafts) next = Conversation.applyDraft(next, draft)[1]
    return next
  })

/** The metadata the loop stamps on its messages (turn, step, extra keys). */
export const meta = (turnId: string, step?: number, extra?: Record<string, Message.Json>) => ({
  [Log.keys.turnId]: turnId,
  ...(step === undefined ? {} : { [Log.keys.step]: step }),
  ...extra
})

/** A new message of the instance made at `ms` (its id from the instance's generator): no Effect operation. */
export const messageAt = (
  inst: AgentInstance,
  ms: number,
  data: Message.MessageData,
  metadata: Record<string, Message.Json>,
  source?: Message.MessageSource
): Message.Message => ({
  id: inst.state.messageId(ms),
  data,
  metadata,
  createdAt: new Date(ms),
  source: source ?? Message.defaultSource(data)
})

/** A new message of the instance (its id from the instance's generator, `createdAt` from `Clock`). */
export const newMessage = (
  inst: AgentInstance,
  data: Message.MessageData,
  metadata: Record<string, Message.Json>,
  source?: Message.MessageSource
): Effect.Effect<Message.Message> =>
  // Built here rather than by `Message.make` (a generator reading the clock again): two per step.
  Effect.clockWith((clock) => Effect.succeed(messageAt(inst, clock.unsafeCurrentTimeMillis(), data, metadata, source)))

export const appendMessage = (
  inst: AgentInstance,
  data: Message.MessageData,
  metadata: Record<string, Message.Json>,
  source?: Message.MessageSource,
  options?: { readonly staged?: boolean }
) =>
  Effect.flatMap(
    newMessage(inst, data, metadata, source),
    (m) => Effect.as((options?.staged === true ? stage : appendAll)(inst, [MessageEvent.append(m)]), m)
  )

/** The conversation as the pipeline contexts see it: durable on return, failures typed. */
export const conversationState = (inst: AgentInstance): ConversationState => ({
  get: Ref.get(inst.state.conversation),
  emit: (draft) =>
    appendAll(inst, [draft]).pipe(
      Effect.mapError((e) => new ConversationWriteError({ instance: inst.label, detail: e.detail, cause: e }))
    )
})

/**
 * The message of a tool call's result, made at `ms` (see {@link messageAt}). `notRun`: the result answers a
 * call that never started (denied, over the budget), marked so that it does not count toward `maxToolCalls`
 * when the turn is continued (`Log.usedBy`).
 */
export const toolResultAt = (
  inst: AgentInstance,
  ms: number,
  turnId: string,
  step: number,
  result: ToolExecutor.ToolCallResult,
  notRun?: boolean
): Message.Message =>
  messageAt(
    inst,
    ms,
    {
      role: "tool",
      toolCallId: result.toolCallId,
      toolName: result.toolName,
      content: [{
        type: "tool-result",
        toolCallId: result.toolCallId,
        toolName: result.toolName,
        output: ToolExecutor.forModel(result) as Message.Json,
        ...(result.status === "error" ? { isError: true } : {})
      }]
    },
    meta(
      turnId,
      step,
      notRun === true
        ? { [Log.keys.notRun]: true }
        : result.pinned === true
        ? { [ContextWindow.pinnedKey]: true }
        : undefined
    )
  )

export const toolResultMessage = (
  inst: AgentInstance,
  turnId: string,
  step: number,
  result: ToolExecutor.ToolCallResult
) =>
  Effect.clockWith((clock) => Effect.succeed(toolResultAt(inst, clock.unsafeCurrentTimeMillis(), turnId, step, result)))

export const errorResult = (
  call: { readonly id: string; readonly name: string },
  code: string,
  message: string,
  suggestion?: string
): ToolExecutor.ToolCallResult => ({
  toolCallId: call.id,
  toolName: call.name,
  status: "error",
  error: { name: "ToolCallError", code, message, ...(suggestion === undefined ? {} : { suggestion }) }
})
