/**
 * The stream plumbing every HTTP adapter shares: SSE events parsed as JSON, fed to the adapter's event
 * decoder with one accumulator per call, then a `Finish` part, or `ModelUnavailable` when the body ended
 * before the provider said it was done.
 *
 * @internal
 */
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
    return Sse.events(bytes).pipe(
      Stream.mapEffect(step),
      Stream.flattenIterables,
      Stream.concat(Stream.suspend(() =>
        done || options?.finished?.(acc) === true ?
          Stream.succeed<StreamPart>({ _tag: "Finish", response: acc.finish() }) :
          Stream.fail(Http.cutShort(settings))
      ))
    )
  })).pipe(Stream.withSpan("Model.stream"))
