/**
 * The machinery shared by the pipeline's three runs (turn, step, tool call): the onion runner, the span
 * or ids a run gets, the clock read once per run, and the common head and end of its runtime events.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Tracer from "effect/Tracer"
import type { RuntimeEvent, TokenUsage } from "../../event/RuntimeEvent.js"
import * as Trace from "../../event/Trace.js"
import type { ExecutionContext, Kind, RuntimeInfo, StepResult } from "../Middleware.js"
import { type CallerContext, currentCaller } from "./agentsApi.js"
import { NextCalledTwiceError, type PipelineError } from "./errors.js"
import * as GenAi from "./genAi.js"

/** A registered middleware, erased to one shape for the runner. @internal */
export interface Registered {
  readonly middleware: (ctx: any, next: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>
  readonly priority: number
  readonly order: number
  readonly name: string
}

/**
 * Runs `core` inside the middlewares of `list` (outermost first); `next` runs the rest at most once.
 * Called when the run starts (see {@link running}): the outermost middleware is called right away, and
 * `core` when the innermost one runs its `next` (or right away without middlewares), so what the
 * middlewares did to the context before that is what `core` sees, with no `suspend` of its own.
 *
 * @internal
 */
export const runOnion = <A, E, R>(
  kind: Kind,
  list: ReadonlyArray<Registered>,
  ctx: unknown,
  core: () => Effect.Effect<A, E, R>
): Effect.Effect<A, E | PipelineError, R> => {
  const dispatch = (i: number): Effect.Effect<A, E | PipelineError, R> => {
    if (i === list.length) return core()
    const entry = list[i]!
    let called = false
    const next = Effect.suspend(() => {
      if (called) return Effect.fail(new NextCalledTwiceError({ kind, middleware: entry.name }))
      called = true
      return dispatch(i + 1)
    })
    return entry.middleware(ctx, next)
  }
  return dispatch(0)
}

/** Who is calling, as agents API calls made inside a run read it. @internal */
const callerOf = (ctx: ExecutionContext & { readonly runtime: RuntimeInfo }) => ({
  agentName: ctx.agentName,
  instanceKey: ctx.instanceKey,
  turnId: ctx.turnId,
  trace: ctx.trace,
  callChain: ctx.runtime.call?.callStack ?? []
})

// Effect's default tracer: spans in it are not exported anywhere.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0")

const maxErrorMessage = 2000

/** The readable message of a failed run (`interrupted`, or the error's message, truncated). @internal */
export const errorMessageOf = (cause: Cause.Cause<unknown>): string => {
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  const error = Cause.squash(cause)
  let message: string
  if (error instanceof Error) {
    message = error.message.length > 0 ? error.message : String((error as { _tag?: unknown })._tag ?? error.name)
  } else {
    message = typeof error === "string" ? error : String(error)
  }
  return message.length > maxErrorMessage ? message.slice(0, maxErrorMessage) + "... (truncated)" : message
}

/** A step's token usage, from the result or (as in the reference) `metadata["runtime.tokenUsage"]`. @internal */
export const tokenUsageOf = (result: StepResult): TokenUsage | undefined => {
  if (result.tokenUsage !== undefined) return result.tokenUsage
  const u = result.metadata["runtime.tokenUsage"] as Record<string, unknown> | undefined
  if (
    u !== null && typeof u === "object" && typeof u.promptTokens === "number" &&
    typeof u.completionTokens === "number" && typeof u.totalTokens === "number"
  ) {
    return { promptTokens: u.promptTokens, completionTokens: u.completionTokens, totalTokens: u.totalTokens }
  }
  return undefined
}

/** @internal */
export const addUsage = (a: TokenUsage | undefined, b: TokenUsage): TokenUsage =>
  a === undefined ? b : {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens
  }

// Events of one run mostly share a millisecond: format each millisecond once.
let isoMillis = Number.NaN
let isoText = ""
/** A millisecond as ISO text, formatted once per millisecond. @internal */
export const isoAt = (millis: number): string => {
  if (millis !== isoMillis) {
    isoMillis = millis
    isoText = new Date(millis).toISOString()
  }
  return isoText
}

/**
 * The fields every runtime event of a run starts with: its type, when, who, and the run's W3C ids
 * (spread first, so that building the event is a fast object clone).
 *
 * @internal
 */
export const head = <T extends RuntimeEvent["type"]>(type: T, ctx: ExecutionContext, millis: number) => ({
  type,
  timestamp: isoAt(millis),
  agentName: ctx.agentName,
  instanceKey: ctx.instanceKey,
  turnId: ctx.turnId,
  traceId: ctx.trace.traceId,
  spanId: ctx.trace.spanId,
  parentSpanId: ctx.trace.parentSpanId
})

/** Where a run's span hangs: a span of the tracer, or ids alone. @internal */
export type Parent = Tracer.AnySpan | Trace.TraceContext | undefined

/**
 * What a run's body gets: its ids and span, the clock (read once per run), its start time, and whether
 * its span records contents (only ever true on a real span).
 *
 * @internal
 */
export interface Run {
  readonly trace: Trace.TraceContext
  readonly span: Tracer.AnySpan
  readonly clock: Clock.Clock
  readonly start: number
  readonly capture: boolean
  /** The fiber the run started on (its body runs on it: {@link running} sets the caller on it). */
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
}

// Child span ids take one random word each from a batch filled by the platform's CSPRNG (refilled every
// 256 ids), not from Effect's `Random` service: that was an Effect operation and a flatMap per run.
const words = new Uint32Array(256)
let wordAt = words.length
const randomWord = (): number => {
  if (wordAt === words.length) {
    globalThis.crypto.getRandomValues(words)
    wordAt = 0
  }
  return words[wordAt++]!
}

/**
 * Opens runs for one pipeline. `tracerSpans` decides whether a run is a span of Effect's tracer (see
 * `Pipeline.Options`) or only gets ids. A root run without a tracer takes its trace from `Trace.make`
 * (Effect's `Random`, so `TestRandom` fixes it); child ids without a tracer are one random word (from a
 * CSPRNG batch) and a per-pipeline counter, unique within the pipeline and random across pipelines, and
 * cost no Effect operation.
 *
 * @internal
 */
export const runner = (tracerSpans: boolean | "auto") => {
  let spanCounter = 0

  const childOf = (parent: Trace.TraceContext): Trace.TraceContext => {
    const word = randomWord()
    spanCounter = (spanCounter + 1) >>> 0
    const spanId = hex8(word) + hex8(spanCounter === 0 && word === 0 ? 1 : spanCounter)
    return { traceId: parent.traceId, spanId, parentSpanId: parent.spanId }
  }

  /**
   * Runs `body` as the run `name` under `parent()` (read when the run starts), with one lookup of the
   * default services (clock, tracer) per run. Without a tracer, a child run's body is called right away:
   * no Effect operation of its own beyond the one that reads the fiber.
   */
  return <A, E, R>(
    name: string,
    parent: () => Parent,
    body: (run: Run) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
    Effect.withFiberRuntime<A, E, Exclude<R, Tracer.ParentSpan>>((fiber) => {
      const services = fiber.getFiberRef(DefaultServices.currentServices)
      const clock = Context.get(services, Clock.Clock)
      const at = parent()
      const real = tracerSpans === true ||
        // "auto": Effect's built-in tracer records nothing, so spans in it would cost without being seen.
        (tracerSpans === "auto" && Context.get(services, Tracer.Tracer) !== nativeTracer)
      const start = (trace: Trace.TraceContext, span: Tracer.AnySpan) =>
        body({
          trace,
          span,
          clock,
          start: clock.unsafeCurrentTimeMillis(),
          capture: span._tag === "Span" && fiber.getFiberRef(GenAi.captureContent),
          fiber
        })
      if (real) return Trace.withSpan(name, at, (trace, span) => Effect.suspend(() => start(trace, span)))
      const parentTrace = at === undefined
        ? undefined
        : "_tag" in at
        ? { traceId: at.traceId, spanId: at.spanId }
        : at
      // Without a tracer nothing reads `Tracer.ParentSpan` from the body's context.
      if (parentTrace === undefined) {
        return Effect.flatMap(Trace.make(), (trace) => start(trace, Trace.toExternalSpan(trace))) as Effect.Effect<
          A,
          E,
          Exclude<R, Tracer.ParentSpan>
        >
      }
      const trace = childOf(parentTrace)
      return start(trace, Trace.toExternalSpan(trace)) as Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>>
    })
}

/**
 * Sets a fiber ref of the running fiber in place, without an Effect operation: `FiberRuntime#setFiberRef`
 * is what `FiberRef.set` itself calls (the public `RuntimeFiber` type does not list it). Falls back to
 * `FiberRef.set` if a runtime lacks it.
 */
type Settable = { readonly setFiberRef?: <X>(ref: FiberRef.FiberRef<X>, value: X) => void }
const setCaller = (fiber: unknown, value: CallerContext | undefined): Effect.Effect<void> | undefined => {
  const settable = fiber as Settable
  if (typeof settable.setFiberRef !== "function") return FiberRef.set(currentCaller, value)
  settable.setFiberRef(currentCaller, value)
  return undefined
}

/**
 * Runs a run's onion between its start and its end, in one uninterruptible frame: `started` (its start
 * event) first; then the onion (`onion()`, see {@link runOnion}), interruptible, with the agents API's
 * caller set to the run's context (calls made inside a run, by middlewares or tools, read who is calling,
 * from which span and through which chain, from the fiber instead of trusting their arguments) and
 * restored after it; then the GenAI attributes of its span from the exit (only on a real span) and its end
 * event, built from the exit, the time it ended and its duration. The start, caller and end cost no Effect
 * operations of their own (a `locally` and an `onExit` per run cost about a tenth of a step): the caller is
 * set in place on the run's fiber (see `setCaller`; the mask runs on the fiber the run started on), the
 * end runs in the frame's continuation. A middleware that throws instead of returning an effect fails the
 * run with that defect, as one that throws inside its effect does.
 *
 * @internal
 */
export const running = <A, E>(
  run: Run,
  ctx: ExecutionContext & { readonly runtime: RuntimeInfo },
  started: () => void,
  attributes: (exit: Exit.Exit<A, E>) => void,
  event: (exit: Exit.Exit<A, E>, end: number, duration: number) => void
) =>
<R>(onion: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) => {
    const fiber = run.fiber
    started()
    const previous = fiber.getFiberRef(currentCaller)
    const end = (exit: Exit.Exit<A, E>): Effect.Effect<A, E> => {
      if (run.span._tag === "Span") attributes(exit)
      const millis = run.clock.unsafeCurrentTimeMillis()
      event(exit, millis, millis - run.start)
      const reset = setCaller(fiber, previous)
      return reset === undefined ? exit : Effect.zipRight(reset, exit)
    }
    const set = setCaller(fiber, callerOf(ctx))
    let body: Effect.Effect<A, E, R>
    if (set === undefined) {
      try {
        body = restore(onion())
      } catch (defect) {
        body = Effect.die(defect)
      }
    } else {
      body = Effect.zipRight(set, restore(Effect.suspend(onion)))
    }
    return Effect.matchCauseEffect(body, {
      onFailure: (cause) => end(Exit.failCause(cause)),
      onSuccess: (value) => end(Exit.succeed(value))
    })
  })

/** The event a run publishes, given the run's success value or failure. @internal */
export const endEvent = <A>(
  exit: Exit.Exit<A, unknown>,
  completed: (value: A) => RuntimeEvent,
  failed: (errorMessage: string) => RuntimeEvent
): RuntimeEvent => Exit.isSuccess(exit) ? completed(exit.value) : failed(errorMessageOf(exit.cause))
