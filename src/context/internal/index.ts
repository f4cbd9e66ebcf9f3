/**
 * The incremental index behind the context window: token prefix sums, the seq of each message, where
 * the view may start (never between an assistant's tool calls and their results), the pinned messages
 * and where the newest turn starts. An append-only change of the conversation (the turn loop's case)
 * costs O(new messages); any other change (replace, remove, truncate) rebuilds it once.
 */
import * as Conversation from "../../conversation/Conversation.js"
import type { Message } from "../../conversation/Message.js"
import type { Counter } from "../Tokens.js"

/** The metadata flag that keeps a message in every view. */
export const pinnedKey = "swarm.pinned"

export const isPinned = (m: Message): boolean => m.metadata[pinnedKey] === true

/** Tool call ids an assistant message asks for. */
export const callIdsOf = (m: Message): ReadonlyArray<string> => {
  if (m.data.role !== "assistant") return []
  const ids: Array<string> = []
  for (const c of m.data.toolCalls ?? []) ids.push(c.id)
  if (typeof m.data.content !== "string") {
    for (const p of m.data.content) if (p.type === "tool-call" && !ids.includes(p.toolCallId)) ids.push(p.toolCallId)
  }
  return ids
}

/** Tool call ids a message answers (a tool message, or tool-result parts in any message). */
export const resultIdsOf = (m: Message): ReadonlyArray<string> => {
  const ids: Array<string> = []
  if (m.data.role === "tool" && m.data.toolCallId !== undefined) ids.push(m.data.toolCallId)
  if (typeof m.data.content !== "string") {
    for (const p of m.data.content) if (p.type === "tool-result" && !ids.includes(p.toolCallId)) ids.push(p.toolCallId)
  }
  return ids
}

/** A message that starts a turn: a user message that answers no tool call. */
export const startsTurn = (m: Message): boolean => m.data.role === "user" && resultIdsOf(m).length === 0

export interface Index {
  conversation: Conversation.Conversation | undefined
  /** The indexed messages (grown in place: the conversation's own array is never copied). */
  messages: Array<Message>
  lastSeq: number
  /** `prefix[i]`: tokens of messages `0 .. i-1`. */
  prefix: Array<number>
  seqs: Array<number | undefined>
  /** `cut[i] === 1`: the view may start at message i (no call group spans it, it is no tool result). */
  cut: Array<number>
  /** Assistant message index of each tool call id. */
  callAt: Map<string, number>
  /** Last result index of each assistant message with calls. */
  groupEnd: Map<number, number>
  /** Tool results whose call is not in the conversation: never sent. */
  orphans: Set<number>
  /** Pinned message indices (a pinned message pins its whole call group), sorted. */
  pinned: Array<number>
  pinnedSet: Set<number>
  /** `pinnedPrefix[k]`: tokens of `pinned[0 .. k-1]`. */
  pinnedPrefix: Array<number>
  /** Index of the message that starts the newest turn (0 when none does). */
  turnStart: number
  rebuilds: number
}

export const make = (): Index => ({
  conversation: undefined,
  messages: [],
  lastSeq: 0,
  prefix: [0],
  seqs: [],
  cut: [],
  callAt: new Map(),
  groupEnd: new Map(),
  orphans: new Set(),
  pinned: [],
  pinnedSet: new Set(),
  pinnedPrefix: [0],
  turnStart: 0,
  rebuilds: 0
})

const reset = (index: Index) => {
  index.messages = []
  index.prefix = [0]
  index.seqs = []
  index.cut = []
  index.callAt = new Map()
  index.groupEnd = new Map()
  index.orphans = new Set()
  index.pinned = []
  index.pinnedSet = new Set()
  index.pinnedPrefix = [0]
  index.turnStart = 0
}

const tokensAt = (index: Index, i: number) => index.prefix[i + 1]! - index.prefix[i]!

const pinRange = (index: Index, from: number, to: number) => {
  let added = false
  for (let i = from; i <= to; i++) {
    if (index.pinnedSet.has(i)) continue
    index.pinnedSet.add(i)
    added = true
  }
  if (!added) return
  index.pinned = Array.from(index.pinnedSet).sort((a, b) => a - b)
  const sums = [0]
  for (const i of index.pinned) sums.push(sums[sums.length - 1]! + tokensAt(index, i))
  index.pinnedPrefix = sums
}

const add = (index: Index, counter: Counter, m: Message, seq: number | undefined) => {
  const i = index.seqs.length
  index.messages.push(m)
  index.prefix.push(index.prefix[i]! + counter.message(m))
  index.seqs.push(seq)
  index.cut.push(1)
  const results = resultIdsOf(m)
  let anchor = i
  if (results.length > 0) {
    index.cut[i] = 0
    let answered = false
    for (const id of results) {
      const k = index.callAt.get(id)
      if (k === undefined) continue
      answered = true
      anchor = Math.min(anchor, k)
      for (let t = k + 1; t <= i; t++) index.cut[t] = 0
      index.groupEnd.set(k, i)
    }
    if (!answered) index.orphans.add(i)
  }
  for (const id of callIdsOf(m)) index.callAt.set(id, i)
  if (startsTurn(m)) index.turnStart = i
  if (isPinned(m)) pinRange(index, anchor, index.groupEnd.get(i) ?? i)
  else if (anchor < i && index.pinnedSet.has(anchor)) pinRange(index, anchor, i)
}

const seqsOf = (conversation: Conversation.Conversation): Map<Message, number> => {
  const out = new Map<Message, number>()
  for (const e of conversation.events) if (e.type === "append" || e.type === "replace") out.set(e.message, e.seq)
  return out
}

/**
 * Brings the index up to `conversation`. Append-only growth is detected by comparing the seq and length
 * deltas (every non-append event moves the seq without adding a message) and checking the last indexed
 * message is still in place; it costs O(new messages) and never copies the conversation's messages.
 */
export const sync = (index: Index, conversation: Conversation.Conversation, counter: Counter): void => {
  if (index.conversation === conversation) return
  const length = Conversation.size(conversation)
  const old = index.seqs.length
  const grown = length - old
  const appendOnly = index.conversation !== undefined && grown >= 0 &&
    conversation.lastSeq - index.lastSeq === grown &&
    (old === 0 || Conversation.messageAt(conversation, old - 1) === index.messages[old - 1])
  if (appendOnly) {
    for (let i = old; i < length; i++) {
      add(index, counter, Conversation.messageAt(conversation, i)!, index.lastSeq + (i - old) + 1)
    }
  } else {
    if (index.conversation !== undefined) index.rebuilds++
    reset(index)
    const seqs = seqsOf(conversation)
    for (const m of conversation.messages) add(index, counter, m, seqs.get(m))
  }
  index.conversation = conversation
  index.lastSeq = conversation.lastSeq
}

/** Tokens of messages `from .. n-1`. */
export const suffix = (index: Index, from: number) => index.prefix[index.seqs.length]! - index.prefix[from]!

/** Tokens of messages `from .. to-1`. */
export const range = (index: Index, from: number, to: number) => index.prefix[to]! - index.prefix[from]!

/** How many pinned messages lie before `c`, and their tokens. */
export const pinnedBefore = (index: Index, c: number): { readonly count: number; readonly tokens: number } => {
  let lo = 0
  let hi = index.pinned.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (index.pinned[mid]! < c) lo = mid + 1
    else hi = mid
  }
  return { count: lo, tokens: index.pinnedPrefix[lo]! }
}

/** The first index at or after `c` where the view may start (`limit` at most). */
export const nextCut = (index: Index, c: number, limit: number): number => {
  let i = c
  while (i < limit && index.cut[i] !== 1) i++
  return i
}

/** The last index at or before `c` (and after `floor`) where the view may start, or `undefined`. */
export const previousCut = (index: Index, c: number, floor: number): number | undefined => {
  for (let i = c; i > floor; i--) if (index.cut[i] === 1) return i
  return undefined
}

/**
 * The smallest valid cut `c` in `[lo, hi]` whose view (pinned messages before `c` plus the suffix from
 * `c`) costs at most `available` tokens, or `undefined` when even `hi` does not fit. The cost is
 * non-increasing in `c`, so a binary search finds it in O(log n) (plus the walk to the next valid cut).
 */
export const fit = (index: Index, lo: number, hi: number, available: number): number | undefined => {
  const cost = (c: number) => pinnedBefore(index, c).tokens + suffix(index, c)
  if (cost(hi) > available) return undefined
  let a = lo
  let b = hi
  while (a < b) {
    const mid = (a + b) >>> 1
    if (cost(mid) <= available) b = mid
    else a = mid + 1
  }
  return nextCut(index, a, hi)
}
