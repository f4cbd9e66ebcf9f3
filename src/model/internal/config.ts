/**
 * Reading a Model resource: `spec.options`, the API key (through `ValueSource`, or the provider's
 * default environment variable), the endpoint. Every problem is a `ModelConfigError` naming the field.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parseDuration } from "../../resource/Resource.js"
import * as ValueSource from "../../resource/ValueSource.js"
import type { ModelResource } from "../Model.js"
import { ModelConfigError } from "../ModelError.js"
import * as Http from "./http.js"

/** The providers `Model.layer` knows (`effect-ai` goes through `EffectAi.layer`). */
export const knownProviders = ["openai-compatible", "openai", "anthropic", "effect-ai", "scripted"] as const

export const defaultEndpoints: Record<string, string> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com/v1"
}

export const defaultKeyEnv: Record<string, string> = { openai: "OPENAI_API_KEY", anthropic: "ANTHROPIC_API_KEY" }

export const configError = (resource: ModelResource, field: string, detail: string, suggestion?: string) =>
  new ModelConfigError({
    model: resource.metadata.name,
    field,
    detail,
    ...(suggestion === undefined ? {} : { suggestion })
  })

/**
 * `spec.options`: `maxRetries` (integer >= 0), `timeout` (per attempt / between stream chunks) and
 * `totalTimeout` (a whole call), each milliseconds or a duration such as "90 seconds", `headers`.
 */
/** A duration option as written: milliseconds, `60s`, or Effect's `"60 seconds"`; `undefined` when neither. */
const durationOf = (value: unknown): Duration.Duration | undefined =>
  parseDuration(value) ?? (typeof value === "string" ? Option.getOrUndefined(Duration.decodeUnknown(value)) : undefined)

export const readOptions = (resource: ModelResource) =>
  Effect.gen(function*() {
    const options = resource.spec.options ?? {}
    let maxRetries: number = Http.defaults.maxRetries
    let timeout: Duration.Duration = Http.defaults.timeout
    const headers: Record<string, string> = {}
    const retries = options.maxRetries
    if (retries !== undefined) {
      if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0 || retries > 20) {
        return yield* configError(
          resource,
          "spec.options.maxRetries",
          `expected an integer within 0..20, got ${JSON.stringify(retries)}`
        )
      }
      maxRetries = retries
    }
    const t = options.timeout
    if (t !== undefined) {
      const decoded = durationOf(t)
      if (decoded === undefined || !Duration.greaterThan(decoded, Duration.zero)) {
        return yield* configError(
          resource,
          "spec.options.timeout",
          `expected a positive duration, got ${JSON.stringify(t)}`,
          "write milliseconds (60000) or a duration such as \"60 seconds\" or \"60s\""
        )
      }
      timeout = decoded
    }
    let totalTimeout: Duration.Duration | undefined
    const total = options.totalTimeout
    if (total !== undefined) {
      const decoded = durationOf(total)
      if (decoded === undefined || !Duration.greaterThan(decoded, Duration.zero) || !Duration.isFinite(decoded)) {
        return yield* configError(
          resource,
          "spec.options.totalTimeout",
          `expected a positive duration, got ${JSON.stringify(total)}`,
          "write milliseconds (3600000) or a duration such as \"60 minutes\"; it bounds a whole call, a stream included"
        )
      }
      totalTimeout = decoded
    }
    const h = options.headers
    if (h !== undefined) {
      if (typeof h !== "object" || h === null || Array.isArray(h)) {
        return yield* configError(resource, "spec.options.headers", "expected a map of header names to strings")
      }
      for (const [k, v] of Object.entries(h)) {
        if (typeof v !== "string") {
          return yield* configError(
            resource,
            `spec.options.headers.${k}`,
            `expected a string, got ${JSON.stringify(v)}`
          )
        }
        headers[k.toLowerCase()] = v
      }
    }
    return { maxRetries, timeout, totalTimeout, headers }
  })

export const resolveKey = (resource: ModelResource) =>
  Effect.gen(function*() {
    const provider = resource.spec.provider
    const source = resource.spec.apiKey
    if (source === undefined) {
      const env = defaultKeyEnv[provider]
      if (env === undefined) return { key: undefined, hint: "no key configured" }
      const value = yield* Config.option(Config.string(env)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      if (Option.isSome(value) && value.value.trim() !== "") {
        return { key: Redacted.make(value.value.trim()), hint: env }
      }
      return yield* configError(
        resource,
        "spec.apiKey",
        `no API key: spec.apiKey is not set and ${env} is empty`,
        `export ${env}=... or set spec.apiKey: { valueFrom: { env: ${env} } }`
      )
    }
    const hint = source._tag === "Env"
      ? source.env
      : source._tag === "Secret"
      ? `secret ${source.secret}`
      : "spec.apiKey.value"
    const value = yield* ValueSource.resolve(source, "apiKey").pipe(
      Effect.mapError((e) =>
        configError(
          resource,
          "spec.apiKey",
          `no API key: ${e.tried.join(", ")} ${e.tried.length === 1 ? "is" : "are"} not set`,
          `export ${e.tried[0]}=...`
        )
      )
    )
    return { key: Option.isSome(value) ? Redacted.make(value.value.trim()) : undefined, hint }
  })

/** `spec.price`: `inputPerMillion` and `outputPerMillion` numbers >= 0, `currency` only `USD`. */
export const readPrice = (resource: ModelResource) =>
  Effect.gen(function*() {
    const price: unknown = resource.spec.price
    if (price === undefined) return undefined
    if (typeof price !== "object" || price === null || Array.isArray(price)) {
      return yield* configError(
        resource,
        "spec.price",
        `expected a mapping, got ${JSON.stringify(price)}`,
        "price: { inputPerMillion: 0.4, outputPerMillion: 1.6 }"
      )
    }
    const record = price as { readonly [key: string]: unknown }
    for (const key of ["inputPerMillion", "outputPerMillion"] as const) {
      const value = record[key]
      if (!(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
        return yield* configError(
          resource,
          `spec.price.${key}`,
          `expected a number >= 0 (US dollars per million tokens), got ${
            typeof value === "number" ? String(value) : JSON.stringify(value) ?? "nothing"
          }`,
          `${key}: 0.4`
        )
      }
    }
    if (record.currency !== undefined && record.currency !== "USD") {
      return yield* configError(
        resource,
        "spec.price.currency",
        `expected "USD", got ${JSON.stringify(record.currency)}`,
        "currency: USD, or leave it out"
      )
    }
    return {
      inputPerMillion: record.inputPerMillion as number,
      outputPerMillion: record.outputPerMillion as number,
      ...(record.currency === "USD" ? { currency: "USD" as const } : {})
    }
  })
