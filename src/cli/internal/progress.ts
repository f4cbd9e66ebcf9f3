/**
 * A spinner on stderr while a turn runs, on a terminal only: it says what the agent is doing (thinking,
 * which tool runs) from the runtime events on the bus, and is erased before the reply prints. Frames
 * advance on a `Schedule` (the `Clock`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as EventBus from "../../event/EventBus.js"
import { statusLine, terminalStderr } from "../Output.js"

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/** @internal */
export const withSpinner = <A, E, R>(label: string, self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const sink = yield* terminalStderr
    if (sink === undefined) return yield* self
    const line = statusLine(sink)
    let text = `${label}: thinking`
    let frame = 0
    const bus = yield* EventBus.EventBus
    return yield* Effect.scoped(Effect.gen(function*() {
      const events = yield* bus.subscribe
      const watcher = yield* Queue.take(events).pipe(
        Effect.tap((e) =>
          Effect.sync(() => {
            if (e.type === "step.started") text = `${label}: thinking (step ${e.stepIndex + 1})`
            else if (e.type === "tool.called") text = `${label}: running ${e.toolName}`
          })
        ),
        Effect.forever,
        Effect.forkScoped
      )
      const ticker = yield* Effect.suspend(() => line.show(`${frames[frame++ % frames.length]} ${text}`)).pipe(
        Effect.repeat(Schedule.spaced("80 millis")),
        Effect.forkScoped
      )
      return yield* self.pipe(
        Effect.ensuring(Effect.zipRight(Fiber.interrupt(ticker), Fiber.interrupt(watcher))),
        Effect.ensuring(line.clear)
      )
    }))
  })
