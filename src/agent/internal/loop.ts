/**
 * The turn loop: steps through the instance's Pipeline onion, the model call of each step, the tool
 * calls through the toolCall onion, write-ahead persistence, resume from the log, approvals and budgets.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Conversation from "../../conversation/Conversation.js"
import * as Message from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import { loopRecordVersion } from "../../event/RuntimeEvent.js"
import type { ModelError } from "../../model/ModelError.js"
import * as LlmInput from "../../pipeline/LlmInput.js"
import {
  callContext,
  type ConversationState,
  ConversationWriteError,
  type FinishReason,
  type PipelineError,
  type StepContext,
  type StepResult,
  type TurnContext,
  type TurnResult
} from "../../pipeline/Middleware.js"
import type { ToolCatalogItem } from "../../tool/ToolCatalog.js"
import * as ToolError from "../../tool/ToolError.js"
import * as ToolExecutor from "../../tool/ToolExecutor.js"
import type { EventRecord } from "../../workspace/RuntimeEventLog.js"
import { AwaitingApproval, type TurnStorageError } from "../AgentError.js"
import type { Limit } from "../Policy.js"
import type { AgentInstance } from "./instance.js"
import * as Log from "./log.js"
import * as Retry from "./retry.js"

/** Every failure of a turn. */
export type TurnError = TurnStorageError | ModelError | PipelineError

interface TurnState {
  readonly turnId: string
  readonly input: string | undefined
  steps: number
  toolCalls: number
  tokens: number
  empty: number
  malformed: number
  exceeded: { readonly limit: Limit; readonly value: number; readonly used: number } | undefined
  awaiting: ReadonlyArray<string>
  failure: { readonly code: string; readonly message: string } | undefined
}

/** Error codes of tool results the loop writes itself. */
export const codes = {
  interrupted: "E_TOOL_INTERRUPTED",
  denied: "E_TOOL_DENIED",
  budget: "E_BUDGET_EXCEEDED"
} as const

// ---------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------

export const record = (inst: AgentInstance, type: string, turnId: string, fields: Record<string, unknown>) =>
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
    return Effect.as(inst.state.storage.record([r]), r).pipe(Effect.tap((r) => Log.applyRecord(inst.state.log, r)))
  })

export const appendAll = (inst: AgentInstance, drafts: ReadonlyArray<MessageEvent.Draft>) =>
  Effect.flatMap(Ref.get(inst.state.conversation), (current) =>
    Effect.flatMap(
      inst.state.storage.append(drafts, current.lastSeq),
      (events) => Ref.update(inst.state.conversation, (c) => Conversation.applyAll(c, events))
    ))

const meta = (turnId: string, step?: number, extra?: Record<string, Message.Json>) => ({
  [Log.keys.turnId]: turnId,
  ...(step === undefined ? {} : { [Log.keys.step]: step }),
  ...extra
})

const appendMessage = (
  inst: AgentInstance,
  data: Message.MessageData,
  metadata: Record<string, Message.Json>,
  source?: Message.MessageSource
) =>
  Effect.flatMap(
    Message.make(data, { metadata, source }),
    (m) => Effect.as(appendAll(inst, [MessageEvent.append(m)]), m)
  )

/** The conversation as the pipeline contexts see it: durable on return, failures typed. */
export const conversationState = (inst: AgentInstance): ConversationState => ({
  get: Ref.get(inst.state.conversation),
  emit: (draft) =>
    appendAll(inst, [draft]).pipe(
      Effect.mapError((e) => new ConversationWriteError({ instance: inst.label, detail: e.detail, cause: e }))
    )
})

const toolResultMessage = (turnId: string, step: number, result: ToolExecutor.ToolCallResult) =>
  Message.make({
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
  }, { metadata: meta(turnId, step) })

const errorResult = (
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

// ---------------------------------------------------------------------------------------------------
// Tool calls
// ---------------------------------------------------------------------------------------------------

/** What to do with one tool call of a step: run it, or answer it with a ready result. */
type Action =
  | { readonly _tag: "Run"; readonly call: Message.ToolCall }
  | { readonly _tag: "Answer"; readonly result: ToolExecutor.ToolCallResult }

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const preview = (u: unknown) => {
  const text = (typeof u === "string" ? u : JSON.stringify(u) ?? String(u)).replace(/\s+/g, " ")
  return text.length > 240 ? `${text.slice(0, 240)}...` : text
}

const runOne = (inst: AgentInstance, step: StepContext, call: Message.ToolCall) => {
  if (!isObject(call.arguments)) {
    return Effect.succeed(errorResult(
      call,
      ToolError.codes.invalidArgs,
      `The arguments of ${call.name} are not a JSON object: ${preview(call.arguments)}`,
      "Call the tool again with its arguments as one JSON object matching its parameters schema."
    ))
  }
  return inst.pipeline.runToolCall(
    { step, toolCallId: call.id, toolName: call.name, args: call.arguments },
    (ctx) =>
      inst.executor.execute({
        toolCallId: ctx.toolCallId,
        toolName: ctx.toolName,
        args: ctx.args,
        catalog: step.toolCatalog,
        context: callContext(ctx)
      })
  )
}

/**
 * Runs the actions of a step with bounded concurrency and appends each result as soon as it and every
 * earlier one are written: results land in call order, a finished result is durable without waiting for
 * slower calls after it, and concurrent appends are group-committed by the store.
 */
const runActions = (
  inst: AgentInstance,
  state: TurnState,
  step: StepContext,
  actions: ReadonlyArray<Action>
) =>
  Effect.gen(function*() {
    const gates = yield* Effect.forEach(actions, () => Deferred.make<void>())
    const max = inst.policy.maxToolCalls
    // The tool-call budget: calls beyond it are answered with an error instead of running.
    const planned = actions.map((action): Action => {
      if (action._tag !== "Run") return action
      if (max !== undefined && state.toolCalls >= max) {
        state.exceeded ??= { limit: "maxToolCalls", value: max, used: state.toolCalls }
        return {
          _tag: "Answer",
          result: errorResult(
            action.call,
            codes.budget,
            `Not run: the turn's tool call budget (maxToolCalls ${max}) is used up.`
          )
        }
      }
      state.toolCalls++
      return action
    })
    return yield* Effect.forEach(planned, (action, i) =>
      Effect.gen(function*() {
        const result = action._tag === "Run" ? yield* runOne(inst, step, action.call) : action.result
        if (i > 0) yield* Deferred.await(gates[i - 1]!)
        const message = yield* toolResultMessage(state.turnId, step.stepIndex, result)
        yield* appendAll(inst, [MessageEvent.append(message)])
        yield* Deferred.succeed(gates[i]!, undefined)
        return result
      }), { concurrency: inst.policy.toolConcurrency })
  })

// ---------------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------------

const systemMessage = (text: string): Message.Message => ({
  id: "system-prompt",
  data: { role: "system", content: text },
  metadata: {},
  createdAt: new Date(0),
  source: { type: "system" }
})

const stepInput = (inst: AgentInstance, messages: ReadonlyArray<Message.Message>) => ({
  [LlmInput.metadataKey]: LlmInput.summarize(
    inst.system === undefined ? messages : [systemMessage(inst.system), ...messages.slice(-(LlmInput.maxMessages - 1))]
  )
})

/** Whether a tool call must wait for a decision, and why. */
const approvalReason = (inst: AgentInstance, call: Message.ToolCall): string | undefined => {
  if (inst.toolSettings(call.name).needsApproval === true) return `${call.name} needs approval`
  const verdict = inst.needsApproval?.({ toolName: call.name, args: call.arguments })
  return verdict === true ? "the approval policy asked for it" : typeof verdict === "string" ? verdict : undefined
}

/** One step's core: the model call, its assistant message (written first), then its tool calls. */
const modelStep = (inst: AgentInstance, state: TurnState) => (step: StepContext) =>
  Effect.gen(function*() {
    const messages = (yield* Ref.get(inst.state.conversation)).messages
    const response = yield* inst.model.generate({
      system: inst.system,
      messages,
      tools: step.toolCatalog,
      params: inst.params
    })
    const usage = response.usage
    const total = usage.totalTokens ?? ((usage.inputTokens ?? 0) + (usage.outputTokens ?? 0))
    state.tokens += total
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
    if (retry === undefined || hasContent) {
      // Write-ahead: the assistant message is durable before any tool runs (a resumed turn never asks
      // the model for this step again).
      yield* appendMessage(
        inst,
        response.message,
        meta(state.turnId, step.stepIndex, { [Log.keys.usage]: { ...tokenUsage } }),
        { type: "assistant", stepId: step.stepId }
      )
    }
    if (retry !== undefined) {
      const count = retry === "empty_output" ? ++state.empty : ++state.malformed
      if (retry === "empty_output") state.malformed = 0
      else state.empty = 0
      if (count > Retry.maxRetries) {
        state.failure = Retry.failure(retry)
        return done({ metadata: { [Retry.metadataKey]: retry } })
      }
      yield* appendMessage(
        inst,
        { role: "user", content: Retry.corrective(retry) },
        meta(state.turnId, step.stepIndex, { [Log.keys.corrective]: retry })
      )
      return done({ shouldContinue: true, metadata: { [Retry.metadataKey]: retry } })
    }
    state.empty = 0
    state.malformed = 0
    const calls = response.toolCalls
    if (calls.length === 0) return done({})
    const waiting = calls.flatMap((call) => {
      const reason = approvalReason(inst, call)
      return reason === undefined ? [] : [{ call, reason }]
    })
    const toolCalls = calls.map((c) => ({ id: c.id, name: c.name, args: c.arguments }))
    if (waiting.length > 0) {
      // Nothing of this step runs before every decision: the approval requests are durable first.
      for (const { call, reason } of waiting) {
        yield* record(inst, "approval.requested", state.turnId, {
          stepIndex: step.stepIndex,
          toolCallId: call.id,
          toolName: call.name,
          args: call.arguments,
          reason
        })
      }
      state.awaiting = waiting.map((w) => w.call.id)
      return done({ toolCalls })
    }
    const results = yield* runActions(inst, state, step, calls.map((call) => ({ _tag: "Run", call })))
    return done({ shouldContinue: true, toolCalls, toolResults: results })
  })

/**
 * The core of a step that finishes the tool calls of an assistant message already in the log (a resumed
 * turn, or one whose approvals were decided). Nothing is sent to the model.
 */
const pendingStep = (
  inst: AgentInstance,
  state: TurnState,
  assistant: Message.Message,
  pending: ReadonlyArray<Message.ToolCall>
) =>
(step: StepContext) =>
  Effect.gen(function*() {
    const log = inst.state.log
    const stepKey = `${state.turnId}:${step.stepIndex}`
    const paused = pending.some((c) => log.approvals.get(c.id)?.turnId === state.turnId)
    const toolCalls = Log.callsOf(assistant).map((c) => ({ id: c.id, name: c.name, args: c.arguments }))
    const base: StepResult = { status: "completed", shouldContinue: true, toolCalls, toolResults: [], metadata: {} }
    let actions: Array<Action>
    if (paused && !log.dispatched.has(stepKey)) {
      const undecided = pending.filter((c) => {
        const a = log.approvals.get(c.id)
        return a !== undefined && a.decision === undefined
      })
      if (undecided.length > 0) {
        state.awaiting = undecided.map((c) => c.id)
        return { ...base, shouldContinue: false }
      }
      // From here a restart must treat these calls as possibly started.
      yield* record(inst, "tools.dispatched", state.turnId, { stepIndex: step.stepIndex })
      actions = pending.map((call) => {
        const decision = log.approvals.get(call.id)?.decision
        return decision !== undefined && !decision.approved ? denied(call, decision.reason) : { _tag: "Run", call }
      })
    } else {
      actions = pending.map((call): Action => {
        const decision = log.approvals.get(call.id)?.decision
        if (decision !== undefined && !decision.approved) return denied(call, decision.reason)
        if (inst.toolSettings(call.name).idempotent === true) return { _tag: "Run", call }
        return {
          _tag: "Answer",
          result: errorResult(
            call,
            codes.interrupted,
            `The call of ${call.name} was interrupted (the agent stopped while it ran) and was not run again, ` +
              `because the tool is not idempotent: it may or may not have taken effect.`,
            "Check whether it took effect before calling it again."
          )
        }
      })
    }
    const results = yield* runActions(inst, state, step, actions)
    return { ...base, toolResults: results }
  })

const denied = (call: Message.ToolCall, reason: string | undefined): Action => ({
  _tag: "Answer",
  result: errorResult(
    call,
    codes.denied,
    `The call of ${call.name} was denied by a human${reason === undefined || reason === "" ? "" : `: ${reason}`}.`,
    "Do not retry it as is; change the plan or ask the user."
  )
})

// ---------------------------------------------------------------------------------------------------
// The turn
// ---------------------------------------------------------------------------------------------------

const catalogOf = (inst: AgentInstance): Effect.Effect<ReadonlyArray<ToolCatalogItem>> => inst.tools.catalog

const turnMessages = (inst: AgentInstance, turnId: string) =>
  Effect.map(Ref.get(inst.state.conversation), (c) => {
    const last = Log.lastTurn(c)
    return last !== undefined && last.turnId === turnId ? last.messages : []
  })

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

const lastAssistantText = (messages: ReadonlyArray<Message.Message>) => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.data.role === "assistant" && Message.text(m.data).trim() !== "") return m
  }
  return undefined
}

/** The loop inside the turn onion: run steps until the turn ends. */
const loop = (inst: AgentInstance, state: TurnState) => (turn: TurnContext) =>
  Effect.gen(function*() {
    while (true) {
      const messages = yield* turnMessages(inst, state.turnId)
      const last = messages.at(-1)
      if (state.failure !== undefined) return result(state, "error", lastAssistantText(messages))
      if (state.awaiting.length > 0) return result(state, "awaiting_approval", undefined)
      if (state.exceeded !== undefined) return result(state, "budget_exceeded", lastAssistantText(messages))
      if (last !== undefined && last.data.role === "assistant") {
        const calls = Log.callsOf(last)
        if (calls.length === 0) return result(state, "text_response", last)
        const done = Log.answered(messages)
        const pending = calls.filter((c) => !done.has(c.id))
        if (pending.length > 0) {
          yield* inst.pipeline.runStep(
            { turn, stepIndex: Log.stepOf(last) ?? Math.max(0, state.steps - 1), toolCatalog: yield* catalogOf(inst) },
            pendingStep(inst, state, last, pending)
          )
          continue
        }
      }
      const max = inst.policy.maxTokens
      if (max !== undefined && state.tokens > max) {
        state.exceeded = { limit: "maxTokens", value: max, used: state.tokens }
        continue
      }
      if (state.steps >= inst.policy.maxStepsPerTurn) return result(state, "max_steps", lastAssistantText(messages))
      const stepIndex = state.steps++
      yield* inst.pipeline.runStep(
        {
          turn,
          stepIndex,
          toolCatalog: yield* catalogOf(inst),
          metadata: stepInput(inst, (yield* Ref.get(inst.state.conversation)).messages)
        },
        modelStep(inst, state)
      )
    }
  })

/**
 * Answers every tool call of the turn that has no result (after a wall-time interruption), so the
 * conversation stays valid for the next model call.
 */
const closeDangling = (inst: AgentInstance, turnId: string, why: string) =>
  Effect.gen(function*() {
    const messages = yield* turnMessages(inst, turnId)
    const done = Log.answered(messages)
    const drafts: Array<MessageEvent.Draft> = []
    for (const m of messages) {
      for (const call of Log.callsOf(m)) {
        if (done.has(call.id)) continue
        const r = errorResult(call, codes.interrupted, `The call of ${call.name} was not completed: ${why}.`)
        drafts.push(MessageEvent.append(yield* toolResultMessage(turnId, Log.stepOf(m) ?? 0, r)))
      }
    }
    if (drafts.length > 0) yield* appendAll(inst, drafts)
  })

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
            state.exceeded = { limit: "maxWallTime", value: Math.round(elapsed), used: Math.round(elapsed) }
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
      inputEvent: state.input === undefined ? { type: "resume" } : { type: "user_message", input: state.input },
      runtime: inst.runtime,
      ...(inst.agents === undefined ? {} : { agents: inst.agents })
    }, core).pipe(
      // A failed turn keeps its partial messages and records why. An interrupted one (its scope closed)
      // stays open: the next use of the instance continues it, like after a crash.
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.void : record(inst, "turn.failed", state.turnId, {
          stepCount: state.steps,
          errorMessage: Cause.pretty(cause).split("\n")[0] ?? "failed"
        }).pipe(Effect.ignore)
      )
    )
    if (state.exceeded !== undefined) {
      yield* record(inst, "budget.exceeded", state.turnId, { ...state.exceeded })
    }
    if (turnResult.finishReason !== "awaiting_approval") {
      yield* record(inst, "turn.completed", state.turnId, {
        stepCount: state.steps,
        duration: (yield* Clock.currentTimeMillis) - started,
        tokenUsage: { totalTokens: state.tokens },
        finishReason: turnResult.finishReason,
        ...(turnResult.limit === undefined ? {} : { limit: turnResult.limit })
      })
    }
    return turnResult
  }).pipe(
    Effect.ensuring(Effect.suspend(() => Effect.forEach(inst.state.turnEnd, (hook) => hook, { discard: true }))),
    Effect.zipLeft(inst.state.storage.setStatus("idle")),
    Effect.onError(() => inst.state.storage.setStatus("idle").pipe(Effect.ignore))
  )

const makeTurnId = Effect.map(
  Effect.zip(Clock.currentTimeMillis, Effect.flatMap(Effect.random, (r) => r.nextIntBetween(0, 2 ** 31))),
  ([ms, n]) => `turn-${ms.toString(36)}-${n.toString(36).padStart(6, "0")}`
)

/** The instance's open turn (its log ends inside it), with what it used so far. */
export const openTurn = (inst: AgentInstance) =>
  Effect.map(Ref.get(inst.state.conversation), (c) => {
    const last = Log.lastTurn(c)
    if (last === undefined || inst.state.log.ended.has(last.turnId)) return undefined
    return { ...last, used: Log.usedBy(last.messages) }
  })

const stateFor = (turnId: string, input: string | undefined, used?: ReturnType<typeof Log.usedBy>): TurnState => ({
  turnId,
  input,
  steps: used?.steps ?? 0,
  toolCalls: used?.toolCalls ?? 0,
  tokens: used?.tokens ?? 0,
  empty: 0,
  malformed: 0,
  exceeded: undefined,
  awaiting: [],
  failure: undefined
})

/** The ids of tool calls of the open turn that wait for a decision. */
export const pendingApprovals = (inst: AgentInstance, turnId: string) =>
  Array.from(inst.state.log.approvals.values()).filter((a) => a.turnId === turnId && a.decision === undefined)

/** Continues the open turn, if any. Must run under the instance lock. */
export const resumeLocked = (inst: AgentInstance) =>
  Effect.gen(function*() {
    const open = yield* openTurn(inst)
    if (open === undefined) return Option.none<TurnResult>()
    yield* inst.state.storage.setStatus("processing")
    return Option.some(yield* drive(inst, stateFor(open.turnId, undefined, open.used)))
  })

/** Runs a turn for a new input, after finishing the open one. Must run under the instance lock. */
export const runLocked = (inst: AgentInstance, input: string) =>
  Effect.gen(function*() {
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
      yield* resumeLocked(inst)
    }
    // A failed turn may have left tool calls without results: answer them so the model accepts the history.
    const previous = Log.lastTurn(yield* Ref.get(inst.state.conversation))
    if (previous !== undefined) yield* closeDangling(inst, previous.turnId, "the turn failed before it ran")
    const turnId = yield* makeTurnId
    yield* inst.state.storage.setStatus("processing")
    // Write-ahead: the input is durable before the turn starts, so a crash never loses it.
    yield* appendMessage(inst, { role: "user", content: input }, meta(turnId))
    yield* record(inst, "turn.started", turnId, {})
    return yield* drive(inst, stateFor(turnId, input))
  })
