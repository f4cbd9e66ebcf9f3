/**
 * The model input summary of `step.started` (`llmInputMessages`): its schemas, and how it is stored.
 *
 * Step k of a turn sends the model everything steps 0..k-1 sent plus what they added, so a log that kept
 * every summary whole grew with the square of the steps per turn (36 KB of a 10-step turn's 45 KB). In
 * the log (`RuntimeEventLog`) a `step.started` whose summary continues the summary of the turn's previous
 * `step.started` of the same append is stored as that step's id (`llmInputBase`), how many of its messages
 * it keeps (`llmInputKept`) and the messages after them (`llmInputAdded`) instead of `llmInputMessages`:
 * {@link compress} when appending, {@link expander} when reading, so a reader gets the record that was
 * appended. A summary holds the last {@link LlmInput.maxMessages} messages only, so once a conversation is
 * longer each step's window slides past the oldest ones: the base's messages from `llmInputDroppedAt` on
 * (`llmInputDropped` of them, record version 3) are skipped before the kept ones are counted, and a step
 * still stores only what it adds (before version 3, each such step stored its whole window again: 10 KB a
 * step). The base is always an earlier line of the same write, so a torn or repaired tail never leaves a
 * delta without its base; a delta whose base cannot be found (a line dropped by a repair) is read as it is
 * stored, never guessed. Version-1 logs (every summary whole) and version-2 logs read unchanged.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One part of a summarised model input message.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LlmInputPart = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("text"),
    text: Schema.String,
    truncated: Schema.optional(Schema.Literal(true))
  }),
  Schema.Struct({
    type: Schema.Literal("tool-call"),
    toolCallId: Schema.String,
    toolName: Schema.String,
    input: Schema.String,
    truncated: Schema.optional(Schema.Literal(true))
  }),
  Schema.Struct({
    type: Schema.Literal("tool-result"),
    toolCallId: Schema.String,
    toolName: Schema.String,
    output: Schema.String,
    truncated: Schema.optional(Schema.Literal(true))
  })
).annotations({ identifier: "LlmInputPart" })

/**
 * @since 0.1.0
 * @category models
 */
export type LlmInputPart = typeof LlmInputPart.Type

/**
 * One summarised message of the model input, as logged in `step.started.llmInputMessages`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LlmInputMessage = Schema.Struct({
  role: Schema.String,
  content: Schema.String,
  contentSource: Schema.optional(Schema.Literal("verbatim", "summary")),
  parts: Schema.optional(Schema.Array(LlmInputPart))
}).annotations({ identifier: "LlmInputMessage" })

/**
 * @since 0.1.0
 * @category models
 */
export type LlmInputMessage = typeof LlmInputMessage.Type

/**
 * The stored form of a `step.started` summary that continues the previous one of its turn: the base
 * step's `stepId`, how many of its messages come first (after skipping the `llmInputDropped` messages
 * from index `llmInputDroppedAt`, when the window slid), and the messages after them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StoredDelta = Schema.Struct({
  llmInputBase: Schema.String,
  llmInputKept: Schema.Number,
  llmInputAdded: Schema.Array(LlmInputMessage),
  llmInputDroppedAt: Schema.optional(Schema.Number),
  llmInputDropped: Schema.optional(Schema.Number)
}).annotations({ identifier: "LlmInputStoredDelta" })

/**
 * A stored runtime event record: a JSON object with a string `type`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredRecord {
  readonly type: string
  readonly [key: string]: unknown
}

type Summary = ReadonlyArray<LlmInputMessage>

const isObject = (u: unknown): boolean => typeof u === "object" && u !== null

const samePart = (a: LlmInputPart, b: LlmInputPart): boolean => {
  if (a === b) return true
  if (!isObject(a) || !isObject(b)) return false
  if (a.type !== b.type || a.truncated !== b.truncated) return false
  switch (a.type) {
    case "text":
      return a.text === (b as typeof a).text
    case "tool-call":
      return a.toolCallId === (b as typeof a).toolCallId && a.toolName === (b as typeof a).toolName &&
        a.input === (b as typeof a).input
    case "tool-result":
      return a.toolCallId === (b as typeof a).toolCallId && a.toolName === (b as typeof a).toolName &&
        a.output === (b as typeof a).output
  }
}

// The summaries of one message are usually the same object step after step (LlmInput caches them); a
// rebuilt one (a context window's system message) is compared field by field.
const sameMessage = (a: LlmInputMessage, b: LlmInputMessage): boolean => {
  if (a === b) return true
  // Records reach the log from any caller: a summary that is not what LlmInput makes is compared, never trusted.
  if (!isObject(a) || !isObject(b)) return false
  if (a.role !== b.role || a.content !== b.content || a.contentSource !== b.contentSource) return false
  if (a.parts === undefined || b.parts === undefined) return a.parts === b.parts
  if (a.parts.length !== b.parts.length) return false
  for (let i = 0; i < a.parts.length; i++) if (!samePart(a.parts[i]!, b.parts[i]!)) return false
  return true
}

const summaryOf = (r: StoredRecord): Summary | undefined =>
  Array.isArray(r.llmInputMessages) ? r.llmInputMessages as Summary : undefined

/**
 * How {@link compress} stores one `step.started`: the base step's id, how many of its messages come first,
 * and the messages after them.
 *
 * @internal
 */
export interface Delta {
  readonly base: string
  readonly kept: number
  readonly added: ReadonlyArray<LlmInputMessage>
  /** The base's messages skipped (from `droppedAt` on) before the kept ones are counted; 0: none. */
  readonly droppedAt: number
  readonly dropped: number
}

/**
 * How `summary` continues `base`: the longest common prefix, or, when the window slid (the base's oldest
 * messages after that prefix left it), the prefix, then the run of the base that starts later and goes on in
 * the summary. The one that leaves fewer messages to add; `undefined` when nothing is kept.
 */
const slideLimit = 64

const continuation = (
  base: Summary,
  summary: Summary
): { readonly kept: number; readonly droppedAt: number; readonly dropped: number } | undefined => {
  const max = Math.min(base.length, summary.length)
  let prefix = 0
  while (prefix < max && sameMessage(base[prefix]!, summary[prefix]!)) prefix++
  if (prefix < max) {
    // The first later message of the base that the summary goes on with (a window slides by a few: the
    // summaries' messages are usually the same objects, so a wrong candidate fails on its first field).
    // A repeated message ("Noted.") may start a shorter run first: the longest run wins, and one that reaches
    // the base's end cannot be beaten by a later start. At most `slideLimit` starts are tried (a record may
    // come from any caller, with any number of messages).
    const next = summary[prefix]!
    let best: { readonly kept: number; readonly droppedAt: number; readonly dropped: number } | undefined
    const last = Math.min(base.length, prefix + 1 + slideLimit)
    for (let at = prefix + 1; at < last; at++) {
      if (!sameMessage(base[at]!, next)) continue
      let run = 1
      while (
        at + run < base.length && prefix + run < summary.length && sameMessage(base[at + run]!, summary[prefix + run]!)
      ) run++
      if (best === undefined || prefix + run > best.kept) {
        best = { kept: prefix + run, droppedAt: prefix, dropped: at - prefix }
      }
      if (at + run === base.length) break
    }
    if (best !== undefined) return best
  }
  return prefix === 0 ? undefined : { kept: prefix, droppedAt: prefix, dropped: 0 }
}

/**
 * The deltas {@link compress} stores, by index in `records` (`undefined` when there is none), without
 * copying any record: `RuntimeEventLog` writes a record's delta in place of its summary as it encodes it.
 *
 * @internal
 */
export const deltas = (records: ReadonlyArray<StoredRecord>): Map<number, Delta> | undefined => {
  let last: Map<string, { readonly stepId: string; readonly summary: Summary }> | undefined
  let out: Map<number, Delta> | undefined
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    if (r.type !== "step.started") continue
    const summary = summaryOf(r)
    const turnId = r.turnId
    const stepId = r.stepId
    if (summary === undefined || typeof turnId !== "string" || typeof stepId !== "string") continue
    last ??= new Map()
    const base = last.get(turnId)
    last.set(turnId, { stepId, summary })
    if (base === undefined) continue
    const c = continuation(base.summary, summary)
    if (c === undefined) continue
    out ??= new Map()
    out.set(i, {
      base: base.stepId,
      kept: c.kept,
      added: summary.slice(c.kept),
      droppedAt: c.droppedAt,
      dropped: c.dropped
    })
  }
  return out
}

/**
 * The fields a record's delta replaces: its summary, and any delta fields of its own.
 *
 * @internal
 */
export const deltaKeys: ReadonlySet<string> = new Set([
  "llmInputMessages",
  "llmInputBase",
  "llmInputKept",
  "llmInputAdded",
  "llmInputDroppedAt",
  "llmInputDropped"
])

/**
 * The records as they are stored: each `step.started` whose summary starts with (some of) the summary of
 * the previous `step.started` of its turn among `records` carries only the messages after those (see the
 * module's documentation). Other records, and the arrays given, are left as they are.
 *
 * @example
 * ```ts
 * import { LlmInputRecord } from "effect-swarm"
 * const user = { role: "user", content: "hi" }
 * const stored = LlmInputRecord.compress([
 *   { type: "step.started", turnId: "t", stepId: "s0", llmInputMessages: [user] },
 *   { type: "step.started", turnId: "t", stepId: "s1", llmInputMessages: [user, { role: "tool", content: "ok" }] }
 * ])
 * // stored[1]: { type: "step.started", turnId: "t", stepId: "s1", llmInputBase: "s0", llmInputKept: 1,
 * //              llmInputAdded: [{ role: "tool", content: "ok" }] }
 * ```
 *
 * @since 0.1.0
 * @category storing
 */
export const compress = <R extends StoredRecord>(records: ReadonlyArray<R>): ReadonlyArray<R> => {
  const found = deltas(records)
  if (found === undefined) return records
  const out = records.slice()
  for (const [i, delta] of found) {
    const { llmInputMessages: _, ...rest } = records[i]!
    out[i] = {
      ...rest,
      llmInputBase: delta.base,
      llmInputKept: delta.kept,
      llmInputAdded: delta.added,
      ...(delta.dropped === 0 ? {} : { llmInputDroppedAt: delta.droppedAt, llmInputDropped: delta.dropped })
    } as unknown as R
  }
  return out
}

/**
 * A reader's inverse of {@link compress}: feed it the stored records in file order; each `step.started`
 * stored as a delta comes back with its whole `llmInputMessages` (and without the delta's fields). A delta
 * whose base is not among the records read before it comes back as stored.
 *
 * @example
 * ```ts
 * import { LlmInputRecord } from "effect-swarm"
 * const expand = LlmInputRecord.expander()
 * const records = storedRecords.map(expand)
 * ```
 *
 * @since 0.1.0
 * @category storing
 */
export const expander = (): <R extends StoredRecord>(record: R) => R => {
  const last = new Map<string, { readonly stepId: string; readonly summary: Summary }>()
  return <R extends StoredRecord>(r: R): R => {
    const turnId = r.turnId
    if (typeof turnId !== "string") return r
    if (r.type !== "step.started") {
      if (r.type === "turn.completed" || r.type === "turn.failed" || r.type === "turn.abandoned") last.delete(turnId)
      return r
    }
    const stepId = r.stepId
    if (typeof stepId !== "string") return r
    const whole = summaryOf(r)
    if (whole !== undefined) {
      last.set(turnId, { stepId, summary: whole })
      return r
    }
    const base = last.get(turnId)
    const kept = r.llmInputKept
    const added = r.llmInputAdded
    const droppedAt = r.llmInputDroppedAt ?? 0
    const dropped = r.llmInputDropped ?? 0
    const count = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0
    if (
      base === undefined || base.stepId !== r.llmInputBase || !count(kept) || !count(droppedAt) ||
      !count(dropped) || droppedAt + dropped > base.summary.length || kept > base.summary.length - dropped ||
      !Array.isArray(added)
    ) return r
    const from = dropped === 0 ? base.summary : base.summary.slice(0, droppedAt).concat(
      base.summary.slice(droppedAt + dropped)
    )
    const summary: Summary = from.slice(0, kept).concat(added as Summary)
    last.set(turnId, { stepId, summary })
    const {
      llmInputAdded: _a,
      llmInputBase: _b,
      llmInputDropped: _d,
      llmInputDroppedAt: _da,
      llmInputKept: _k,
      ...rest
    } = r
    return { ...rest, llmInputMessages: summary } as unknown as R
  }
}
