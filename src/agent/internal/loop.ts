/**
 * The turn loop: the instance's turn onion around a loop of steps (see `step.ts` for a step's core and
 * `tools.ts` for its tool calls), the wall-time budget, the records that open and close a turn, the
 * instance status, and continuing the open turn of a log (resume after a crash or an approval; what the log
 * says of a turn is read in `openTurn.ts`).
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as ContextWindow from "../../context/ContextWindow.js"
import type * as Message from "../../conversation/Message.js"
import type { TraceContext } from "../../event/Trace.js"
import type { ModelError } from "../../model/ModelError.js"
import type { FinishReason, PipelineError, RuntimeInfo, TurnContext, TurnResult } from "../../pipeline/Middleware.js"
import type { ToolCatalogItem } from "../../tool/ToolCatalog.js"
import type { ExtensionStateError } from "../../workspace/ExtensionState.js"
import { AwaitingApproval, type TurnStorageError } from "../AgentError.js"
import type { AgentInstance } from "./instance.js"
import * as Log from "./log.js"
import {
  callKey,
  callOf,
  closeDangling,
  lastAssistantText,
  openTurn,
  pendingApprovals,
  turnMessages,
  unanswered
} from "./openTurn.js"
import { modelStep, pendingStep, stepInput } from "./step.js"
import {
  appendAll,
  appendMessage,
  conversationState,
  meta,
  type OnDelta,
  record,
  stateFor,
  type TurnState
} from "./write.js"

export { appendAll, record } from "./write.js"
export type { OnDelta, StepDelta } from "./write.js"

/** Every failure of a turn. */
export type TurnError =
  | TurnStorageError
  | ModelError
  | PipelineError
  | ExtensionStateError
  | ContextWindow.ContextOverflow

/**
 * What starts a turn: its text and, for a turn another agent asked for, who asked (the message's
 * `source`), the caller's span (the turn continues its trace) and the call chain. The call is written in
 * the input message's metadata, so a turn resumed after a crash keeps its chain and trace.
 */
export interface TurnInput {
  readonly text: string
  readonly source?: Message.MessageSource | undefined
  readonly parentTrace?: TraceContext | undefined
  readonly call?: RuntimeInfo["call"] | undefined
  readonly metadata?: Readonly<Record<string, Message.Json>> | undefined
  /**
   * Receives the deltas of each step's model response (text, reasoning, tool-call arguments, usage): the
   * steps of this turn then call `Model.stream` instead of `generate`. A step's assistant message is
   * still written only once its response is complete.
   */
  readonly onDelta?: OnDelta | undefined
}

const catalogOf = (inst: AgentInstance): Effect.Effect<ReadonlyArray<ToolCatalogItem>> => inst.tools.catalog

const result = (
  state: TurnState,
  finishReason: FinishReason,
  responseMessage: Message.Message | undefined
): TurnResult => ({
  turnId: state.turnId,
  finishReason,
  ...(responseMessage === undefined ? {} : { responseMessage }),
  ...(state.exceeded === undefined ? {} : { limit: state.exceeded.limit }),
  ...(state.failure === undefined ? {} : { error: state.failure })
})

/**
 * The loop inside the turn onion: run steps until the turn ends. One iteration is a read of the
 * conversation, of the catalog and a step, chained with `flatMap`s (no generator: it runs every step).
 */
const loop = (inst: AgentInstance, state: TurnState) => (turn: TurnContext) => {
  const next = (): Effect.Effect<TurnResult, LoopError> =>
    Effect.flatMap(Ref.get(inst.state.conversation), ({ messages: all }) => {
      // The turn is read in place (from `start` on): no copy of its messages, no set of every answered call.
      const start = Log.turnStart(all, state.turnId)
      const last = start < all.length ? all[all.length - 1] : undefined
      if (state.failure !== undefined) return Effect.succeed(result(state, "error", lastAssistantText(all, start)))
      if (state.awaiting.length > 0) return Effect.succeed(result(state, "awaiting_approval", undefined))
      if (state.exceeded !== undefined) {
        return Effect.succeed(result(state, "budget_exceeded", lastAssistantText(all, start)))
      }
      if (last !== undefined && last.data.role === "assistant" && Log.callsOf(last).length === 0) {
        return Effect.succeed(result(state, "text_response", last))
      }
      // The calls of the turn's last assistant message without a result: the log may end right after it,
      // or after some of its results (a crash between two result writes), never with the model asked again.
      let at = all.length - 1
      while (at >= start && all[at]!.data.role !== "assistant") at--
      if (at >= start) {
        const assistant = all[at]!
        const pending = unanswered(all, at)
        if (pending.length > 0) {
          return Effect.flatMap(catalogOf(inst), (toolCatalog) =>
            Effect.flatMap(
              inst.pipeline.runStep(
                { turn, stepIndex: Log.stepOf(assistant) ?? Math.max(0, state.steps - 1), toolCatalog },
                pendingStep(inst, state, assistant, pending)
              ),
              next
            ))
        }
      }
      const max = inst.policy.maxTokens
      if (max !== undefined && state.tokens > max) {
        state.exceeded = { limit: "maxTokens", value: max, used: state.tokens }
        return next()
      }
      if (state.steps >= inst.policy.maxStepsPerTurn) {
        return Effect.succeed(result(state, "max_steps", lastAssistantText(all, start)))
      }
      const stepIndex = state.steps++
      const metadata = stepInput(inst, all)
      return Effect.flatMap(catalogOf(inst), (toolCatalog) =>
        Effect.flatMap(
          inst.pipeline.runStep({ turn, stepIndex, toolCatalog, metadata }, modelStep(inst, state)),
          next
        ))
    })
  return next()
}

/** What the loop's steps may fail with. */
type LoopError =
  | Effect.Effect.Error<ReturnType<ReturnType<typeof modelStep>>>
  | Effect.Effect.Error<ReturnType<ReturnType<typeof pendingStep>>>
  | PipelineError

/** Runs (or continues) a turn whose user message, if any, is already written. */
const drive = (inst: AgentInstance, state: TurnState) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const wall = inst.policy.maxWallTime
    const core = (turn: TurnContext) => {
      const body = loop(inst, state)(turn)
      if (wall === undefined) return body
      return Effect.timeoutTo(body, {
        duration: wall,
        onSuccess: (r): Option.Option<TurnResult> => Option.some(r),
        onTimeout: (): Option.Option<TurnResult> => Option.none()
      }).pipe(Effect.flatMap(Option.match({
        onSome: Effect.succeed,
        onNone: () =>
          Effect.gen(function*() {
            const elapsed = (yield* Clock.currentTimeMillis) - started
            // `value` is the limit (as for the other budgets), `used` the time the turn took.
            state.exceeded = { limit: "maxWallTime", value: Duration.toMillis(wall), used: Math.round(elapsed) }
            yield* closeDangling(inst, state.turnId, "the turn's wall-time budget (maxWallTime) ran out")
            return result(state, "budget_exceeded", lastAssistantText(yield* turnMessages(inst, state.turnId)))
          })
      })))
    }
    const turnResult = yield* inst.pipeline.runTurn({
      agentName: inst.ref.agentName,
      instanceKey: inst.ref.instanceKey,
      turnId: state.turnId,
      conversation: conversationState(inst),
      inputEvent: state.input === undefined ?
        { type: "resume" } :
        { type: state.call === undefined ? "user_message" : "agent.request", input: state.input },
      runtime: state.call === undefined ? inst.runtime : { ...inst.runtime, call: state.call },
      ...(state.parentTrace === undefined ? {} : { parentTrace: state.parentTrace }),
      ...(inst.agents === undefined ? {} : { agents: inst.agents })
    }, core).pipe(
      // A failed turn keeps its partial messages and records why. An interrupted one (its scope closed) and
      // one that died (a defect: a crash, which the orchestrator answers by continuing the turn from the log)
      // stay open: the next use of the instance continues it. Recording a crash as failed made a durable
      // instance run the crashed message again as a new turn (found by test/orchestrator/soak.test.ts).
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause) || Option.isNone(Cause.failureOption(cause)) ?
          Effect.void :
          record(inst, "turn.failed", state.turnId, {
            stepCount: state.steps,
            errorMessage: Cause.pretty(cause).split("\n")[0] ?? "failed"
          }).pipe(Effect.ignore)
      )
    )
    if (state.exceeded !== undefined) {
      yield* record(inst, "budget.exceeded", state.turnId, { ...state.exceeded })
    }
    if (turnResult.finishReason !== "awaiting_approval") {
      // The `idle` status is written beside the turn's last record (see `Storage.withStatus`).
      yield* inst.state.storage.withStatus(
        "idle",
        record(inst, "turn.completed", state.turnId, {
          stepCount: state.steps,
          duration: (yield* Clock.currentTimeMillis) - started,
          tokenUsage: { totalTokens: state.tokens },
          finishReason: turnResult.finishReason,
          ...(turnResult.limit === undefined ? {} : { limit: turnResult.limit })
        })
      )
    }
    return turnResult
  }).pipe(
    // The step and tool events not yet written with a record (a turn paused or failed after its last one).
    // Not after an interruption: the stores may be closing too; the instance's next record takes them.
    Effect.onExit((exit) =>
      Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) ? Effect.void : inst.state.storage.record([]).pipe(
        Effect.catchAll((e) => Effect.logWarning(`${inst.label}: step and tool events not written`, e))
      )
    ),
    // An interrupted turn (a cancelled request, a closing scope) stays open in the log with its last step:
    // a group-committed step still waiting for its results is written now, as the write-ahead path would
    // have written it. Only a crash loses such a step (the model is asked for it again). After the stores
    // closed, the append fails with StoreClosed and touches nothing: then the step is lost as in a crash.
    Effect.onInterrupt(() =>
      inst.state.staged.length === 0 ? Effect.void : appendAll(inst, []).pipe(
        Effect.catchAll((e) => Effect.logWarning(`${inst.label}: the interrupted step was not written`, e))
      )
    ),
    // The status says what the instance waits for: a decision (`awaiting_approval`) or input (`idle`).
    Effect.tap((r) =>
      inst.state.storage.setStatus(r.finishReason === "awaiting_approval" ? "awaiting_approval" : "idle")
    ),
    Effect.onError(() => inst.state.storage.setStatus("idle").pipe(Effect.ignore)),
    savingExtensionState(inst),
    Effect.mapError(surfaceOverflow)
  )

/**
 * A turn whose newest messages do not fit the context window fails with the `ContextOverflow` itself:
 * the context window is a step middleware, and middlewares fail with a `MiddlewareError` carrying it as
 * its cause, which callers should not have to unwrap.
 */
const surfaceOverflow = <E>(error: E): E | ContextWindow.ContextOverflow => ContextWindow.overflowOf(error) ?? error

/**
 * Saves the state of the instance's extensions (the changed ones) at the end of every turn: completed,
 * failed, paused for approval, over a budget, or interrupted. A failure to save fails a turn that
 * otherwise succeeded (`ExtensionStateError`); after a failed turn it is logged and the turn's own
 * failure stands.
 */
const savingExtensionState =
  (inst: AgentInstance) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ExtensionStateError, R> => {
    const env = inst.state.extensions
    if (env === undefined) return self
    const logged = (when: string): Effect.Effect<void> =>
      env.saveState.pipe(
        Effect.asVoid,
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`${inst.label}: extension state not saved after ${when}`, cause)
        )
      )
    const settled = (exit: Exit.Exit<A, E>): Effect.Effect<A, E | ExtensionStateError> =>
      Exit.isSuccess(exit) ? Effect.as(env.saveState, exit.value) : Effect.zipRight(logged("a failed turn"), exit)
    return self.pipe(
      Effect.onInterrupt(() => logged("an interrupted turn")),
      Effect.exit,
      Effect.flatMap(settled)
    )
  }

const makeTurnId = Effect.map(
  Effect.zip(Clock.currentTimeMillis, Effect.flatMap(Effect.random, (r) => r.nextIntBetween(0, 2 ** 31))),
  ([ms, n]) => `turn-${ms.toString(36)}-${n.toString(36).padStart(6, "0")}`
)

/** Continues the open turn, if any. Must run under the instance lock. */
export const resumeLocked = (inst: AgentInstance) =>
  Effect.gen(function*() {
    const open = yield* openTurn(inst)
    if (open === undefined) return Option.none<TurnResult>()
    yield* inst.state.storage.setStatus("processing")
    return Option.some(yield* drive(inst, stateFor(open.turnId, undefined, open.used, callOf(open.messages[0]))))
  })

/** Runs a turn for a new input, after finishing the open one. Must run under the instance lock. */
export const runLocked = (inst: AgentInstance, turnInput: string | TurnInput) =>
  Effect.gen(function*() {
    const input = typeof turnInput === "string" ? { text: turnInput } : turnInput
    const open = yield* openTurn(inst)
    if (open !== undefined) {
      const pending = pendingApprovals(inst, open.turnId)
      if (pending.length > 0) {
        return yield* new AwaitingApproval({
          instance: inst.label,
          turnId: open.turnId,
          toolCallIds: pending.map((p) => p.toolCallId)
        })
      }
      const resumed = yield* resumeLocked(inst)
      // The open turn paused again (a call that needs approval had no request in it): the input waits.
      const waiting = pendingApprovals(inst, open.turnId)
      if (Option.isSome(resumed) && resumed.value.finishReason === "awaiting_approval" && waiting.length > 0) {
        return yield* new AwaitingApproval({
          instance: inst.label,
          turnId: open.turnId,
          toolCallIds: waiting.map((p) => p.toolCallId)
        })
      }
    }
    // A failed turn may have left tool calls without results: answer them so the model accepts the history.
    const previous = Log.lastTurn(yield* Ref.get(inst.state.conversation))
    if (previous !== undefined) {
      yield* closeDangling(inst, previous.turnId, "the turn failed before its result was written")
    }
    const turnId = yield* makeTurnId
    // Write-ahead: the input is durable before the turn starts, so a crash never loses it. The status
    // `processing` is written beside it (see `Storage.withStatus`).
    const call = input.call === undefined && input.parentTrace === undefined
      ? undefined
      : { call: input.call, parentTrace: input.parentTrace }
    yield* inst.state.storage.withStatus(
      "processing",
      appendMessage(
        inst,
        { role: "user", content: input.text },
        {
          ...input.metadata,
          ...meta(turnId),
          ...(call === undefined ? {} : { [callKey]: JSON.parse(JSON.stringify(call)) as Message.Json })
        },
        input.source
      )
    )
    // Durable with the turn's next record (its end, a pause): the input message above marks the turn.
    yield* record(inst, "turn.started", turnId, {}, { withNext: true })
    return yield* drive(inst, stateFor(turnId, input.text, undefined, call, input.onDelta))
  })
