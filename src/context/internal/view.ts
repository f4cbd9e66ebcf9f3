/**
 * Materialising a view: the head (a marker naming what was left out, or the running summary), the
 * pinned messages before the cut, and the messages from the cut on; tool-result truncation for a
 * newest turn that does not fit; and the report recorded in `step.started.context`.
 */
import type { Json, Message } from "../../conversation/Message.js"
import type { ContextRange } from "../../event/RuntimeEvent.js"
import type { Counter } from "../Tokens.js"
import * as Index from "./index.js"

/** Metadata key marking the messages the context window made up (head messages, truncated copies). */
export const madeKey = "swarm.context"

export const range = (index: Index.Index, from: number, to: number): typeof ContextRange.Type | undefined => {
  if (to <= from) return undefined
  const pinned = Index.pinnedBefore(index, to).count - Index.pinnedBefore(index, from).count
  const fromSeq = index.seqs[from]
  const toSeq = index.seqs[to - 1]
  return {
    fromId: index.messages[from]!.id,
    toId: index.messages[to - 1]!.id,
    ...(fromSeq === undefined ? {} : { fromSeq }),
    ...(toSeq === undefined ? {} : { toSeq }),
    count: to - from - pinned
  }
}

const seqText = (r: typeof ContextRange.Type) =>
  r.fromSeq !== undefined && r.toSeq !== undefined ? ` (seq ${r.fromSeq}..${r.toSeq})` : ""

const headMessage = (id: string, text: string, createdAt: Date, kind: string): Message => ({
  id,
  data: { role: "user", content: text },
  metadata: { [madeKey]: kind },
  createdAt,
  source: { type: "system" }
})

/** The marker that opens a `window` view: what was left out, and that the log keeps it. */
export const marker = (r: typeof ContextRange.Type, createdAt: Date): Message =>
  headMessage(
    `context-omitted-${r.toId}`,
    `[context window: ${r.count} earlier message${r.count === 1 ? "" : "s"}${
      seqText(r)
    } are not shown here to keep the conversation inside the model's context window; the log keeps them.]`,
    createdAt,
    "omitted"
  )

/** Tokens reserved for a marker message in planning. */
export const markerTokens = 48

/** The message that carries the running summary at the head of a `summarize` view. */
export const summaryMessage = (text: string, r: typeof ContextRange.Type, createdAt: Date): Message =>
  headMessage(
    `context-summary-${r.toId}`,
    `[Summary of the ${r.count} earlier message${r.count === 1 ? "" : "s"}${
      seqText(r)
    }, written when they left the context window; the log keeps them.]\n${text}`,
    createdAt,
    "summary"
  )

/** The view: head, pinned messages before `cut`, then messages `cut .. n-1` (orphan tool results dropped). */
export const assemble = (index: Index.Index, cut: number, head: Message | undefined): Array<Message> => {
  const messages = index.messages
  const out: Array<Message> = head === undefined ? [] : [head]
  const { count } = Index.pinnedBefore(index, cut)
  for (let k = 0; k < count; k++) {
    const i = index.pinned[k]!
    if (!index.orphans.has(i)) out.push(messages[i]!)
  }
  if (index.orphans.size === 0) {
    for (let i = cut; i < messages.length; i++) out.push(messages[i]!)
  } else {
    for (let i = cut; i < messages.length; i++) if (!index.orphans.has(i)) out.push(messages[i]!)
  }
  return out
}

export interface Truncation {
  readonly id: string
  readonly seq?: number | undefined
  readonly fromTokens: number
  readonly toTokens: number
}

const stringify = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? ""
  } catch {
    return String(value)
  }
}

const isToolResult = (m: Message) => Index.resultIdsOf(m).length > 0

const noteTokens = 48

/** The fewest tokens a truncated tool result keeps. */
export const truncatedFloor = 64

const cutText = (text: string, keepChars: number, note: string) =>
  text.length <= keepChars ? text : `${text.slice(0, Math.max(0, keepChars))}\n${note}`

const truncateMessage = (m: Message, keepChars: number, note: string): Message => {
  const content = m.data.content
  const data = typeof content === "string"
    ? { ...m.data, content: cutText(content, keepChars, note) }
    : {
      ...m.data,
      content: content.map((p) => {
        if (p.type !== "tool-result") return p
        const output = stringify(p.output)
        return { ...p, output: cutText(output, keepChars, note) as Json }
      })
    }
  return { ...m, data, metadata: { ...m.metadata, [madeKey]: "truncated" } }
}

/**
 * Cuts the largest tool results of `view` first until it costs at most `available` tokens. Each cut
 * result keeps its head and ends with a note naming its size and where the whole result is. Returns
 * `undefined` when even cutting every tool result to {@link truncatedFloor} tokens is not enough.
 */
export const truncate = (
  index: Index.Index,
  counter: Counter,
  view: Array<Message>,
  cost: number,
  available: number
): { readonly view: Array<Message>; readonly cost: number; readonly truncated: Array<Truncation> } | undefined => {
  const candidates = view
    .map((m, at) => ({ m, at, tokens: counter.message(m) }))
    .filter((c) => isToolResult(c.m) && c.tokens > truncatedFloor)
    .sort((a, b) => b.tokens - a.tokens)
  let excess = cost - available
  const out = view.slice()
  const truncated: Array<Truncation> = []
  const seqById = new Map<string, number | undefined>()
  for (let i = Math.max(0, index.messages.length - view.length * 2); i < index.messages.length; i++) {
    seqById.set(index.messages[i]!.id, index.seqs[i])
  }
  for (const c of candidates) {
    if (excess <= 0) break
    const target = Math.max(truncatedFloor, c.tokens - excess)
    const chars = stringify(typeof c.m.data.content === "string" ? c.m.data.content : c.m.data.content).length
    const seq = seqById.get(c.m.id)
    const note =
      `[truncated by the context window: this tool result had about ${c.tokens} tokens and is cut to ${target}; the whole result is in the log (message ${c.m.id}${
        seq === undefined ? "" : `, seq ${seq}`
      }).]`
    const keepChars = Math.floor(chars * (target - noteTokens) / c.tokens)
    const copy = truncateMessage(c.m, keepChars, note)
    const now = counter.message(copy)
    out[c.at] = copy
    excess -= c.tokens - now
    truncated.push({ id: c.m.id, ...(seq === undefined ? {} : { seq }), fromTokens: c.tokens, toTokens: now })
  }
  if (excess > 0) return undefined
  return { view: out, cost: available + excess, truncated }
}
