/**
 * The middleware pipeline: a registry of `turn`, `step` and `toolCall` middlewares and the onion runner
 * that wraps each turn, step and tool call, emitting the runtime events of every run.
 *
 * Guarantees (goondan P1-P11, with the reference's defects fixed):
 * - lower `priority` is outer, ties keep registration order; each run takes a snapshot of its
 *   registry at the start, so registrations made during a run do not affect it;
 * - `next` runs the rest of the onion at most once (a second run fails with
 *   `NextCalledTwiceError`); a middleware may skip `next` or transform its result;
 * - every run emits its events with W3C ids forming the tree turn > step > tool, and a turn continues
 *   its caller's trace when given `parentTrace`; when a tracer is installed (an OpenTelemetry layer),
 *   every run is also a span in it with the same ids (option `tracerSpans`);
 * - `tool.completed` is emitted for every result, including `status: "error"`, `tool.failed` only
 *   when the run fails; token usage of steps is summed into `turn.completed`;
 * - `step.started` is emitted when the step middlewares have run and the core starts, so its
 *   `llmInputMessages` is what the model gets (a step that never reaches the core emits it, without
 *   the summary, just before its end event);
 * - interruption is structural: interrupting a turn interrupts its steps and tool calls, and every
 *   interrupted run still emits its `*.failed` event (`errorMessage: "interrupted"`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Tracer from "effect/Tracer"
import { EventBus } from "../event/EventBus.js"
import type { LlmInputMessage, RuntimeEvent, TokenUsage } from "../event/RuntimeEvent.js"
import * as Trace from "../event/Trace.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"
import type { ToolCallResult } from "../tool/ToolExecutor.js"
import * as GenAi from "./internal/genAi.js"
import * as LlmInput from "./LlmInput.js"
import type {
  AgentsApi,
  ConversationState,
  InputEvent,
  Kind,
  MiddlewareOf,
  PipelineError,
  RegisterOptions,
  RuntimeInfo,
  StepContext,
  StepResult,
  ToolCallContext,
  TurnContext,
  TurnResult
} from "./Middleware.js"
import { agentsUnavailable, currentCaller, NextCalledTwiceError } from "./Middleware.js"

// ---------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------

/**
 * What starts a turn.
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnInput {
  readonly agentName: string
  readonly instanceKey: string
  readonly turnId: string
  readonly conversation: ConversationState
  readonly inputEvent?: InputEvent | undefined
  readonly agents?: AgentsApi | undefined
  readonly runtime?: RuntimeInfo | undefined
  readonly metadata?: Record<string, unknown> | undefined
  /**
   * The caller's span when another agent or a tool started this turn: the turn joins the caller's
   * trace with the caller's span as parent. Without it the turn is a child of the current Effect span,
   * if any, or the root of a new trace.
   */
  readonly parentTrace?: Trace.TraceContext | undefined
}

/**
 * What starts a step: the turn it belongs to (the context the turn core received), its index
 * (0-based) and the tools offered.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepInput {
  readonly turn: TurnContext
  readonly stepIndex: number
  readonly toolCatalog: ReadonlyArray<ToolCatalogItem>
  readonly metadata?: Record<string, unknown> | undefined
}

/**
 * What starts a tool call: the step it belongs to (the context the step core received) and the call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCallInput {
  readonly step: StepContext
  readonly toolCallId: string
  readonly toolName: string
  readonly args: Record<string, unknown>
  readonly metadata?: Record<string, unknown> | undefined
}

// ---------------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Registers a middleware of a kind. Runs already started keep the registry they started with. */
  readonly register: <K extends Kind>(
    kind: K,
    middleware: MiddlewareOf<K>,
    options?: RegisterOptions
  ) => Effect.Effect<void>
  /** Runs a turn through the turn middlewares, with `core` innermost. */
  readonly runTurn: <E, R>(
    input: TurnInput,
    core: (ctx: TurnContext) => Effect.Effect<TurnResult, E, R>
  ) => Effect.Effect<TurnResult, E | PipelineError, R>
  /** Runs a step through the step middlewares, with `core` (the model call and its tool calls) innermost. */
  readonly runStep: <E, R>(
    input: StepInput,
    core: (ctx: StepContext) => Effect.Effect<StepResult, E, R>
  ) => Effect.Effect<StepResult, E | PipelineError, R>
  /** Runs a tool call through the toolCall middlewares, with `core` (usually `ToolExecutor.execute`) innermost. */
  readonly runToolCall: <E, R>(
    input: ToolCallInput,
    core: (ctx: ToolCallContext) => Effect.Effect<ToolCallResult, E, R>
  ) => Effect.Effect<ToolCallResult, E | PipelineError, R>
}

/**
 * The pipeline service: one registry of middlewares and the runner.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventBus, Pipeline } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const pipeline = yield* Pipeline.Pipeline
 *   yield* pipeline.register("toolCall", (ctx, next) => {
 *     ctx.args = { ...ctx.args, dryRun: true }
 *     return next
 *   }, { priority: -10, name: "dry-run" })
 * }).pipe(Effect.provide(Pipeline.layer().pipe(Layer.provideMerge(EventBus.layer()))))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Pipeline extends Context.Tag("effect-swarm/Pipeline")<Pipeline, Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Whether every turn, step and tool call opens a span in Effect's tracer, so that an OpenTelemetry
   * exporter sees the same tree as the runtime events (the event ids are then the tracer's ids).
   * `"auto"` (the default) opens spans only when a tracer other than Effect's built-in one is
   * installed: the built-in tracer exports nothing, and its spans cost about as much as the rest of a
   * step (see BENCHMARKS.md). `true` always opens them (nested `Effect.withSpan`s then have the run as
   * parent even without an exporter); with `false`, or `"auto"` without a tracer, ids come from
   * `Random` and the events alone form the tree.
   */
  readonly tracerSpans?: boolean | "auto" | undefined
}

// ---------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------

interface Registered {
  readonly middleware: (ctx: any, next: Effect.Effect<any, any, any>) => Effect.Effect<any, any, any>
  readonly priority: number
  readonly order: number
  readonly name: string
}

interface TurnScope {
  readonly span: Tracer.AnySpan
  stepCount: number
  tokenUsage: TokenUsage | undefined
}

interface StepScope {
  readonly span: Tracer.AnySpan
  started: boolean
}

const maxErrorMessage = 2000

// Agents API calls made inside a run (middlewares, tools) read who is calling, from which span and
// through which chain of callers, from the fiber instead of trusting their arguments.
const asCaller = <A, E, R>(ctx: TurnContext | StepContext | ToolCallContext, effect: Effect.Effect<A, E, R>) =>
  Effect.locally(effect, currentCaller, {
    agentName: ctx.agentName,
    instanceKey: ctx.instanceKey,
    turnId: ctx.turnId,
    trace: ctx.trace,
    callChain: ctx.runtime.call?.callStack ?? []
  })

// Effect's default tracer: spans in it are not exported anywhere.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0")

// Reads the clock synchronously inside the run: one clock lookup per run instead of one per event.
const at = <A, E, R>(clock: Clock.Clock, f: (millis: number) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => f(clock.unsafeCurrentTimeMillis()))

const errorMessageOf = (cause: Cause.Cause<unknown>): string => {
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

const tokenUsageOf = (result: StepResult): TokenUsage | undefined => {
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

const addUsage = (a: TokenUsage | undefined, b: TokenUsage): TokenUsage =>
  a === undefined ? b : {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens
  }

// Events of one run mostly share a millisecond: format each millisecond once.
let isoMillis = Number.NaN
let isoText = ""
const isoAt = (millis: number): string => {
  if (millis !== isoMillis) {
    isoMillis = millis
    isoText = new Date(millis).toISOString()
  }
  return isoText
}

/**
 * Builds a pipeline with an empty registry, publishing its events on the {@link EventBus}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventBus, Pipeline } from "effect-swarm"
 * const program = Effect.flatMap(Pipeline.make(), (pipeline) => pipeline.register("turn", (_ctx, next) => next))
 *   .pipe(Effect.provide(EventBus.layer()))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, never, EventBus> =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const tracerSpans = options?.tracerSpans ?? "auto"
    const publish = (event: RuntimeEvent) => Effect.sync(() => bus.unsafePublish(event))

    // Sorted, immutable lists, replaced on registration: a run's snapshot is just the current array.
    const lists: Record<Kind, ReadonlyArray<Registered>> = { turn: [], step: [], toolCall: [] }
    let order = 0
    const counts: Record<Kind, number> = { turn: 0, step: 0, toolCall: 0 }

    let spanCounter = 0
    const turnScopes = new WeakMap<TurnContext, TurnScope>()
    const stepScopes = new WeakMap<StepContext, StepScope>()

    const register = <K extends Kind>(kind: K, middleware: MiddlewareOf<K>, opts?: RegisterOptions) =>
      Effect.sync(() => {
        counts[kind]++
        const entry: Registered = {
          middleware: middleware as Registered["middleware"],
          priority: opts?.priority ?? 0,
          order: order++,
          name: opts?.name ?? `${kind}#${counts[kind]}`
        }
        lists[kind] = [...lists[kind], entry].sort((a, b) => a.priority - b.priority || a.order - b.order)
      })

    const runOnion = <A, E, R>(
      kind: Kind,
      list: ReadonlyArray<Registered>,
      ctx: unknown,
      core: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | PipelineError, R> => {
      const dispatch = (i: number): Effect.Effect<A, E | PipelineError, R> => {
        if (i === list.length) return core
        const entry = list[i]!
        let called = false
        const next = Effect.suspend(() => {
          if (called) return Effect.fail(new NextCalledTwiceError({ kind, middleware: entry.name }))
          called = true
          return dispatch(i + 1)
        })
        return entry.middleware(ctx, next)
      }
      return list.length === 0 ? core : Effect.suspend(() => dispatch(0))
    }

    const idsOnly = <A, E, R>(
      services: Context.Context<DefaultServices.DefaultServices>,
      parent: Tracer.AnySpan | Trace.TraceContext | undefined,
      f: (trace: Trace.TraceContext, span: Tracer.AnySpan) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> => {
      const parentTrace = parent === undefined
        ? undefined
        : "_tag" in parent
        ? { traceId: parent.traceId, spanId: parent.spanId }
        : parent
      if (parentTrace === undefined) {
        return Effect.flatMap(Trace.make(), (trace) => f(trace, Trace.toExternalSpan(trace))) as Effect.Effect<
          A,
          E,
          Exclude<R, Tracer.ParentSpan>
        >
      }
      // A child span id: one random word (from `Random`) and a per-pipeline counter, unique within the
      // pipeline and random across pipelines, for half the cost of two random words.
      return Effect.flatMap(Context.get(services, Random.Random).nextInt, (word) => {
        spanCounter = (spanCounter + 1) >>> 0
        const spanId = hex8(word) + hex8(spanCounter === 0 && word === 0 ? 1 : spanCounter)
        const trace = { traceId: parentTrace.traceId, spanId, parentSpanId: parentTrace.spanId }
        return f(trace, Trace.toExternalSpan(trace))
      }) as Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>>
    }

    const span = <A, E, R>(
      services: Context.Context<DefaultServices.DefaultServices>,
      name: string,
      parent: Tracer.AnySpan | Trace.TraceContext | undefined,
      f: (trace: Trace.TraceContext, span: Tracer.AnySpan) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> => {
      if (tracerSpans === true) {
        return Trace.withSpan(name, parent, f)
      }
      if (tracerSpans === false) {
        return idsOnly(services, parent, f)
      }
      // "auto": Effect's built-in tracer records nothing, so spans in it would cost without being seen.
      return Context.get(services, Tracer.Tracer) === nativeTracer
        ? idsOnly(services, parent, f)
        : Trace.withSpan(name, parent, f)
    }

    const runTurn = <E, R>(input: TurnInput, core: (ctx: TurnContext) => Effect.Effect<TurnResult, E, R>) =>
      Effect.withFiberRuntime<TurnResult, E | PipelineError, Exclude<R, Tracer.ParentSpan>>((fiber) => {
        // One lookup of the default services per run (clock, tracer, random) instead of one per use.
        const services = fiber.getFiberRef(DefaultServices.currentServices)
        const clock = Context.get(services, Clock.Clock)
        const list = lists.turn
        return span(services, "effect-swarm.turn", input.parentTrace, (trace, sp) =>
          at(clock, (start) => {
            const conversation = input.conversation
            const ctx: TurnContext = {
              kind: "turn",
              agentName: input.agentName,
              instanceKey: input.instanceKey,
              turnId: input.turnId,
              trace,
              traceId: trace.traceId,
              metadata: input.metadata ?? {},
              inputEvent: input.inputEvent ?? {},
              conversation,
              emitMessageEvent: conversation.emit,
              agents: input.agents ?? agentsUnavailable,
              runtime: input.runtime ?? { agent: { name: input.agentName } }
            }
            const scope: TurnScope = { span: sp, stepCount: 0, tokenUsage: undefined }
            turnScopes.set(ctx, scope)
            GenAi.turnStarted(sp, ctx)
            return publish({
              type: "turn.started",
              timestamp: isoAt(start),
              agentName: ctx.agentName,
              instanceKey: ctx.instanceKey,
              turnId: ctx.turnId,
              traceId: trace.traceId,
              spanId: trace.spanId,
              parentSpanId: trace.parentSpanId
            }).pipe(
              Effect.zipRight(asCaller(
                ctx,
                runOnion(
                  "turn",
                  list,
                  ctx,
                  Effect.suspend(() => core(ctx))
                )
              )),
              GenAi.onEnd(sp, (exit) => GenAi.turnEnded(sp, exit, scope.stepCount, scope.tokenUsage)),
              Effect.onExit((exit) =>
                at(clock, (end) =>
                  Exit.isSuccess(exit)
                    ? publish({
                      type: "turn.completed",
                      timestamp: isoAt(end),
                      agentName: ctx.agentName,
                      instanceKey: ctx.instanceKey,
                      turnId: ctx.turnId,
                      traceId: ctx.trace.traceId,
                      spanId: ctx.trace.spanId,
                      parentSpanId: ctx.trace.parentSpanId,
                      stepCount: scope.stepCount,
                      duration: end - start,
                      tokenUsage: scope.tokenUsage,
                      finishReason: exit.value.finishReason,
                      limit: exit.value.limit
                    })
                    : publish({
                      type: "turn.failed",
                      timestamp: isoAt(end),
                      agentName: ctx.agentName,
                      instanceKey: ctx.instanceKey,
                      turnId: ctx.turnId,
                      traceId: ctx.trace.traceId,
                      spanId: ctx.trace.spanId,
                      parentSpanId: ctx.trace.parentSpanId,
                      stepCount: scope.stepCount,
                      duration: end - start,
                      errorMessage: errorMessageOf(exit.cause)
                    }))
              )
            )
          }))
      })

    const runStep = <E, R>(input: StepInput, core: (ctx: StepContext) => Effect.Effect<StepResult, E, R>) =>
      Effect.withFiberRuntime<StepResult, E | PipelineError, Exclude<R, Tracer.ParentSpan>>((fiber) => {
        // One lookup of the default services per run (clock, tracer, random) instead of one per use.
        const services = fiber.getFiberRef(DefaultServices.currentServices)
        const clock = Context.get(services, Clock.Clock)
        const list = lists.step
        const turn = input.turn
        const turnScope = turnScopes.get(turn)
        if (turnScope !== undefined) {
          turnScope.stepCount++
        }
        return span(services, "effect-swarm.step", turnScope?.span ?? turn.trace, (trace, sp) =>
          at(clock, (start) => {
            const stepIndex = input.stepIndex
            const stepId = `${turn.turnId}-step-${stepIndex}`
            const ctx: StepContext = {
              kind: "step",
              agentName: turn.agentName,
              instanceKey: turn.instanceKey,
              turnId: turn.turnId,
              trace,
              traceId: trace.traceId,
              metadata: input.metadata ?? {},
              turn,
              stepIndex,
              stepId,
              conversation: turn.conversation,
              emitMessageEvent: turn.emitMessageEvent,
              agents: turn.agents,
              runtime: turn.runtime,
              toolCatalog: input.toolCatalog.slice()
            }
            const scope: StepScope = { span: sp, started: false }
            stepScopes.set(ctx, scope)
            GenAi.stepStarted(sp, ctx.agentName, stepIndex, stepId)
            const started = (millis: number, llmInputMessages: ReadonlyArray<LlmInputMessage> | undefined) => {
              scope.started = true
              const context = LlmInput.contextView(ctx.metadata[LlmInput.contextKey])
              return publish({
                type: "step.started",
                timestamp: isoAt(millis),
                agentName: ctx.agentName,
                instanceKey: ctx.instanceKey,
                turnId: ctx.turnId,
                traceId: ctx.trace.traceId,
                spanId: ctx.trace.spanId,
                parentSpanId: ctx.trace.parentSpanId,
                stepId,
                stepIndex,
                llmInputMessages,
                ...(context === undefined ? {} : { context })
              })
            }
            // Taken at the core, after the step middlewares ran: what is logged is what the model gets.
            const startCore = Effect.suspend(() => {
              const supplied = ctx.metadata[LlmInput.metadataKey]
              const summary = supplied !== undefined
                ? Effect.succeed(LlmInput.sanitize(supplied))
                : Effect.map(ctx.conversation.get, (c) => LlmInput.summarize(c.messages))
              return Effect.map(summary, (s) => started(clock.unsafeCurrentTimeMillis(), s)).pipe(
                Effect.flatten,
                Effect.zipRight(Effect.suspend(() => core(ctx)))
              )
            })
            return asCaller(ctx, runOnion("step", list, ctx, startCore)).pipe(
              GenAi.onEnd(
                sp,
                (exit) => GenAi.stepEnded(sp, exit, Exit.isSuccess(exit) ? tokenUsageOf(exit.value) : undefined)
              ),
              Effect.onExit((exit) =>
                at(clock, (end) => {
                  const before = scope.started ? Effect.void : started(end, undefined)
                  if (Exit.isSuccess(exit)) {
                    const usage = tokenUsageOf(exit.value)
                    if (usage !== undefined && turnScope !== undefined) {
                      turnScope.tokenUsage = addUsage(turnScope.tokenUsage, usage)
                    }
                    return Effect.zipRight(
                      before,
                      publish({
                        type: "step.completed",
                        timestamp: isoAt(end),
                        agentName: ctx.agentName,
                        instanceKey: ctx.instanceKey,
                        turnId: ctx.turnId,
                        traceId: ctx.trace.traceId,
                        spanId: ctx.trace.spanId,
                        parentSpanId: ctx.trace.parentSpanId,
                        stepId,
                        stepIndex,
                        toolCallCount: exit.value.toolCalls.length,
                        duration: end - start,
                        tokenUsage: usage
                      })
                    )
                  }
                  return Effect.zipRight(
                    before,
                    publish({
                      type: "step.failed",
                      timestamp: isoAt(end),
                      agentName: ctx.agentName,
                      instanceKey: ctx.instanceKey,
                      turnId: ctx.turnId,
                      traceId: ctx.trace.traceId,
                      spanId: ctx.trace.spanId,
                      parentSpanId: ctx.trace.parentSpanId,
                      stepId,
                      stepIndex,
                      duration: end - start,
                      errorMessage: errorMessageOf(exit.cause)
                    })
                  )
                })
              )
            )
          }))
      })

    const runToolCall = <E, R>(
      input: ToolCallInput,
      core: (ctx: ToolCallContext) => Effect.Effect<ToolCallResult, E, R>
    ) =>
      Effect.withFiberRuntime<ToolCallResult, E | PipelineError, Exclude<R, Tracer.ParentSpan>>((fiber) => {
        // One lookup of the default services per run (clock, tracer, random) instead of one per use.
        const services = fiber.getFiberRef(DefaultServices.currentServices)
        const clock = Context.get(services, Clock.Clock)
        const list = lists.toolCall
        const step = input.step
        const stepScope = stepScopes.get(step)
        return span(services, "effect-swarm.tool", stepScope?.span ?? step.trace, (trace, sp) =>
          at(clock, (start) => {
            const ctx: ToolCallContext = {
              kind: "toolCall",
              agentName: step.agentName,
              instanceKey: step.instanceKey,
              turnId: step.turnId,
              trace,
              traceId: trace.traceId,
              metadata: input.metadata ?? {},
              stepIndex: step.stepIndex,
              stepId: step.stepId,
              toolName: input.toolName,
              toolCallId: input.toolCallId,
              runtime: step.runtime,
              args: input.args
            }
            GenAi.toolStarted(sp, ctx)
            return publish({
              type: "tool.called",
              timestamp: isoAt(start),
              agentName: ctx.agentName,
              instanceKey: ctx.instanceKey,
              turnId: ctx.turnId,
              traceId: trace.traceId,
              spanId: trace.spanId,
              parentSpanId: trace.parentSpanId,
              toolCallId: ctx.toolCallId,
              toolName: ctx.toolName,
              stepId: ctx.stepId
            }).pipe(
              Effect.zipRight(asCaller(
                ctx,
                runOnion(
                  "toolCall",
                  list,
                  ctx,
                  Effect.suspend(() => core(ctx))
                )
              )),
              GenAi.onEnd(sp, (exit) => GenAi.toolEnded(sp, exit)),
              Effect.onExit((exit) =>
                at(clock, (end) =>
                  Exit.isSuccess(exit)
                    ? publish({
                      type: "tool.completed",
                      timestamp: isoAt(end),
                      agentName: ctx.agentName,
                      instanceKey: ctx.instanceKey,
                      turnId: ctx.turnId,
                      traceId: ctx.trace.traceId,
                      spanId: ctx.trace.spanId,
                      parentSpanId: ctx.trace.parentSpanId,
                      toolCallId: ctx.toolCallId,
                      toolName: ctx.toolName,
                      stepId: ctx.stepId,
                      status: exit.value.status,
                      duration: end - start,
                      errorCode: exit.value.error?.code
                    })
                    : publish({
                      type: "tool.failed",
                      timestamp: isoAt(end),
                      agentName: ctx.agentName,
                      instanceKey: ctx.instanceKey,
                      turnId: ctx.turnId,
                      traceId: ctx.trace.traceId,
                      spanId: ctx.trace.spanId,
                      parentSpanId: ctx.trace.parentSpanId,
                      toolCallId: ctx.toolCallId,
                      toolName: ctx.toolName,
                      stepId: ctx.stepId,
                      duration: end - start,
                      errorMessage: errorMessageOf(exit.cause)
                    }))
              )
            )
          }))
      })

    return Pipeline.of({ register, runTurn, runStep, runToolCall } as Service)
  })

/**
 * The pipeline as a layer over an {@link EventBus}.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Pipeline } from "effect-swarm"
 * const PipelineLive = Pipeline.layer().pipe(Layer.provideMerge(EventBus.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Pipeline, never, EventBus> =>
  Layer.effect(Pipeline, make(options))
