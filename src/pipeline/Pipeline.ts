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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import type * as Tracer from "effect/Tracer"
import { EventBus } from "../event/EventBus.js"
import type { LlmInputMessage, RuntimeEvent, TokenUsage } from "../event/RuntimeEvent.js"
import type { ToolCallResult } from "../tool/ToolExecutor.js"
import * as Contexts from "./internal/contexts.js"
import type { StepInput, ToolCallInput, TurnInput } from "./internal/contexts.js"
import * as Events from "./internal/events.js"
import * as GenAi from "./internal/genAi.js"
import * as Registry from "./internal/registry.js"
import * as Run from "./internal/run.js"
import * as LlmInput from "./LlmInput.js"
import type {
  Kind,
  MiddlewareOf,
  PipelineError,
  RegisterOptions,
  StepContext,
  StepResult,
  ToolCallContext,
  TurnContext,
  TurnResult
} from "./Middleware.js"

export type {
  /**
   * What starts a step: the turn it belongs to (the context the turn core received), its index
   * (0-based) and the tools offered.
   *
   * @since 0.1.0
   * @category models
   */
  StepInput,
  /**
   * What starts a tool call: the step it belongs to (the context the step core received) and the call.
   *
   * @since 0.1.0
   * @category models
   */
  ToolCallInput,
  /**
   * What starts a turn.
   *
   * @since 0.1.0
   * @category models
   */
  TurnInput
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
   * parent even without an exporter); with `false`, or `"auto"` without a tracer, the events alone form
   * the tree: a new trace's ids come from `Random`, a child run's span id from a CSPRNG batch and a
   * counter (no Effect operation per run).
   */
  readonly tracerSpans?: boolean | "auto" | undefined
}

// ---------------------------------------------------------------------------------------------------
// Internals (the shared run machinery lives in internal/run.ts)
// ---------------------------------------------------------------------------------------------------

interface TurnScope {
  readonly span: Tracer.AnySpan
  stepCount: number
  tokenUsage: TokenUsage | undefined
}

interface StepScope {
  readonly span: Tracer.AnySpan
  started: boolean
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
    const open = Run.runner(options?.tracerSpans ?? "auto")
    const publish = (event: RuntimeEvent): void => bus.unsafePublish(event)

    const { lists, register } = Registry.make()

    const turnScopes = new WeakMap<TurnContext, TurnScope>()
    const stepScopes = new WeakMap<StepContext, StepScope>()

    const runTurn = <E, R>(input: TurnInput, core: (ctx: TurnContext) => Effect.Effect<TurnResult, E, R>) => {
      return open(GenAi.turnSpanName(input.agentName), () => input.parentTrace, (run) => {
        const { span: sp, trace } = run
        const ctx = Contexts.turn(input, trace)
        const scope: TurnScope = { span: sp, stepCount: 0, tokenUsage: undefined }
        turnScopes.set(ctx, scope)
        GenAi.turnStarted(sp, ctx)
        const list = lists.turn
        return Run.running<TurnResult, E | PipelineError>(
          run,
          ctx,
          () => publish(Run.head("turn.started", ctx, run.start)),
          (exit) => GenAi.turnEnded(sp, exit, scope.stepCount, scope.tokenUsage),
          (exit, end, duration) =>
            publish(Run.endEvent(exit, (value) => ({
              ...Run.head("turn.completed", ctx, end),
              stepCount: scope.stepCount,
              duration,
              tokenUsage: scope.tokenUsage,
              finishReason: value.finishReason,
              limit: value.limit
            }), (errorMessage) => ({
              ...Run.head("turn.failed", ctx, end),
              stepCount: scope.stepCount,
              duration,
              errorMessage
            })))
        )(() => Run.runOnion("turn", list, ctx, () => core(ctx)))
      })
    }

    const runStep = <E, R>(input: StepInput, core: (ctx: StepContext) => Effect.Effect<StepResult, E, R>) => {
      const turn = input.turn
      return open("effect-swarm.step", () => {
        const turnScope = turnScopes.get(turn)
        if (turnScope !== undefined) turnScope.stepCount++
        return turnScope?.span ?? turn.trace
      }, (run) => {
        const { span: sp, trace } = run
        const list = lists.step
        const turnScope = turnScopes.get(turn)
        const ctx = Contexts.step(input, trace)
        const { stepId, stepIndex } = ctx
        const scope: StepScope = { span: sp, started: false }
        stepScopes.set(ctx, scope)
        GenAi.stepStarted(sp, ctx.agentName, stepIndex, stepId)
        const started = (millis: number, llmInputMessages: ReadonlyArray<LlmInputMessage> | undefined) => {
          scope.started = true
          publish(Events.stepStarted(ctx, trace, millis, llmInputMessages))
        }
        // Taken at the core, after the step middlewares ran: what is logged is what the model gets.
        const startCore = () => {
          const supplied = ctx.metadata[LlmInput.metadataKey]
          if (supplied !== undefined) {
            started(run.clock.unsafeCurrentTimeMillis(), LlmInput.sanitize(supplied))
            return core(ctx)
          }
          return Effect.flatMap(ctx.conversation.get, (c) => {
            started(run.clock.unsafeCurrentTimeMillis(), LlmInput.summarize(c.messages))
            return core(ctx)
          })
        }
        return Run.running<StepResult, E | PipelineError>(
          run,
          ctx,
          () => {},
          (exit) => GenAi.stepEnded(sp, exit, Exit.isSuccess(exit) ? Run.tokenUsageOf(exit.value) : undefined),
          (exit, end, duration) => {
            const event = Run.endEvent(exit, (value) => {
              const usage = Run.tokenUsageOf(value)
              if (usage !== undefined && turnScope !== undefined) {
                turnScope.tokenUsage = Run.addUsage(turnScope.tokenUsage, usage)
              }
              return Events.stepCompleted(ctx, trace, end, value, duration, usage)
            }, (errorMessage) => ({
              ...Run.head("step.failed", ctx, end),
              stepId,
              stepIndex,
              duration,
              errorMessage
            }))
            // A step that never reached the core still records what it would have started with.
            if (!scope.started) started(end, undefined)
            publish(event)
          }
        )(() => Run.runOnion("step", list, ctx, startCore))
      })
    }

    const runToolCall = <E, R>(
      input: ToolCallInput,
      core: (ctx: ToolCallContext) => Effect.Effect<ToolCallResult, E, R>
    ) => {
      const step = input.step
      return open(GenAi.toolSpanName(input.toolName), () => stepScopes.get(step)?.span ?? step.trace, (run) => {
        const { span: sp, trace } = run
        const ctx = Contexts.toolCall(input, trace)
        const { toolCallId, toolName, stepId } = ctx
        GenAi.toolStarted(sp, ctx)
        const toolCore = () => {
          if (run.capture) GenAi.toolArguments(sp, ctx)
          return core(ctx)
        }
        const list = lists.toolCall
        return Run.running<ToolCallResult, E | PipelineError>(
          run,
          ctx,
          () => publish(Events.toolCalled(ctx, trace, run.start)),
          (exit) => GenAi.toolEnded(sp, exit, run.capture),
          (exit, end, duration) =>
            publish(
              Run.endEvent(exit, (value) => Events.toolCompleted(ctx, trace, end, value, duration), (errorMessage) => ({
                ...Run.head("tool.failed", ctx, end),
                toolCallId,
                toolName,
                stepId,
                duration,
                errorMessage
              }))
            )
        )(() => Run.runOnion("toolCall", list, ctx, toolCore))
      })
    }

    return Pipeline.of({ register, runTurn, runStep, runToolCall } as Service)
  })

/**
 * Whether the spans of turns, steps, model calls and tool calls carry contents: the model's input and
 * output messages (`gen_ai.input.messages`, `gen_ai.output.messages`) and the tool's arguments and result
 * (`gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`), each capped at 16 KiB. Off by default (no
 * content leaves the process); `Observability.layer({ captureContent: true })` turns it on, or set it
 * for a part of a program with `Effect.locally`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "effect-swarm"
 * declare const turn: Effect.Effect<void>
 * const traced = Effect.locally(turn, Pipeline.captureContent, true)
 * ```
 *
 * @since 0.1.0
 * @category tracing
 */
export const captureContent: FiberRef.FiberRef<boolean> = GenAi.captureContent

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
