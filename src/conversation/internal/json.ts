/**
 * JSON values as messages hold them: the {@link Json} type, its fast guard and schema, and the record of extra
 * fields that parts and message data keep verbatim. Re-exported by `Message`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A JSON value (what `JSON.parse` can return).
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * Whether a value is JSON as {@link Json} accepts it: `null`, booleans, strings, finite numbers, arrays and
 * plain objects (prototype `Object.prototype` or `null`) of JSON, nested at most 256 deep.
 *
 * @example
 * ```ts
 * import { Message } from "effect-swarm"
 * Message.isJson({ a: [1, "x", null] }) // true
 * Message.isJson({ a: Number.NaN }) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isJson = (u: unknown, depth = 0): u is Json => {
  if (u === null || typeof u === "string" || typeof u === "boolean") return true
  if (typeof u === "number") return Number.isFinite(u)
  if (depth > 256 || typeof u !== "object") return false
  if (Array.isArray(u)) {
    for (const item of u) if (!isJson(item, depth + 1)) return false
    return true
  }
  const proto = Object.getPrototypeOf(u)
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in u) if (!isJson((u as Record<string, unknown>)[key], depth + 1)) return false
  return true
}

/**
 * A schema for any JSON value. Checked with one fast recursive walk (no per-node schema decoding), which
 * keeps loading a 100k-event conversation cheap.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Message } from "effect-swarm"
 * Schema.is(Message.Json)({ a: [1, "x", null] }) // true
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Json: Schema.Schema<Json> = Schema.declare((u: unknown): u is Json => isJson(u), {
  identifier: "Json",
  // JSON-normalised (no -0) and without "__proto__" keys, which Schema's struct decoding cannot keep as own keys.
  arbitrary: () => (fc) =>
    fc.jsonValue().map((value) =>
      JSON.parse(JSON.stringify(value), (k, v) => k === "__proto__" ? undefined : v) as Json
    )
})

/** An object key as messages keep it (its arbitraries never draw `__proto__`). */
export const Key = Schema.String.annotations({ arbitrary: () => (fc) => fc.string().filter((k) => k !== "__proto__") })
/** Extra, unknown fields of parts and of `data`, kept as they are (the reference dropped them). */
export const Extra = Schema.Record({ key: Key, value: Json })
