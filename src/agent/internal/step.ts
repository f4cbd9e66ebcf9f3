/**
 * The core of a step, inside the step onion: `modelStep` asks the model (`modelCall.ts`: the request is built
 * by `modelRequest`, the one place that decides what the model sees) and writes its assistant message
 * before any tool runs; `pendingStep` finishes the tool calls of an assistant message already in the log
 * (a resumed turn, or one whose approvals were decided) without asking the model again.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Tracer from "effect/Tracer"
import * as ContextWindow from "../../context/ContextWindow.js"
import * as Tokens from "../../context/Tokens.js"
import type * as Message from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import type * as Model from "../../model/Model.js"
import type { ModelError } from "../../model/ModelError.js"
import * as LlmInput from "../../pipeline/LlmInput.js"
import type { StepContext, StepResult } from "../../pipeline/Middleware.js"
import * as CallIds from "./callIds.js"
import type { AgentInstance } from "./instance.js"
import * as Log from "./log.js"
import { modelRequest, streamed, traced } from "./modelCall.js"
import * as Retry from "./retry.js"
import { type Action, approvalReason, denied, interrupted, notStarted, runActions } from "./tools.js"
import { appendAll, appendMessage, messageAt, meta, record, stage, type TurnState } from "./write.js"

// One system message per prompt text: its step.started summary is then computed once, not every step.
const systemMessages = new Map<string, Message.Message>()
const systemMessage = (text: string): Message.Message => {
  let message = systemMessages.get(text)
  if (message === undefined) {
    message = {
      id: "system-prompt",
      data: { role: "system", content: text },
      metadata: {},
      createdAt: new Date(0),
      source: { type: "system" }
    }
    if (systemMessages.size >= 256) systemMessages.clear()
    systemMessages.set(text, message)
  }
  return message
}

/** The `step.started` model input summary (system prompt first), for the step context's metadata. */
export const stepInput = (inst: AgentInstance, messages: ReadonlyArray<Message.Message>) => ({
  [LlmInput.metadataKey]: LlmInput.summarize(
    messages,
    inst.system === undefined ? undefined : systemMessage(inst.system)
  )
})

// Effect's default tracer: spans in it are not exported anywhere.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Whether a step's assistant message may wait for its tool results to be written with them: a durable
 * instance whose policy does not turn group commit off, at least one call, and every call idempotent and
 * not waiting for approval.
 */
const groupCommit = (inst: AgentInstance, calls: ReadonlyArray<Message.ToolCall>): boolean => {
  if (inst.state.storage.kind !== "durable" || calls.length === 0 || inst.policy.groupCommit === false) return false
  for (const call of calls) {
    if (inst.toolSettings(call.name).idempotent !== true || approvalReason(inst, call) !== undefined) return false
  }
  return true
}

/**
 * One step's core: the model call, its assistant message (written first), then its tool calls. Built from
 * `flatMap`s rather than a generator: it runs every step, and a generator cost an iterator, a result
 * object per `yield` and a frame per yielded effect.
 */
export const modelStep = (inst: AgentInstance, state: TurnState) =>
(step: StepContext): Effect.Effect<
  StepResult,
  StepError | ModelError
> =>
  Effect.withFiberRuntime((fiber) => {
    // The chat span and its attributes only when a tracer that exports is installed: Effect's built-in
    // tracer records nothing, and a span per model call cost as much as the rest of the step's loop.
    const services = fiber.getFiberRef(DefaultServices.currentServices)
    const exporting = Context.get(services, Tracer.Tracer) !== nativeTracer
    const clock = Context.get(services, Clock.Clock)
    return Effect.flatMap(Ref.get(inst.state.conversation), ({ messages }) => {
      const request = modelRequest(inst, step, messages)
      // Streamed when the caller asked for deltas; the assistant message is written once the response is
      // complete either way (write-ahead semantics do not change).
      const call = state.onDelta === undefined
        ? inst.model.generate(request)
        : streamed(inst, request, step.stepIndex, state.onDelta)
      return Effect.flatMap(exporting ? traced(inst, request, call) : call, (response) =>
        afterModel(inst, state, step, messages, CallIds.unique(response), clock))
    })
  })

/** What writing a step and running its tools may fail with. */
type StepError =
  | Effect.Effect.Error<ReturnType<typeof appendAll>>
  | Effect.Effect.Error<ReturnType<typeof record>>
  | Effect.Effect.Error<ReturnType<typeof runActions>>

/**
 * A step's tokens estimated from its request and response (`Tokens.estimate` for the model's provider:
 * about 4 characters a token), for the `maxTokens` budget when the provider reported no usage.
 */
const estimatedTokens = (
  inst: AgentInstance,
  step: StepContext,
  messages: ReadonlyArray<Message.Message>,
  response: Model.Response
): number => {
  const counter = Tokens.counter(Tokens.estimate(inst.model.provider))
  let tokens = counter.tools(step.toolCatalog) + Tokens.countData(counter.tokenizer, response.message)
  if (inst.system !== undefined) tokens += Tokens.messageOverhead + counter.text(inst.system)
  for (const m of ContextWindow.viewOf(step) ?? messages) tokens += counter.message(m)
  return tokens
}

/** What a step does with the model's response: write it, retry an empty or malformed one, run its tools. */
const afterModel = (
  inst: AgentInstance,
  state: TurnState,
  step: StepContext,
  messages: ReadonlyArray<Message.Message>,
  response: Model.Response,
  clock: Clock.Clock
) => {
  const usage = response.usage
  const total = usage.totalTokens ?? ((usage.inputTokens ?? 0) + (usage.outputTokens ?? 0))
  // A provider that reports no usage would leave maxTokens unenforced: the budget counts an estimate.
  state.tokens += inst.policy.maxTokens !== undefined && usage.totalTokens === undefined &&
      usage.inputTokens === undefined && usage.outputTokens === undefined
    ? estimatedTokens(inst, step, messages, response)
    : total
  const tokenUsage = {
    promptTokens: usage.inputTokens ?? 0,
    completionTokens: usage.outputTokens ?? 0,
    totalTokens: total
  }
  const done = (result: Partial<StepResult>): StepResult => ({
    status: "completed",
    shouldContinue: false,
    toolCalls: [],
    toolResults: [],
    metadata: {},
    tokenUsage,
    ...result
  })
  const retry = Retry.classify(response, messages)
  const hasContent = response.text.trim() !== "" || response.toolCalls.length > 0
  // Write-ahead: the assistant message is durable before any tool runs (a resumed turn never asks the
  // model for this step again). Group commit when every call of the step is idempotent and none waits
  // for approval: it is written with the step's results, one durable append (see `stage`).
  // The message is made here (the fiber's clock, read as the response arrived): no Effect operation.
  let written: Effect.Effect<unknown, StepError> = Effect.void
  if (retry === undefined || hasContent) {
    const drafts = [MessageEvent.append(messageAt(
      inst,
      clock.unsafeCurrentTimeMillis(),
      response.message,
      meta(state.turnId, step.stepIndex, { [Log.keys.usage]: { ...tokenUsage } }),
      { type: "assistant", stepId: step.stepId }
    ))]
    written = retry === undefined && groupCommit(inst, response.toolCalls)
      ? stage(inst, drafts)
      : appendAll(inst, drafts)
  }
  return Effect.flatMap(written, (): Effect.Effect<StepResult, StepError> => {
    if (retry !== undefined) {
      const count = retry === "empty_output" ? ++state.empty : ++state.malformed
      if (retry === "empty_output") state.malformed = 0
      else state.empty = 0
      if (count > Retry.maxRetries) {
        state.failure = Retry.failure(retry)
        return Effect.succeed(done({ metadata: { [Retry.metadataKey]: retry } }))
      }
      return Effect.as(
        appendMessage(
          inst,
          { role: "user", content: Retry.corrective(retry) },
          meta(state.turnId, step.stepIndex, { [Log.keys.corrective]: retry })
        ),
        done({ shouldContinue: true, metadata: { [Retry.metadataKey]: retry } })
      )
    }
    state.empty = 0
    state.malformed = 0
    const calls = response.toolCalls
    if (calls.length === 0) return Effect.succeed(done({}))
    const toolCalls = calls.map((c) => ({ id: c.id, name: c.name, args: c.arguments }))
    let waiting: Array<{ readonly call: Message.ToolCall; readonly reason: string }> | undefined
    for (const call of calls) {
      const reason = approvalReason(inst, call)
      if (reason !== undefined) (waiting ??= []).push({ call, reason })
    }
    if (waiting !== undefined) {
      // Nothing of this step runs before every decision: the approval requests are durable first.
      const requested = waiting
      return Effect.as(
        Effect.forEach(requested, ({ call, reason }) =>
          record(inst, "approval.requested", state.turnId, {
            stepIndex: step.stepIndex,
            toolCallId: call.id,
            toolName: call.name,
            args: call.arguments,
            reason
          }), { discard: true }).pipe(Effect.tap(() => {
            state.awaiting = requested.map((w) => w.call.id)
          })),
        done({ toolCalls })
      )
    }
    const actions = calls.map((call): Action => ({ _tag: "Run", call }))
    return runActions(
      inst,
      state,
      step,
      actions,
      clock,
      (results) => done({ shouldContinue: true, toolCalls, toolResults: results })
    )
  })
}

/**
 * The core of a step that finishes the tool calls of an assistant message already in the log (a resumed
 * turn, or one whose approvals were decided). Nothing is sent to the model.
 */
export const pendingStep = (
  inst: AgentInstance,
  state: TurnState,
  assistant: Message.Message,
  pending: ReadonlyArray<Message.ToolCall>
) =>
(step: StepContext) =>
  Effect.gen(function*() {
    const log = inst.state.log
    const stepKey = `${state.turnId}:${step.stepIndex}`
    // Approvals are keyed by call id, which a model may reuse in a later turn: only this turn's count.
    const approvalOf = (c: Message.ToolCall) => {
      const a = log.approvals.get(c.id)
      return a?.turnId === state.turnId ? a : undefined
    }
    const paused = pending.some((c) => approvalOf(c) !== undefined)
    const toolCalls = Log.callsOf(assistant).map((c) => ({ id: c.id, name: c.name, args: c.arguments }))
    const base: StepResult = { status: "completed", shouldContinue: true, toolCalls, toolResults: [], metadata: {} }
    let actions: Array<Action>
    if (paused && !log.dispatched.has(stepKey)) {
      const undecided = pending.filter((c) => {
        const a = approvalOf(c)
        return a !== undefined && a.decision === undefined
      })
      if (undecided.length > 0) {
        state.awaiting = undecided.map((c) => c.id)
        return { ...base, shouldContinue: false }
      }
      // From here a restart must treat these calls as possibly started.
      yield* record(inst, "tools.dispatched", state.turnId, { stepIndex: step.stepIndex })
      actions = pending.map((call) => {
        const decision = approvalOf(call)?.decision
        return decision !== undefined && !decision.approved ? denied(call, decision.reason) : { _tag: "Run", call }
      })
    } else {
      // A call that needs approval with no request in this turn (a fork cut while it waited, a crash right
      // after the assistant message): it waits for a decision again, it never runs unapproved. The step's
      // other calls that are not idempotent are answered now, so a decision cannot run them a second time.
      const gated = pending.filter((c) => approvalOf(c) === undefined && approvalReason(inst, c) !== undefined)
      if (gated.length > 0) {
        const now = pending.filter((c) =>
          !gated.includes(c) && approvalOf(c) === undefined && inst.toolSettings(c.name).idempotent !== true
        )
        if (now.length > 0) {
          const answers = now.map((c) => notStarted(c, gated))
          yield* runActions(inst, state, step, answers, yield* Effect.clock, () => 0)
        }
        for (const call of gated) {
          yield* record(inst, "approval.requested", state.turnId, {
            stepIndex: step.stepIndex,
            toolCallId: call.id,
            toolName: call.name,
            args: call.arguments,
            reason: approvalReason(inst, call) ?? "needs approval"
          })
        }
        state.awaiting = gated.map((c) => c.id)
        return { ...base, shouldContinue: false }
      }
      actions = pending.map((call): Action => {
        const decision = approvalOf(call)?.decision
        if (decision !== undefined && !decision.approved) return denied(call, decision.reason)
        return inst.toolSettings(call.name).idempotent === true ? { _tag: "Run", call } : interrupted(call)
      })
    }
    return yield* runActions(inst, state, step, actions, yield* Effect.clock, (results) => ({
      ...base,
      toolResults: results
    }))
  })
