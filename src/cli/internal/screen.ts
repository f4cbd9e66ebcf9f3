/**
 * What `run` shows while agents work: each tool call as it starts and ends (from the runtime events on
 * the bus, for every instance of the swarm, so a delegated call shows too) and the reply text of the
 * turn as it streams. Tool lines never cut into a streaming line: a line break is written first.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { StepDelta } from "../../agent/internal/write.js"
import { safe } from "../../connector/internal/terminalText.js"
import * as EventBus from "../../event/EventBus.js"

/** Where the screen writes (stdout, or a test's buffer). */
export interface Sink {
  readonly write: (text: string) => void
}

/** @internal */
export const stdout: Sink = { write: (text) => void process.stdout.write(text) }

/** @internal */
export interface Screen {
  /** Writes whole lines (a line break first when a reply is streaming). */
  readonly line: (text: string) => Effect.Effect<void>
  /** Streams reply text of `label`, with a `label> ` prefix at the start of its line. */
  readonly text: (label: string, text: string) => Effect.Effect<void>
  /** Ends a streamed reply (a line break when one is open). */
  readonly endText: Effect.Effect<void>
  /** Whether `label` streamed any text so far. */
  readonly streamed: (label: string) => Effect.Effect<boolean>
  /** The turn deltas of `label` to stream (text only; reasoning and tool-call arguments are not shown). */
  readonly onDelta: (label: string) => (stepIndex: number, part: StepDelta) => Effect.Effect<void>
}

/** @internal */
export const make = (sink: Sink, paint: (code: string, text: string) => string): Screen => {
  let open: string | undefined
  const streamed = new Set<string>()
  const endText = Effect.sync(() => {
    if (open !== undefined) sink.write("\n")
    open = undefined
  })
  const text = (label: string, chunk: string) =>
    Effect.sync(() => {
      if (chunk.length === 0) return
      if (open !== label) {
        if (open !== undefined) sink.write("\n")
        sink.write(`${paint("1", `${label}>`)} `)
        open = label
      }
      // Model text is shown, never obeyed by the terminal (connector/internal/terminalText.ts).
      sink.write(safe(chunk))
      streamed.add(label)
    })
  return {
    line: (line) => Effect.zipRight(endText, Effect.sync(() => sink.write(`${line}\n`))),
    text,
    endText,
    streamed: (label) => Effect.sync(() => streamed.has(label)),
    onDelta: (label) => (_stepIndex, part) => part._tag === "TextDelta" ? text(label, part.text) : Effect.void
  }
}

const suffix = (where: string | undefined) => where === undefined ? "" : ` (${where})`

/**
 * Prints a line per tool call start and end of every instance while the scope is open.
 *
 * @internal
 */
export const showToolCalls = (
  screen: Screen,
  paint: (code: string, text: string) => string,
  where: (toolName: string) => string | undefined
) =>
  Effect.gen(function*() {
    const bus = yield* EventBus.EventBus
    const events = yield* bus.subscribe
    yield* Queue.take(events).pipe(
      Effect.flatMap((e) => {
        const who = safe(`${e.agentName}@${e.instanceKey}`)
        const tool = safe(e.type.startsWith("tool.") && "toolName" in e ? e.toolName : "")
        switch (e.type) {
          case "tool.called":
            return screen.line(paint("2", `  ${who} -> ${tool}${suffix(where(e.toolName))}`))
          case "tool.completed":
            return screen.line(
              paint(
                e.status === "ok" ? "2" : "33",
                `  ${who} <- ${tool} ${e.status}${e.errorCode === undefined ? "" : ` ${safe(e.errorCode)}`} (${
                  Math.round(e.duration)
                } ms)`
              )
            )
          case "tool.failed":
            return screen.line(paint("31", `  ${who} <- ${tool} failed: ${safe(e.errorMessage)}`))
          default:
            return Effect.void
        }
      }),
      Effect.forever,
      Effect.forkScoped
    )
  })
