/**
 * Values that come from the bundle, the environment or a secret: `value`, `valueFrom.env` or
 * `valueFrom.secretRef`, exactly one of them. An environment value is required unless it says
 * `required: false`.
 *
 * ```yaml
 * apiKey:
 *   valueFrom:
 *     env: ANTHROPIC_API_KEY
 * token:
 *   valueFrom:
 *     secretRef: { ref: "Secret/slack", key: bot-token }
 * region:
 *   valueFrom: { env: AWS_REGION, required: false }
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as IssueMessage from "./internal/issueMessage.js"
import * as ObjectRef from "./ObjectRef.js"

const { isRecord, show } = IssueMessage

/**
 * A decoded value source.
 *
 * @since 0.1.0
 * @category models
 */
export type ValueSource =
  | { readonly _tag: "Value"; readonly value: string }
  | { readonly _tag: "Env"; readonly env: string; readonly required: boolean }
  | { readonly _tag: "Secret"; readonly secret: string; readonly key: string | undefined }

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

const problem = (message: string, suggestion?: string) => Either.left(IssueMessage.encode(message, { suggestion }))

/**
 * Parses an encoded value source; the `Left` is the message (with its suggestion, internal format).
 *
 * @internal
 */
export const parse = (input: unknown): Either.Either<ValueSource, string> => {
  if (typeof input === "string") {
    return problem(
      `expected { value } or { valueFrom }, got the string ${show(input)}`,
      `write { value: ${show(input)} }`
    )
  }
  if (!isRecord(input)) return problem(`expected { value } or { valueFrom }, got ${show(input)}`)
  const keys = Object.keys(input)
  const unknown = keys.find((k) => k !== "value" && k !== "valueFrom")
  if (unknown !== undefined) {
    const near = IssueMessage.nearest(unknown, ["value", "valueFrom"])
    return problem(`unknown field ${show(unknown)}`, near === undefined ? undefined : `did you mean "${near}"?`)
  }
  const hasValue = "value" in input
  const hasFrom = "valueFrom" in input
  if (hasValue && hasFrom) {
    return problem("value and valueFrom cannot be used together", "keep exactly one of value or valueFrom")
  }
  if (hasValue) {
    const v = input.value
    if (typeof v === "string") return Either.right({ _tag: "Value", value: v })
    // A YAML number such as `1.0` must keep its text: report it so the loader retries with the source.
    if (typeof v === "number") return problem(`expected a string for value, got the number ${show(v)}`)
    if (typeof v === "boolean") return Either.right({ _tag: "Value", value: String(v) })
    return problem(`value must be a string, got ${show(v)}`)
  }
  if (!hasFrom) return problem("expected one of value or valueFrom", "add value: <text> or valueFrom: { env: NAME }")
  const from = input.valueFrom
  if (!isRecord(from)) return problem(`valueFrom must be an object with env or secretRef, got ${show(from)}`)
  const fromUnknown = Object.keys(from).find((k) => k !== "env" && k !== "secretRef" && k !== "required")
  if (fromUnknown !== undefined) {
    const near = IssueMessage.nearest(fromUnknown, ["env", "secretRef", "required"])
    return problem(
      `unknown field valueFrom.${fromUnknown}`,
      near === undefined ? "use env or secretRef" : `did you mean "${near}"?`
    )
  }
  if ("env" in from && "secretRef" in from) {
    return problem("valueFrom.env and valueFrom.secretRef cannot be used together", "keep exactly one of them")
  }
  if ("env" in from) {
    const env = from.env
    if (typeof env !== "string" || !envName.test(env)) {
      return problem(`valueFrom.env must be an environment variable name, got ${show(env)}`, "e.g. env: OPENAI_API_KEY")
    }
    const required = from.required
    if (required !== undefined && typeof required !== "boolean") {
      return problem(`valueFrom.required must be true or false, got ${show(required)}`)
    }
    return Either.right({ _tag: "Env", env, required: required !== false })
  }
  if ("secretRef" in from) {
    if ("required" in from) return problem("valueFrom.required applies to env only")
    const sr = from.secretRef
    if (!isRecord(sr)) {
      return problem(`valueFrom.secretRef must be { ref: "Secret/<name>", key? }, got ${show(sr)}`)
    }
    const extra = Object.keys(sr).find((k) => k !== "ref" && k !== "key")
    if (extra !== undefined) return problem(`unknown field valueFrom.secretRef.${extra}`, "use ref and key")
    const ref = ObjectRef.parse(sr.ref, "Secret")
    if (Either.isLeft(ref)) return problem(`valueFrom.secretRef.ref: ${ref.left.message}`, ref.left.suggestion)
    if (ref.right.kind !== "Secret") {
      return problem(`valueFrom.secretRef.ref must name a Secret, got ${ObjectRef.format(ref.right)}`)
    }
    const key = sr.key
    if (key !== undefined && (typeof key !== "string" || key.trim().length === 0)) {
      return problem(`valueFrom.secretRef.key must be a non-empty string, got ${show(key)}`)
    }
    return Either.right({ _tag: "Secret", secret: ref.right.name, key: key === undefined ? undefined : key.trim() })
  }
  return problem("valueFrom needs env or secretRef", "e.g. valueFrom: { env: OPENAI_API_KEY }")
}

/**
 * The schema of a value source field (decodes to {@link ValueSource}).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ValueSource } from "effect-swarm"
 * Schema.decodeUnknownSync(ValueSource.ValueSource)({ valueFrom: { env: "HOME" } })
 * // { _tag: "Env", env: "HOME", required: true }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const ValueSource: Schema.Schema<ValueSource, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ValueSource>,
  {
    strict: true,
    decode: (input, _, ast) => {
      const parsed = parse(input)
      return Either.isLeft(parsed) ?
        ParseResult.fail(new ParseResult.Type(ast, input, parsed.left)) :
        ParseResult.succeed(parsed.right)
    },
    encode: (v) => ParseResult.succeed(v)
  }
).annotations({ identifier: "ValueSource" })

/**
 * A value could not be resolved: a required environment variable or secret is missing or blank.
 *
 * @since 0.1.0
 * @category errors
 */
export class ValueSourceError extends Schema.TaggedError<ValueSourceError>("effect-swarm/ValueSourceError")(
  "ValueSourceError",
  { field: Schema.String, tried: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `no value for ${this.field}: set one of ${this.tried.join(", ")}`
  }
}

const token = (s: string): string => s.trim().replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "").toUpperCase()

/**
 * The environment variables a secret is looked up in, in order (the reference runtime's scheme):
 * `EFFECT_SWARM_SECRET_<SECRET>_<KEY>`, `..._<FIELD>`, `EFFECT_SWARM_SECRET_<SECRET>`, then the same
 * with `GOONDAN_SECRET_` and `SECRET_`.
 *
 * @example
 * ```ts
 * import { ValueSource } from "effect-swarm"
 * ValueSource.secretCandidates("slack", "bot-token", "token")
 * // ["EFFECT_SWARM_SECRET_SLACK_BOT_TOKEN", "EFFECT_SWARM_SECRET_SLACK_TOKEN", "EFFECT_SWARM_SECRET_SLACK", "GOONDAN_SECRET_SLACK_BOT_TOKEN", ...]
 * ```
 *
 * @since 0.1.0
 * @category resolving
 */
export const secretCandidates = (secret: string, key: string | undefined, field: string): Array<string> => {
  const s = token(secret)
  const names: Array<string> = []
  for (const prefix of ["EFFECT_SWARM_SECRET_", "GOONDAN_SECRET_", "SECRET_"]) {
    if (key !== undefined) names.push(`${prefix}${s}_${token(key)}`)
    names.push(`${prefix}${s}_${token(field)}`, `${prefix}${s}`)
  }
  return [...new Set(names)]
}

/**
 * Resolves a value through effect `Config` (so `ConfigProvider.fromMap` drives it in tests). Blank
 * values count as missing. An optional environment value that is unset resolves to `None`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ValueSource } from "effect-swarm"
 * ValueSource.resolve({ _tag: "Env", env: "OPENAI_API_KEY", required: true }, "Model/gpt.apiKey")
 * ```
 *
 * @since 0.1.0
 * @category resolving
 */
export const resolve = (
  source: ValueSource,
  field: string
): Effect.Effect<Option.Option<string>, ValueSourceError> => {
  if (source._tag === "Value") return Effect.succeed(Option.some(source.value))
  const names = source._tag === "Env" ? [source.env] : secretCandidates(source.secret, source.key, field)
  return Effect.gen(function*() {
    for (const name of names) {
      const value = yield* Config.option(Config.string(name)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      if (Option.isSome(value) && value.value.trim().length > 0) return value
    }
    if (source._tag === "Env" && !source.required) return Option.none()
    return yield* new ValueSourceError({ field, tried: names })
  })
}
