/**
 * Token counts as a provider reports them are external input: a negative, non-finite or absurd count
 * (beyond 2^53) would lower or blow a turn's `maxTokens` budget and corrupt the token metrics. Every
 * service built here goes through {@link guard}: such a count is counted as 0 (an invalid total is the sum
 * of valid input and output counts) and reported once per response with a warning naming the provider, the
 * field and the value.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Response, Service, StreamPart, Usage } from "../Model.js"

const valid = (n: unknown): n is number =>
  typeof n === "number" && Number.isFinite(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER

/** `usage` with every invalid count as 0, and what was invalid (`field=value`). */
export const sanitize = (usage: Usage): { readonly usage: Usage; readonly invalid: ReadonlyArray<string> } => {
  const invalid: Array<string> = []
  const out: { -readonly [K in keyof Usage]: number } = {}
  for (const key of Object.keys(usage) as Array<keyof Usage>) {
    const value = usage[key]
    if (value === undefined) continue
    if (valid(value)) out[key] = value
    else {
      invalid.push(`${key}=${String(value)}`)
      out[key] = 0
    }
  }
  if (
    invalid.some((i) => i.startsWith("totalTokens=")) && valid(usage.inputTokens) && valid(usage.outputTokens)
  ) out.totalTokens = usage.inputTokens + usage.outputTokens
  return { usage: invalid.length === 0 ? usage : out, invalid }
}

const report = (provider: string, invalid: ReadonlyArray<string>) =>
  Effect.logWarning("the model reported invalid token counts; each is counted as 0").pipe(
    Effect.annotateLogs({ provider, counts: invalid.join(", ") })
  )

const checked = (provider: string, response: Response): Effect.Effect<Response> => {
  const { invalid, usage } = sanitize(response.usage)
  return invalid.length === 0 ? Effect.succeed(response) : Effect.as(report(provider, invalid), { ...response, usage })
}

/** A `Usage` part without a report (the `Finish` part reports the response's counts once). */
const checkedPart = (part: StreamPart): StreamPart => {
  if (part._tag !== "Usage") return part
  const { invalid, usage } = sanitize(part.usage)
  return invalid.length === 0 ? part : { _tag: "Usage", usage }
}

/** The service with every response's and stream part's token counts checked. */
export const guard = (service: Service): Service => ({
  ...service,
  generate: (request) => Effect.flatMap(service.generate(request), (r) => checked(service.provider, r)),
  stream: (request) =>
    Stream.mapChunksEffect(
      service.stream(request),
      (parts) =>
        Chunk.some(parts, (p) => p._tag === "Usage" || p._tag === "Finish") ?
          Effect.forEach(parts, (p) =>
            p._tag === "Finish" ?
              Effect.map(
                checked(service.provider, p.response),
                (response): StreamPart => ({ _tag: "Finish", response })
              ) :
              Effect.succeed(checkedPart(p))).pipe(Effect.map(Chunk.fromIterable)) :
          Effect.succeed(parts)
    )
})
