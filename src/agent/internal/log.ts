/**
 * Reading the instance's log: which turn is open, what its messages are, and the approval decisions.
 * Everything here is derived from the persisted conversation and the turn-loop records, never from
 * memory of an earlier process.
 */
import type { Conversation } from "../../conversation/Conversation.js"
import type { Json, Message, ToolCall } from "../../conversation/Message.js"
import type { EventRecord } from "../../workspace/RuntimeEventLog.js"

/** Message metadata keys written by the loop. */
export const keys = {
  turnId: "swarm.turnId",
  step: "swarm.step",
  usage: "swarm.usage",
  corrective: "swarm.corrective",
  /** On a tool result that answers a call that never started (denied, over the budget): not a tool call used. */
  notRun: "swarm.notRun"
} as const

export interface Approval {
  readonly turnId: string
  readonly stepIndex: number
  readonly toolCallId: string
  readonly toolName: string
  readonly decision?: { readonly approved: boolean; readonly reason?: string | undefined } | undefined
}

export interface LoopLog {
  /**
   * Turns that ended (`turn.completed` / `turn.failed` / `turn.abandoned`), with their finish reason
   * (`interrupted` for an abandoned one).
   */
  readonly ended: Map<string, string>
  readonly approvals: Map<string, Approval>
  /** `${turnId}:${stepIndex}` of paused steps whose tools were dispatched. */
  readonly dispatched: Set<string>
}

export const emptyLog = (): LoopLog => ({ ended: new Map(), approvals: new Map(), dispatched: new Set() })

const str = (u: unknown): string | undefined => typeof u === "string" ? u : undefined

/** The record types {@link applyRecord} reads (an instance that opens reads only these and its context's). */
export const recordTypes: ReadonlySet<string> = new Set([
  "turn.completed",
  "turn.failed",
  "turn.abandoned",
  "approval.requested",
  "approval.resolved",
  "tools.dispatched"
])

/** Applies a record to the log (in place; the log belongs to one instance under its lock). */
export const applyRecord = (log: LoopLog, r: EventRecord): void => {
  const turnId = str(r.turnId)
  if (turnId === undefined) return
  switch (r.type) {
    case "turn.completed":
      // Pipeline-published events (no `rv`) do not end a turn: only the loop's own records do.
      if (r.rv !== undefined) log.ended.set(turnId, str(r.finishReason) ?? "text_response")
      return
    case "turn.failed":
      if (r.rv !== undefined) log.ended.set(turnId, "error")
      return
    case "turn.abandoned":
      log.ended.set(turnId, "interrupted")
      return
    case "approval.requested": {
      const id = str(r.toolCallId)
      if (id !== undefined) {
        log.approvals.set(id, {
          turnId,
          stepIndex: typeof r.stepIndex === "number" ? r.stepIndex : 0,
          toolCallId: id,
          toolName: str(r.toolName) ?? ""
        })
      }
      return
    }
    case "approval.resolved": {
      const id = str(r.toolCallId)
      const a = id === undefined ? undefined : log.approvals.get(id)
      if (a !== undefined && a.decision === undefined) {
        log.approvals.set(a.toolCallId, { ...a, decision: { approved: r.approved === true, reason: str(r.reason) } })
      }
      return
    }
    case "tools.dispatched":
      log.dispatched.add(`${turnId}:${typeof r.stepIndex === "number" ? r.stepIndex : 0}`)
      return
  }
}

/**
 * Forgets the ended turns that are no longer among `messages` (a fold of the conversation dropped them),
 * with their approvals and dispatched steps: nothing reads them again. Returns the forgotten turn ids.
 * An open turn is kept, wherever its messages are.
 */
export const forgetEnded = (log: LoopLog, messages: ReadonlyArray<Message>): ReadonlySet<string> => {
  const live = new Set<string>()
  for (const m of messages) {
    const id = turnIdOf(m)
    if (id !== undefined) live.add(id)
  }
  const gone = new Set<string>()
  for (const turnId of log.ended.keys()) if (!live.has(turnId)) gone.add(turnId)
  if (gone.size === 0) return gone
  for (const turnId of gone) log.ended.delete(turnId)
  for (const [id, a] of log.approvals) if (gone.has(a.turnId)) log.approvals.delete(id)
  for (const key of log.dispatched) if (gone.has(key.slice(0, key.lastIndexOf(":")))) log.dispatched.delete(key)
  return gone
}

export const turnIdOf = (m: Message): string | undefined => str(m.metadata[keys.turnId])
export const stepOf = (m: Message): number | undefined => {
  const s = m.metadata[keys.step]
  return typeof s === "number" ? s : undefined
}

/** The messages of the last turn in the conversation (from its first message on). */
export const lastTurn = (
  conversation: Conversation
): { readonly turnId: string; readonly messages: ReadonlyArray<Message> } | undefined => {
  const messages = conversation.messages
  let turnId: string | undefined
  let start = messages.length
  for (let i = messages.length - 1; i >= 0; i--) {
    const id = turnIdOf(messages[i]!)
    if (id === undefined) continue
    if (turnId === undefined) turnId = id
    if (id !== turnId) break
    start = i
  }
  return turnId === undefined ? undefined : { turnId, messages: messages.slice(start) }
}

/**
 * Where the turn `turnId` starts among `messages` when it is the last turn there (`messages.length` when
 * it is not): the loop reads its turn in place, without copying it out each step.
 */
export const turnStart = (messages: ReadonlyArray<Message>, turnId: string): number => {
  let start = messages.length
  for (let i = messages.length - 1; i >= 0; i--) {
    const id = turnIdOf(messages[i]!)
    if (id === undefined) continue
    if (id !== turnId) break
    start = i
  }
  return start
}

/** The tool calls of an assistant message. */
export const callsOf = (m: Message): ReadonlyArray<ToolCall> =>
  m.data.role === "assistant" ? m.data.toolCalls ?? [] : []

/** The tool call ids that have a result among `messages`. */
export const answered = (messages: ReadonlyArray<Message>): Set<string> => {
  const ids = new Set<string>()
  for (const m of messages) {
    if (m.data.role === "tool" && m.data.toolCallId !== undefined) ids.add(m.data.toolCallId)
    if (typeof m.data.content !== "string") {
      for (const p of m.data.content) if (p.type === "tool-result") ids.add(p.toolCallId)
    }
  }
  return ids
}

/**
 * What a resumed turn has used: steps, tool calls and tokens. A tool call counts once it started: every
 * result but those marked `notRun` (a denied call, one over the budget); a call with no result yet is
 * counted by the step that finishes it.
 */
export const usedBy = (messages: ReadonlyArray<Message>) => {
  let steps = 0
  let toolCalls = 0
  let tokens = 0
  for (const m of messages) {
    const step = stepOf(m)
    if (m.data.role === "assistant" && step !== undefined) steps = Math.max(steps, step + 1)
    if (m.data.role === "tool" && m.metadata[keys.notRun] !== true) toolCalls++
    const usage = m.metadata[keys.usage] as { readonly [k: string]: Json } | undefined
    if (usage !== undefined && typeof usage === "object" && usage !== null && typeof usage.totalTokens === "number") {
      tokens += usage.totalTokens
    }
  }
  return { steps, toolCalls, tokens }
}
