/**
 * The options of `Jsonl.DurableFile.nodeWith`, checked once when the service is made (never per append):
 * `Duration.decode` reads NaN and negative numbers as zero and throws on what it cannot read, so an input
 * is checked as it was given before it is decoded.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * An option given to `Jsonl.DurableFile.nodeWith` cannot be met: a `blockingBelow` that is NaN, negative or
 * no duration at all (`"fast"`, `undefined`). Returned (never thrown) by `nodeWith`, before anything opens,
 * instead of being read as 0 ("never block").
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const made = Jsonl.DurableFile.nodeWith({ blockingBelow: -1 })
 * if (Either.isLeft(made)) console.error(made.left.message)
 * // cannot make Jsonl.DurableFile.nodeWith: option blockingBelow is -1; it must be a duration of 0 or more ...
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidDurableFileOption extends Schema.TaggedError<InvalidDurableFileOption>(
  "effect-swarm/InvalidDurableFileOption"
)("InvalidDurableFileOption", {
  option: Schema.String,
  given: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `cannot make Jsonl.DurableFile.nodeWith: option ${this.option} is ${this.given}; it must be ${this.expected}`
  }
}

const expected = `a duration of 0 or more, such as "1 millis" or Duration.millis(1) ` +
  `(0: never block the calling thread; Infinity: block it whenever an append is alone)`

const nonNegative = (n: number) => !Number.isNaN(n) && n >= 0

/** How `input` was given, for the error: the value itself when it prints as itself, else its kind. */
const describe = (input: unknown): string => {
  if (typeof input === "string") return JSON.stringify(input)
  if (typeof input === "number") return String(input)
  if (typeof input === "bigint") return `${input}n`
  if (Array.isArray(input)) return `[${input.map((x) => typeof x === "number" ? String(x) : typeof x).join(", ")}]`
  return input === null ? "null" : typeof input
}

/**
 * Decodes `input` when it is a duration of 0 or more (a `Duration` is taken as it is: it cannot be negative);
 * NaN, a negative value or anything `Duration.decode` cannot read is `InvalidDurableFileOption`.
 */
export const nonNegativeDuration = (
  option: string,
  input: Duration.DurationInput
): Either.Either<Duration.Duration, InvalidDurableFileOption> => {
  const raw: unknown = input
  const valid = Duration.isDuration(raw) ||
    (typeof raw === "number" && nonNegative(raw)) ||
    (typeof raw === "bigint" && raw >= 0n) ||
    (Array.isArray(raw) && raw.length === 2 && raw.every((x) => typeof x === "number" && nonNegative(x))) ||
    (typeof raw === "string" && !raw.startsWith("-") && Either.isRight(Either.try(() => Duration.decode(input))))
  return valid
    ? Either.right(Duration.decode(input))
    : Either.left(new InvalidDurableFileOption({ option, given: describe(raw), expected }))
}
