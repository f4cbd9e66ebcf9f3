/**
 * What the log says of a turn: its messages, the last assistant text, the tool calls without a result (and
 * answering them after an interruption or a failure), the open turn with the call its input recorded, and the
 * approvals it waits for.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Message from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import type { TraceContext } from "../../event/Trace.js"
import type { RuntimeInfo } from "../../pipeline/Middleware.js"
import type { AgentInstance } from "./instance.js"
import * as Log from "./log.js"
import { appendAll, codes, errorResult, toolResultMessage } from "./write.js"

/** The message metadata key holding a turn's call (chain, caller, parent span). */
export const callKey = "swarm.call"

export const turnMessages = (inst: AgentInstance, turnId: string) =>
  Effect.map(Ref.get(inst.state.conversation), (c) => {
    const last = Log.lastTurn(c)
    return last !== undefined && last.turnId === turnId ? last.messages : []
  })

export const lastAssistantText = (messages: ReadonlyArray<Message.Message>, start = 0) => {
  for (let i = messages.length - 1; i >= start; i--) {
    const m = messages[i]!
    if (m.data.role === "assistant" && Message.text(m.data).trim() !== "") return m
  }
  return undefined
}

/** Whether a message after `at` is a result of the call `id`. */
const hasResult = (messages: ReadonlyArray<Message.Message>, at: number, id: string): boolean => {
  for (let i = at + 1; i < messages.length; i++) {
    const data = messages[i]!.data
    if (data.role === "tool" && data.toolCallId === id) return true
    if (typeof data.content !== "string") {
      for (const p of data.content) if (p.type === "tool-result" && p.toolCallId === id) return true
    }
  }
  return false
}

/**
 * The calls of `assistant` (at `at`) without a result among the messages after it: read in place, no
 * copy of the messages and no set of every answered call (a step has a few calls and a few results).
 */
export const unanswered = (messages: ReadonlyArray<Message.Message>, at: number): ReadonlyArray<Message.ToolCall> => {
  const calls = Log.callsOf(messages[at]!)
  if (calls.length === 0 || at === messages.length - 1) return calls
  let pending: Array<Message.ToolCall> | undefined
  for (let i = 0; i < calls.length; i++) {
    const answered = hasResult(messages, at, calls[i]!.id)
    if (answered && pending === undefined) pending = calls.slice(0, i)
    else if (!answered && pending !== undefined) pending.push(calls[i]!)
  }
  return pending ?? calls
}

/** The tool calls of the turn that have no result, with the step of the message that made them. */
export const danglingCalls = (inst: AgentInstance, turnId: string) =>
  Effect.map(turnMessages(inst, turnId), (messages) => {
    // A call is answered by a result after its own assistant message: a model may reuse an id in a
    // later step of the same turn (servers that number calls per response), so not by a turn-wide set.
    const calls: Array<{ readonly call: Message.ToolCall; readonly stepIndex: number }> = []
    messages.forEach((m, at) => {
      const own = Log.callsOf(m)
      if (own.length === 0) return
      let end = at + 1
      while (end < messages.length && messages[end]!.data.role !== "assistant") end++
      const done = Log.answered(messages.slice(at + 1, end))
      for (const call of own) if (!done.has(call.id)) calls.push({ call, stepIndex: Log.stepOf(m) ?? 0 })
    })
    return calls
  })

/**
 * Answers every tool call of the turn that has no result with `E_TOOL_INTERRUPTED` naming `why` (after a
 * wall-time interruption, a failed turn, or an abandoned one), so the conversation stays valid for the
 * next model call.
 */
export const closeDangling = (inst: AgentInstance, turnId: string, why: string) =>
  Effect.gen(function*() {
    const drafts: Array<MessageEvent.Draft> = []
    for (const { call, stepIndex } of yield* danglingCalls(inst, turnId)) {
      // Whether the call ran is not known here (a turn can fail before its tools start or after one ran and
      // its result could not be written): the model is told it may have taken effect, never that it did not.
      const r = errorResult(
        call,
        codes.interrupted,
        `The call of ${call.name} has no result: ${why}. It may or may not have taken effect.`,
        "Check whether it took effect before calling it again."
      )
      drafts.push(MessageEvent.append(yield* toolResultMessage(inst, turnId, stepIndex, r)))
    }
    if (drafts.length > 0) yield* appendAll(inst, drafts)
  })

/** The instance's open turn (its log ends inside it), with what it used so far. */
export const openTurn = (inst: AgentInstance) =>
  Effect.map(Ref.get(inst.state.conversation), (c) => {
    const last = Log.lastTurn(c)
    if (last === undefined || inst.state.log.ended.has(last.turnId)) return undefined
    return { ...last, used: Log.usedBy(last.messages) }
  })

/** The call a turn's input message recorded (chain, caller, parent span), if another agent asked for it. */
export const callOf = (
  first: Message.Message | undefined
): { readonly call?: RuntimeInfo["call"]; readonly parentTrace?: TraceContext } | undefined => {
  const recorded = first?.metadata[callKey]
  if (typeof recorded !== "object" || recorded === null || Array.isArray(recorded)) return undefined
  return recorded as { readonly call?: RuntimeInfo["call"]; readonly parentTrace?: TraceContext }
}

/** The ids of tool calls of the open turn that wait for a decision. */
export const pendingApprovals = (inst: AgentInstance, turnId: string) =>
  Array.from(inst.state.log.approvals.values()).filter((a) => a.turnId === turnId && a.decision === undefined)
