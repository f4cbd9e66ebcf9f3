/**
 * The lines of `runtime-events.jsonl` (see `RuntimeEventLog`): each record checked as it is written, a
 * `step.started` that continues the previous one of its turn written as what it adds (`LlmInputRecord`).
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as LlmInputRecord from "../../event/LlmInputRecord.js"
import * as StorageError from "../StorageError.js"
import { jsonText, quote, whyNotJson } from "./jsonlText.js"

type StoredRecord = LlmInputRecord.StoredRecord

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

// The type of a record, for the error (a hostile record may throw even there).
const typeOf = (record: unknown): string | undefined => {
  try {
    const type = (record as { readonly type?: unknown }).type
    return typeof type === "string" ? type : undefined
  } catch {
    return undefined
  }
}

// Top-level keys quoted once (a record's keys are a few dozen names, written on every line); at most 256 kept.
const quotedKeys = new Map<string, string>()
const quoteKey = (key: string): string => {
  let quoted = quotedKeys.get(key)
  if (quoted === undefined) {
    quoted = quote(key)
    if (quotedKeys.size < 256) quotedKeys.set(key, quoted)
  }
  return quoted
}

// The line of one stored record (`v` first, then its keys in their order, as `codec.encode` writes it), or
// why it would not read back. One walk that checks as it writes (`jsonText`): NaN, Infinity, `undefined` in an
// array, a Date, a class instance or nesting past the messages' limit are refused, not changed by
// JSON.stringify. With `delta` (a step.started stored as what it adds, see `LlmInputRecord.compress`), the
// record is written as `compress` stores it, without a copy of it: its summary left out, the delta last.
const recordLine = (
  record: Record<string, unknown>,
  version: number,
  delta?: LlmInputRecord.Delta
): string | { readonly path?: string; readonly reason: string } => {
  if (Object.getPrototypeOf(record) !== Object.prototype && Object.getPrototypeOf(record) !== null) {
    return { reason: "is not a plain object (a class instance would read back as a plain one)" }
  }
  let text = `{"v":${version}`
  let typed = false
  for (const key in record) {
    const value = record[key]
    if (key === "v") return { path: "v", reason: "the field v is reserved for the record version" }
    // JSON.parse keeps an own "__proto__" key; the record schema's output object would take it as its prototype.
    if (key === "__proto__") return { path: key, reason: "a key named \"__proto__\" cannot be read back" }
    if (key === "type") {
      if (typeof value !== "string") return { path: "type", reason: `the type is not a string (${typeof value})` }
      typed = true
    }
    // A key without a value is left out: it reads back absent, which the records' optional fields (and any
    // reader) take for the same thing. `undefined` in an array would read back as null: refused.
    if (value === undefined || (delta !== undefined && LlmInputRecord.deltaKeys.has(key))) continue
    const json = jsonText(value, 0, true)
    if (json === undefined) {
      return whyNotJson(value, key, 0, true) ?? { path: key, reason: "its value changed as it was read" }
    }
    text += `,${quoteKey(key)}:${json}`
  }
  if (delta !== undefined) {
    const added = jsonText(delta.added, 0, true)
    if (added === undefined) {
      return whyNotJson(delta.added, "llmInputAdded", 0, true) ??
        { path: "llmInputAdded", reason: "its value changed as it was read" }
    }
    text += `,"llmInputBase":${quote(delta.base)},"llmInputKept":${delta.kept},"llmInputAdded":${added}`
    if (delta.dropped !== 0) text += `,"llmInputDroppedAt":${delta.droppedAt},"llmInputDropped":${delta.dropped}`
  }
  return typed ? text + "}" : { path: "type", reason: "it has no type (a string)" }
}

/**
 * The lines of a batch of `runtime-events.jsonl` records (record version `version`), or the first record that
 * would not read back as it was given (see `recordLine`). `RuntimeEventLog.append` encodes here, before
 * anything is queued: nothing is walked twice.
 *
 * @internal
 */
export const encode = (
  events: ReadonlyArray<StoredRecord>,
  file: string,
  version: number
): Either.Either<string, StorageError.InvalidMessage> => {
  const refuse = (index: number, reason: string, path?: string) =>
    Either.left(
      new StorageError.InvalidMessage({
        index,
        reason,
        kind: "runtime event",
        file,
        ...(path !== undefined ? { path } : {}),
        ...(typeOf(events[index]) !== undefined ? { eventType: typeOf(events[index])! } : {})
      })
    )
  for (let index = 0; index < events.length; index++) {
    const event: unknown = events[index]
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      return refuse(index, "it is not a JSON object")
    }
  }
  // The summaries stored as deltas (version 2), written in place by `recordLine` (no copy of a record).
  // Should a hostile value throw in there, the records are encoded whole: the encoding below then names
  // the one at fault.
  let deltas: ReadonlyMap<number, LlmInputRecord.Delta> | undefined
  try {
    deltas = LlmInputRecord.deltas(events)
  } catch {
    deltas = undefined
  }
  let text = ""
  for (let index = 0; index < events.length; index++) {
    const delta = deltas?.get(index)
    let line: ReturnType<typeof recordLine>
    try {
      line = recordLine(events[index] as Record<string, unknown>, version, delta)
    } catch (cause) {
      return refuse(index, `it cannot be read (${describe(cause)})`)
    }
    if (typeof line !== "string") {
      // A delta names the original's path when the original is at fault (the caller's view of it).
      const original = delta === undefined ? undefined : whyNotJson(events[index], "", -1, true)
      const at = original !== undefined ? original.path.replace(/^\./, "") : line.path
      return refuse(index, original?.reason ?? line.reason, at === "" ? undefined : at)
    }
    text += line + "\n"
  }
  return Either.right(text)
}
