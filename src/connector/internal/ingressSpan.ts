/**
 * The connector ingress span: one `effect-swarm.connector.ingress` span per inbound event handed to the
 * Orchestrator, the parent of the turn it starts (passed on as the turn's `parentTrace`). It continues the
 * inbound request's server span when there is one (the http connector's requests get one from the platform,
 * which honours an incoming `traceparent` header); otherwise each event starts a trace of its own, so a
 * long-running connector does not gather every turn under one span.
 *
 * Opened only when a tracer is installed (an OpenTelemetry layer): with Effect's built-in tracer, which
 * records nothing, turns keep no parent, as before.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type * as Trace from "../../event/Trace.js"

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** @internal */
export const name = "effect-swarm.connector.ingress"

/** What the span says about the event. @internal */
export interface Info {
  readonly connection: string
  readonly connector: string
  readonly event: string
  readonly agentName: string
  readonly instanceKey: string
  /** `emit` (fire and forget), `submit` (accepted, answered later) or `request` (waits for the reply). */
  readonly mode: "emit" | "submit" | "request"
}

/**
 * Runs `f` inside the ingress span (when a tracer is installed), giving it the span's ids for the turn.
 *
 * @internal
 */
export const around = <A, E, R>(
  info: Info,
  f: (parent: Trace.TraceContext | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) =>
    tracer === nativeTracer ? f(undefined) : Effect.flatMap(Effect.option(Effect.currentParentSpan), (current) => {
      const server = Option.filter(current, (span) => span._tag === "Span" && span.kind === "server")
      return Effect.useSpan(name, {
        kind: Option.isSome(server) ? "internal" : "server",
        ...(Option.isSome(server) ? { parent: server.value } : { root: true }),
        captureStackTrace: false,
        attributes: {
          "effect_swarm.connection": info.connection,
          "effect_swarm.connector": info.connector,
          "effect_swarm.ingress.event": info.event,
          "effect_swarm.ingress.mode": info.mode,
          "gen_ai.agent.name": info.agentName,
          "effect_swarm.instance": `${info.agentName}@${info.instanceKey}`
        }
      }, (span) => f({ traceId: span.traceId, spanId: span.spanId }))
    })
  )
