/**
 * W3C-compatible trace context: 32-hex trace ids, 16-hex span ids, `traceparent` headers, and the
 * link between our runtime events and Effect's tracer.
 *
 * A turn started by another agent or by a tool continues its caller's trace: the caller's span is the
 * parent of the turn span (the reference minted a fresh, non-W3C trace id per turn and lost the link).
 * The pipeline opens every turn, step and tool-call span through Effect's tracer (`Effect.useSpan`)
 * and copies the ids into the runtime events, so an OpenTelemetry exporter, when a user adds one,
 * sees the same tree as the event log.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"

/**
 * A trace id: 32 lowercase hex characters, not all zero.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TraceId = Schema.String.pipe(
  Schema.pattern(/^(?!0{32})[0-9a-f]{32}$/),
  Schema.annotations({ identifier: "TraceId", description: "32 lowercase hex characters, not all zero" })
)

/**
 * A span id: 16 lowercase hex characters, not all zero.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SpanId = Schema.String.pipe(
  Schema.pattern(/^(?!0{16})[0-9a-f]{16}$/),
  Schema.annotations({ identifier: "SpanId", description: "16 lowercase hex characters, not all zero" })
)

/**
 * Where one unit of work sits in a trace: its own span, the trace it belongs to and its parent span.
 *
 * @since 0.1.0
 * @category models
 */
export interface TraceContext {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string | undefined
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const TraceContext: Schema.Schema<TraceContext> = Schema.Struct({
  traceId: TraceId,
  spanId: SpanId,
  parentSpanId: Schema.optional(SpanId)
}).annotations({ identifier: "TraceContext" })

const traceIdPattern = /^(?!0{32})[0-9a-f]{32}$/
const spanIdPattern = /^(?!0{16})[0-9a-f]{16}$/

/**
 * Whether a string is a valid trace id.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTraceId = (s: string): boolean => traceIdPattern.test(s)

/**
 * Whether a string is a valid span id.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSpanId = (s: string): boolean => spanIdPattern.test(s)

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0")

const nonZero = (id: string): string => /^0+$/.test(id) ? id.slice(0, -1) + "1" : id

// All-zero ids are invalid in W3C trace context, hence `nonZero`.
const randomSpanId: Effect.Effect<string> = Effect.randomWith((random) =>
  Effect.zipWith(random.nextInt, random.nextInt, (a, b) => nonZero(hex8(a) + hex8(b)))
)

const randomTraceId: Effect.Effect<string> = Effect.zipWith(
  randomSpanId,
  randomSpanId,
  (a, b) => nonZero(a + b)
)

/**
 * A fresh trace id from the `Random` service (so `Random.fixed` / `TestRandom` make it deterministic).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trace } from "effect-swarm"
 * const id = Effect.runSync(Trace.makeTraceId) // "4bf92f3577b34da6a3ce929d0e0e4736"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTraceId: Effect.Effect<string> = randomTraceId

/**
 * A fresh span id from the `Random` service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trace } from "effect-swarm"
 * const id = Effect.runSync(Trace.makeSpanId) // "00f067aa0ba902b7"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSpanId: Effect.Effect<string> = randomSpanId

/**
 * A new trace context: a child of `parent` when given (same trace, `parentSpanId` = the parent's span),
 * otherwise the root of a fresh trace.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trace } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const root = yield* Trace.make()
 *   const child = yield* Trace.make(root)
 *   return child.traceId === root.traceId && child.parentSpanId === root.spanId // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (parent?: TraceContext): Effect.Effect<TraceContext> =>
  parent === undefined
    ? Effect.zipWith(makeTraceId, makeSpanId, (traceId, spanId) => ({ traceId, spanId }))
    : Effect.map(makeSpanId, (spanId) => ({ traceId: parent.traceId, spanId, parentSpanId: parent.spanId }))

/**
 * Renders a W3C `traceparent` header (`00-<trace>-<span>-01`), the form in which a trace crosses a
 * process boundary (tool subprocesses, agents in other processes, HTTP).
 *
 * @example
 * ```ts
 * import { Trace } from "effect-swarm"
 * Trace.toTraceparent({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" })
 * // "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toTraceparent = (trace: TraceContext): string => `00-${trace.traceId}-${trace.spanId}-01`

/**
 * Parses a W3C `traceparent` header into the caller's context (its span becomes the parent of whatever
 * continues the trace). Unknown versions are accepted as the spec asks, as long as the ids are valid.
 *
 * @example
 * ```ts
 * import { Trace } from "effect-swarm"
 * Trace.fromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
 * // Option.some({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" })
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromTraceparent = (header: string): Option.Option<TraceContext> => {
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/.exec(header.trim())
  if (match === null || match[1] === "ff") return Option.none()
  const traceId = match[2]!
  const spanId = match[3]!
  if (!isTraceId(traceId) || !isSpanId(spanId)) return Option.none()
  return Option.some({ traceId, spanId })
}

/**
 * The caller's context as an Effect tracer parent, so spans opened under it join the caller's trace
 * in whatever tracer is installed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trace } from "effect-swarm"
 * const parent = Trace.toExternalSpan({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" })
 * const program = Effect.withSpan(Effect.void, "child", { parent })
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toExternalSpan = (trace: TraceContext): Tracer.ExternalSpan =>
  Tracer.externalSpan({ traceId: trace.traceId, spanId: trace.spanId })

/**
 * Opens a span in Effect's tracer, under `parent` when given (an Effect span or a caller's
 * {@link TraceContext}) or else under the current span, and runs `f` with the span's
 * {@link TraceContext} and the span as the parent of everything inside. The ids come from the
 * installed tracer, so the runtime events and an OpenTelemetry export agree.
 *
 * Tracers that do not produce W3C ids (custom test tracers) get W3C ids from `Random` instead, so
 * event ids always validate.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trace } from "effect-swarm"
 * const program = Trace.withSpan("work", undefined, (trace) => Effect.succeed(trace.spanId))
 * ```
 *
 * @since 0.1.0
 * @category tracing
 */
export const withSpan = <A, E, R>(
  name: string,
  parent: Tracer.AnySpan | TraceContext | undefined,
  f: (trace: TraceContext, span: Tracer.Span) => Effect.Effect<A, E, R>,
  attributes?: Record<string, unknown>
): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> => {
  const parentSpan = parent === undefined
    ? undefined
    : "_tag" in parent
    ? parent
    : toExternalSpan(parent)
  const options: Tracer.SpanOptions = parentSpan === undefined
    ? { captureStackTrace: false, attributes }
    : { captureStackTrace: false, attributes, parent: parentSpan }
  return Effect.useSpan(name, options, (span) => {
    const parentSpanId = span.parent._tag === "Some" ? span.parent.value.spanId : undefined
    if (isTraceId(span.traceId) && isSpanId(span.spanId)) {
      const trace: TraceContext = parentSpanId === undefined
        ? { traceId: span.traceId, spanId: span.spanId }
        : { traceId: span.traceId, spanId: span.spanId, parentSpanId }
      return Effect.withParentSpan(f(trace, span), span)
    }
    return Effect.flatMap(
      span.parent._tag === "Some" && isTraceId(span.parent.value.traceId) && isSpanId(span.parent.value.spanId)
        ? make({ traceId: span.parent.value.traceId, spanId: span.parent.value.spanId })
        : make(),
      (trace) => Effect.withParentSpan(f(trace, span), span)
    )
  })
}

/**
 * The span of the current fiber as a {@link TraceContext}, if there is one with W3C ids.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trace } from "effect-swarm"
 * const program = Effect.withSpan(Trace.current, "outer") // Option.some({ traceId, spanId })
 * ```
 *
 * @since 0.1.0
 * @category tracing
 */
export const current: Effect.Effect<Option.Option<TraceContext>> = Effect.map(
  Effect.option(Effect.currentParentSpan),
  (span) =>
    Option.filterMap(span, (s) =>
      isTraceId(s.traceId) && isSpanId(s.spanId)
        ? Option.some({ traceId: s.traceId, spanId: s.spanId })
        : Option.none())
)
