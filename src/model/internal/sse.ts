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

/** Where the line splitter is between two pieces of text. */
interface Lines {
  /** The start of a line whose end has not arrived yet. */
  rest: string
  /** The last piece ended in `\r`: a `\n` starting the next one belongs to that line end. */
  cr: boolean
}

const lineEnd = /[\r\n]/g

/**
 * The events completed by one piece of text. Lines end at `\r\n`, `\n` or a lone `\r` (the specification's
 * three line ends; `Stream.splitLines` knows only the first two, so a server ending lines with `\r` alone
 * produced no event at all), also when a `\r\n` is split between two pieces.
 */
const piece = (state: State, lines: Lines, text: string): Array<Event> => {
  const out: Array<Event> = []
  let start = 0
  if (lines.cr && text.charCodeAt(0) === 10) start = 1
  lines.cr = false
  lineEnd.lastIndex = start
  for (let match = lineEnd.exec(text); match !== null; match = lineEnd.exec(text)) {
    const end = match.index
    const whole = lines.rest === "" ? text.slice(start, end) : lines.rest + text.slice(start, end)
    lines.rest = ""
    for (const event of line(state, whole)) out.push(event)
    if (text.charCodeAt(end) === 13) {
      if (end + 1 === text.length) lines.cr = true
      else if (text.charCodeAt(end + 1) === 10) lineEnd.lastIndex = end + 2
    }
    start = lineEnd.lastIndex
  }
  if (start < text.length) lines.rest += text.slice(start)
  return out
}

/** Parses a byte stream into events. */
export const events = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Event, E, R> =>
  Stream.suspend(() => {
    const state: State = { event: "", data: [] }
    const lines: Lines = { rest: "", cr: false }
    return bytes.pipe(
      Stream.decodeText(),
      Stream.mapConcat((text) => piece(state, lines, text))
    )
  })
