/**
 * Durations written in a bundle: milliseconds, or text such as "30s" or "2 minutes".
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { fail, show } from "./envelope.js"

const durationText = /^(\d+(?:\.\d+)?)\s*(ms|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)$/i

const unitMillis = (unit: string): number => {
  const u = unit.toLowerCase()
  if (u === "ms" || u.startsWith("milli")) return 1
  if (u.startsWith("s")) return 1_000
  if (u.startsWith("m")) return 60_000
  return 3_600_000
}

/**
 * A positive, finite duration from a bundle: a number of milliseconds, or a string such as
 * `"30 seconds"`, `"30s"`, `"500 ms"`, `"2 minutes"`, `"1h"`. `undefined` for anything else (zero,
 * negative, infinite, unknown unit).
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.parseDuration("30s") // Duration.seconds(30)
 * Resource.parseDuration(1500) // Duration.millis(1500)
 * Resource.parseDuration("soon") // undefined
 * ```
 *
 * @since 0.1.0
 * @category durations
 */
export const parseDuration = (input: unknown): Duration.Duration | undefined => {
  let millis: number | undefined
  if (typeof input === "number") millis = input
  else if (typeof input === "string") {
    const m = durationText.exec(input.trim())
    if (m !== null) millis = Number(m[1]) * unitMillis(m[2]!)
  }
  return millis !== undefined && Number.isFinite(millis) && millis > 0 ? Duration.millis(millis) : undefined
}

/**
 * A positive duration field (see {@link parseDuration}), decoded to a `Duration`.
 *
 * @since 0.1.0
 */
export const DurationField = (field: string): Schema.Schema<Duration.Duration, unknown> =>
  Schema.transformOrFail(Schema.Unknown, Schema.DurationFromSelf, {
    strict: true,
    decode: (input, _, ast) => {
      const d = parseDuration(input)
      return d !== undefined ?
        ParseResult.succeed(d) :
        fail(ast, input, `${field} is not a positive duration: ${show(input)}`, {
          suggestion: `use milliseconds or a string such as "30 seconds" or "30s"`
        })
    },
    encode: (d) => ParseResult.succeed(Duration.toMillis(d))
  })
