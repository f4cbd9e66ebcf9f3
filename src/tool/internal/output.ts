/**
 * A tool's output as the model reads it: any handler value normalised to JSON, and capped in bytes.
 * Public through `ToolExecutor.toJsonValue` / `ToolExecutor.capOutput`.
 *
 * @internal
 */
import type { JsonValue } from "../ToolCatalog.js"

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** `undefined` -> null, non-finite numbers and bigints -> strings, Dates -> ISO, cycles -> "[Circular]". */
export const toJsonValue = (value: unknown): JsonValue => {
  const seen = new Set<object>()
  const go = (v: unknown): JsonValue => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v
      case "number":
        return Number.isFinite(v) ? v : String(v)
      case "undefined":
      case "function":
      case "symbol":
        return null
      case "bigint":
        return v.toString()
      case "object": {
        if (v === null) return null
        if (seen.has(v)) return "[Circular]"
        if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString()
        if (Array.isArray(v)) {
          seen.add(v)
          const out = v.map(go)
          seen.delete(v)
          return out
        }
        if (!isPlainObject(v)) return String(v)
        seen.add(v)
        const out: Record<string, JsonValue> = {}
        for (const key of Object.keys(v)) {
          const item = go((v as Record<string, unknown>)[key])
          // An own "__proto__" key (JSON.parse makes them) stays data; assigning it would set the prototype.
          if (key === "__proto__") {
            Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true })
          } else out[key] = item
        }
        seen.delete(v)
        return out
      }
    }
  }
  return go(value)
}

export const outputTruncatedMarker = "... (output truncated)"

/**
 * What is left of `budget` bytes after the JSON text of `value` at its largest (a UTF-16 unit is at most 6
 * bytes of JSON, `\u001f`; a number at most 24 characters), or -1 once it is spent: a bound that costs no
 * serialisation.
 */
const within = (value: JsonValue, budget: number): number => {
  if (value === null || typeof value === "boolean") return budget - 5
  if (typeof value === "number") return budget - 24
  if (typeof value === "string") return budget - value.length * 6 - 2
  // A `toJSON` (not JSON, but callers may pass anything) writes what it likes: measured, not bounded.
  if (typeof (value as { readonly toJSON?: unknown }).toJSON === "function") return -1
  let left = budget - 2
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && left >= 0; i++) left = within(value[i]!, left - 1)
    return left
  }
  for (const key in value) {
    if (left < 0) return left
    left = within((value as Record<string, JsonValue>)[key]!, left - key.length * 6 - 4)
  }
  return left
}

/** A larger output becomes the start of its JSON text and a marker with the original size. */
export const capOutput = (output: JsonValue, maxBytes: number): JsonValue => {
  // An output whose JSON cannot reach the cap (most are small) is not serialised to be measured.
  if (within(output, maxBytes) >= 0) return output
  const text = JSON.stringify(output)
  const bytes = Buffer.byteLength(text, "utf8")
  if (bytes <= maxBytes) return output
  const marker = `${outputTruncatedMarker.slice(0, -1)}: ${bytes} bytes of JSON, limit ${maxBytes})`
  const keep = Math.max(0, maxBytes - Buffer.byteLength(marker, "utf8"))
  let preview = Buffer.from(text, "utf8").subarray(0, keep).toString("utf8")
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  if (preview.endsWith("\uFFFD")) preview = preview.slice(0, -1)
  return preview + marker
}
