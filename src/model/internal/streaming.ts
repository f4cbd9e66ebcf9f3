/**
 * The stream plumbing every HTTP adapter shares: SSE events parsed as JSON, fed to the adapter's event
 * decoder with one accumulator per call, then a `Finish` part, or `ModelUnavailable` when the body ended
 * before the provider said it was done.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { StreamPart } from "../Model.js"
import type { ModelError } from "../ModelError.js"
import * as A from "./assemble.js"
import * as Http from "./http.js"
import * as Sse from "./sse.js"

/** What an adapter's decoder says about one event: nothing, the end, or an error. */
export type Outcome = ModelError | "done" | undefined

/** Ids for tool calls the provider sent without one: `call_<8 random base36>_<n>`, drawn from `Random`. */
export const fallbackIds: Effect.Effect<(n: number) => string> = Effect.map(
  Effect.randomWith((r) => r.nextIntBetween(0, 36 ** 8)),
  (seed) => {
    const prefix = `call_${seed.toString(36).padStart(8, "0")}_`
    return (n: number) => prefix + n
  }
)

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09

/**
 * What a JSON body where an event stream was asked for says: the error it holds (an endpoint refusing the
 * call with HTTP 200 and `{error: ...}`), else that the endpoint does not stream.
 */
const jsonInstead = (settings: Http.Settings, text: string): ModelError => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  if (typeof json === "object" && json !== null && "error" in json) {
    return Http.fromStatus(settings, Http.errorStatus(json), {}, text, 0)
  }
  return Http.protocolError(
    settings,
    "the endpoint answered a JSON body, not an event stream (text/event-stream): it may not support " +
      "streaming; use generate, or an endpoint that streams",
    text
  )
}

/**
 * The body as it is when it is an event stream; when its first byte that is not white space opens a JSON
 * value (`{` or `[`, which no SSE line starts with), it is read whole (within `maxResponseBytes`) and fails
 * with {@link jsonInstead}: such a body produced no event, and failed as "connection dropped".
 */
const jsonAnswer = <R>(
  settings: Http.Settings,
  bytes: Stream.Stream<Uint8Array, ModelError, R>
): Stream.Stream<Uint8Array, ModelError, R> =>
  Stream.suspend(() => {
    let mode: "unknown" | "sse" | "json" = "unknown"
    const held: Array<Uint8Array> = []
    return bytes.pipe(
      Stream.mapChunks((chunks) => {
        if (mode === "sse") return chunks
        const out: Array<Uint8Array> = []
        for (const chunk of chunks) {
          if (mode === "unknown") {
            const first = chunk.findIndex((b) => !isSpace(b))
            if (first >= 0) mode = chunk[first] === 0x7b || chunk[first] === 0x5b ? "json" : "sse"
          }
          if (mode === "json") held.push(chunk)
          else out.push(chunk)
        }
        return Chunk.unsafeFromArray(out)
      }),
      Stream.concat(Stream.suspend(() => {
        if (mode !== "json") return Stream.empty
        const decoder = new TextDecoder()
        let text = ""
        for (const chunk of held) text += decoder.decode(chunk, { stream: true })
        return Stream.fail(jsonInstead(settings, text + decoder.decode()))
      }))
    )
  })

/**
 * Decodes an SSE body. `doneData` is a data line that ends the stream (`[DONE]`); `finished` says
 * whether the accumulated state counts as complete when the body ends without an explicit end.
 */
export const decode = <R>(
  settings: Http.Settings,
  bytes: Stream.Stream<Uint8Array, ModelError, R>,
  onEvent: (acc: A.Accumulator, event: unknown, out: Array<StreamPart>, now: number) => Outcome,
  options?: { readonly doneData?: string; readonly finished?: (acc: A.Accumulator) => boolean }
): Stream.Stream<StreamPart, ModelError, R> =>
  Stream.unwrap(Effect.map(Effect.zip(fallbackIds, Effect.clockWith((c) => c.currentTimeMillis)), ([ids, now]) => {
    const acc = new A.Accumulator(settings.provider, ids)
    let done = false
    const step = (event: Sse.Event): Effect.Effect<Array<StreamPart>, ModelError> => {
      if (done) return Effect.succeed([])
      if (options?.doneData !== undefined && event.data.trim() === options.doneData) {
        done = true
        return Effect.succeed([])
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(event.data)
      } catch {
        return Effect.fail(Http.protocolError(settings, "a stream event is not JSON", event.data))
      }
      const out: Array<StreamPart> = []
      const outcome = onEvent(acc, parsed, out, now)
      if (outcome === "done") done = true
      else if (outcome !== undefined) return Effect.fail(outcome)
      return Effect.succeed(out)
    }
    return Sse.events(jsonAnswer(settings, bytes)).pipe(
      Stream.mapEffect(step),
      Stream.flattenIterables,
      Stream.concat(Stream.suspend(() =>
        done || options?.finished?.(acc) === true ?
          Stream.succeed<StreamPart>({ _tag: "Finish", response: acc.finish() }) :
          Stream.fail(Http.cutShort(settings))
      ))
    )
  })).pipe(Stream.withSpan("Model.stream"))
