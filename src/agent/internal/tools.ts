/**
 * The tool calls of a step: each through the instance's toolCall onion and executor, at most
 * `policy.toolConcurrency` at once, the tool-call budget applied, results appended in call order.
 * Also what decides a call without running it: approvals (why a call waits), denials, interruptions.
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Message from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import { callContext, type StepContext } from "../../pipeline/Middleware.js"
import * as ToolError from "../../tool/ToolError.js"
import type * as ToolExecutor from "../../tool/ToolExecutor.js"
import type { AgentInstance } from "./instance.js"
import { appendAll, codes, errorResult, toolResultAt, type TurnState } from "./write.js"

/**
 * What to do with one tool call of a step: run it, or answer it with a ready result. `started`: the call
 * started in an earlier process (a crash interrupted it), so it counts toward `maxToolCalls` as a call that
 * ran; an answer to a call that never started (denied, over the budget) does not count.
 */
export type Action =
  | { readonly _tag: "Run"; readonly call: Message.ToolCall }
  | { readonly _tag: "Answer"; readonly result: ToolExecutor.ToolCallResult; readonly started: boolean }

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
        context: callContext(ctx, inst.agents === undefined ? undefined : { runtime: { agents: inst.agents } })
      })
  )
}

/**
 * Applies the turn's tool-call budget, in call order: a call counts once it starts (it runs, or it ran in
 * an earlier process and was interrupted); calls beyond the budget are answered with an error instead of
 * running, and do not count, nor do calls answered without starting (denied). A resumed step replays the
 * same decisions: the count read from the log (`Log.usedBy`) is the count of the calls before it, so an
 * interrupted call past the budget was refused then, and is answered as refused now.
 */
const budgeted = (inst: AgentInstance, state: TurnState, actions: ReadonlyArray<Action>) => {
  const max = inst.policy.maxToolCalls
  return actions.map((action): Action => {
    if (action._tag === "Answer" && !action.started) return action
    const call = action._tag === "Run" ? action.call : { id: action.result.toolCallId, name: action.result.toolName }
    if (max !== undefined && state.toolCalls >= max) {
      state.exceeded ??= { limit: "maxToolCalls", value: max, used: state.toolCalls }
      return {
        _tag: "Answer",
        started: false,
        result: errorResult(
          call,
          codes.budget,
          `Not run: the turn's tool call budget (maxToolCalls ${max}) is used up.`
        )
      }
    }
    state.toolCalls++
    return action
  })
}

/** Whether an action's result answers a call that never started (its message is marked, see `Log.usedBy`). */
const notRun = (action: Action) => action._tag === "Answer" && !action.started

/**
 * Runs the actions of a step with bounded concurrency and writes their results in call order, each as
 * soon as it and every earlier one are finished: the finished results waiting at that point are
 * group-committed in one append (one fsync), and a finished result never waits for a slower call after
 * it. A result is durable before the turn goes on. Called when the step runs (it counts the tool-call
 * budget at once); `clock` (the fiber's) dates the result messages; `then` maps the results (in call
 * order) to what the step returns.
 */
export const runActions = <A>(
  inst: AgentInstance,
  state: TurnState,
  step: StepContext,
  actions: ReadonlyArray<Action>,
  clock: Clock.Clock,
  then: (results: ReadonlyArray<ToolExecutor.ToolCallResult>) => A
) => {
  const planned = budgeted(inst, state, actions)
  // One call (the common step): no fibers, no semaphore; its result is appended when it is finished.
  if (planned.length === 1) {
    const action = planned[0]!
    const run = action._tag === "Run" ? runOne(inst, step, action.call) : Effect.succeed(action.result)
    return Effect.flatMap(run, (result) => {
      const message = toolResultAt(
        inst,
        clock.unsafeCurrentTimeMillis(),
        state.turnId,
        step.stepIndex,
        result,
        notRun(action)
      )
      return Effect.map(appendAll(inst, [MessageEvent.append(message)]), () => then([result]))
    })
  }
  return Effect.map(runMany(inst, state, step, planned, clock), then)
}

const runMany = (
  inst: AgentInstance,
  state: TurnState,
  step: StepContext,
  actions: ReadonlyArray<Action>,
  clock: Clock.Clock
) =>
  Effect.gen(function*() {
    const finished: Array<ToolExecutor.ToolCallResult | undefined> = new Array(actions.length)
    let written = 0
    const writer = yield* Effect.makeSemaphore(1)
    // Writes the finished results that follow the last written one, in one append.
    const flush = writer.withPermits(1)(Effect.suspend(() => {
      let end = written
      while (end < finished.length && finished[end] !== undefined) end++
      if (end === written) return Effect.void
      const ms = clock.unsafeCurrentTimeMillis()
      const drafts = finished.slice(written, end).map((result, i) =>
        MessageEvent.append(
          toolResultAt(inst, ms, state.turnId, step.stepIndex, result!, notRun(actions[written + i]!))
        )
      )
      return Effect.tap(appendAll(inst, drafts), () => {
        written = end
      })
    }))
    return yield* Effect.forEach(actions, (action, i) =>
      Effect.gen(function*() {
        const result = action._tag === "Run" ? yield* runOne(inst, step, action.call) : action.result
        finished[i] = result
        yield* flush
        return result
      }), { concurrency: inst.policy.toolConcurrency })
  })

/**
 * Whether a tool call must wait for a decision, and why. The policy predicate fails closed: a throw, or
 * a verdict that is neither a boolean nor a reason (a Promise from an `async` predicate), pauses the call
 * with a reason saying so, instead of dying or letting the call run unapproved.
 */
export const approvalReason = (inst: AgentInstance, call: Message.ToolCall): string | undefined => {
  if (inst.toolSettings(call.name).needsApproval === true) return `${call.name} needs approval`
  if (inst.needsApproval === undefined) return undefined
  let verdict: unknown
  try {
    verdict = inst.needsApproval({ toolName: call.name, args: call.arguments })
  } catch (e) {
    return `the approval policy failed on this call (${e instanceof Error ? e.message : String(e)}), so a human decides`
  }
  if (verdict === true) return "the approval policy asked for it"
  if (typeof verdict === "string") return verdict
  if (verdict === false || verdict === undefined || verdict === null) return undefined
  const kind = typeof verdict === "object" && "then" in verdict ? "a Promise (an async predicate)" : typeof verdict
  return `the approval policy returned ${kind}, not true, false or a reason, so a human decides`
}

/** A deny reason as one line of at most 500 characters: it cannot forge the error's `CODE:` lines. */
const oneLine = (reason: string | undefined) => {
  const text = (reason ?? "").replace(/\s+/g, " ").trim()
  return text.length > 500 ? `${text.slice(0, 500)}...` : text
}

/** A call a human denied: the model reads the reason as a tool error. */
export const denied = (call: Message.ToolCall, reason: string | undefined): Action => ({
  _tag: "Answer",
  started: false,
  result: errorResult(
    call,
    codes.denied,
    `The call of ${call.name} was denied by a human${oneLine(reason) === "" ? "" : `: ${oneLine(reason)}`}.`,
    "Do not retry it as is; change the plan or ask the user."
  )
})

/**
 * A call of a step that waits for an approval the turn never requested (a fork cut while a call of the step
 * waited, a restart before the request was written): nothing of such a step started, since a step runs none
 * of its calls before every decision. Its tool is not idempotent, so it is answered now rather than run
 * after the decision. It never started: it does not count toward `maxToolCalls`.
 */
export const notStarted = (call: Message.ToolCall, waiting: ReadonlyArray<Message.ToolCall>): Action => ({
  _tag: "Answer",
  started: false,
  result: errorResult(
    call,
    codes.interrupted,
    `The call of ${call.name} was not run: its step stopped before any of its calls started, while ` +
      `${waiting.map((c) => c.name).join(", ")} waited for approval, and it is answered now instead of being ` +
      `run after that decision because the tool is not idempotent.`,
    `Call ${call.name} again if it is still needed.`
  )
})

/**
 * A call interrupted by a crash whose tool is not idempotent: answered, not run again. It started, so it
 * counts toward `maxToolCalls`.
 */
export const interrupted = (call: Message.ToolCall): Action => ({
  _tag: "Answer",
  started: true,
  result: errorResult(
    call,
    codes.interrupted,
    `The call of ${call.name} was interrupted (the agent stopped while it ran) and was not run again, ` +
      `because the tool is not idempotent: it may or may not have taken effect.`,
    "Check whether it took effect before calling it again."
  )
})
