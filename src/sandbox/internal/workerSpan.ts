/**
 * The sandboxed tool's own span. The host sends the tool-call span's W3C `traceparent` with the call;
 * the worker times the tool function (`performance.now()`, monotonic) and reports the duration as `ms`
 * in its `result` or `threw` frame; the host then records `effect-swarm.sandbox.worker`, a child of
 * that span, in whatever tracer is installed (with `Observability.layer`, OpenTelemetry).
 *
 * The span's length is the worker's measurement, not a host clock difference; it is placed to end when
 * the frame arrived (host `Clock`), and never before the host started waiting for the outcome, so
 * under `TestClock` it still has the worker's duration.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Trace from "../../event/Trace.js"
import type { ToolRuntimeError } from "../ToolRuntimeError.js"
import type * as WorkerProcess from "../WorkerProcess.js"

/** The name of the span recorded for the tool function's run inside the worker. @internal */
export const name = "effect-swarm.sandbox.worker"

// A worker reporting more than a day is lying or broken: no span rather than a nonsense one.
const maxMillis = 86_400_000

/** The reported duration of a frame in nanoseconds, when it is a plausible one. */
const reported = (frame: WorkerProcess.Frame): bigint | undefined => {
  const ms = frame.ms
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 && ms <= maxMillis
    ? BigInt(Math.round(ms * 1_000_000))
    : undefined
}

/**
 * Records the worker's span for one call outcome, when the call's origin carried a traceparent and the
 * frame a duration. `since` is the host clock (ns) when it started waiting for the outcome.
 *
 * @internal
 */
export const record = (
  origin: { readonly traceparent?: string | undefined } | undefined,
  info: { readonly toolId: string; readonly runtimeType: string },
  frame: WorkerProcess.Frame,
  since: bigint,
  failure?: ToolRuntimeError
): Effect.Effect<void> => {
  const traceparent = origin?.traceparent
  const parent = traceparent === undefined ? Option.none() : Trace.fromTraceparent(traceparent)
  const duration = reported(frame)
  if (Option.isNone(parent) || duration === undefined) return Effect.void
  return Effect.tracerWith((tracer) =>
    Effect.clockWith((clock) =>
      Effect.sync(() => {
        const arrived = clock.unsafeCurrentTimeNanos()
        const start = arrived - duration < since ? since : arrived - duration
        const span = tracer.span(
          name,
          Option.some(Trace.toExternalSpan(parent.value)),
          Context.empty(),
          [],
          start,
          "internal",
          { attributes: {} }
        )
        span.attribute("effect_swarm.sandbox.export", info.toolId)
        span.attribute("process.runtime.name", info.runtimeType)
        if (failure !== undefined) {
          span.attribute("error.type", failure._tag === "ToolThrew" ? failure.name : failure._tag)
        }
        span.end(start + duration, failure === undefined ? Exit.void : Exit.fail(failure))
      })
    )
  )
}
