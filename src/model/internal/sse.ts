/**
 * Server-sent events (the WHATWG `text/event-stream` format): lines of `field: value`, events separated
 * by a blank line, `data` lines joined with `\n`, comment lines (`: keep-alive`, OpenRouter's
 * `: OPENROUTER PROCESSING`) ignored, `\n`, `\r\n` and `\r` line ends. As the specification says, an event
 * still incomplete when the body ends is discarded (a connection cut mid-event never yields half a chunk).
 *
 * @internal
 */
import * as Stream from "effect/Stream"

/** One event. */
export interface Event {
  readonly event: string
  readonly data: string
}

interface State {
  event: string
  data: Array<string>
}

const flush = (state: State): Array<Event> => {
  if (state.data.length === 0) {
    state.event = ""
    return []
  }
  const out: Event = { event: state.event === "" ? "message" : state.event, data: state.data.join("\n") }
  state.event = ""
  state.data = []
  return [out]
}

const line = (state: State, text: string): Array<Event> => {
  if (text === "") return flush(state)
  if (text.charCodeAt(0) === 58 /* ":" */) return []
  const colon = text.indexOf(":")
  const field = colon < 0 ? text : text.slice(0, colon)
  let value = colon < 0 ? "" : text.slice(colon + 1)
  if (value.charCodeAt(0) === 32) value = value.slice(1)
  if (field === "data") state.data.push(value)
  else if (field === "event") state.event = value
  return []
}

/** Parses a byte stream into events. */
export const events = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Event, E, R> =>
  Stream.suspend(() => {
    const state: State = { event: "", data: [] }
    return bytes.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.mapConcat((text) => line(state, text))
    )
  })
