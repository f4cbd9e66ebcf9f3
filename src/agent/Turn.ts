/**
 * Running turns of an {@link AgentInstance.AgentInstance}.
 *
 * A turn is the instance's Pipeline onion around a loop of steps: each step calls the model with the
 * system prompt, the conversation and the step's tool catalog, writes the assistant message, then runs
 * its tool calls through the toolCall onion and the instance's executor (at most
 * `policy.toolConcurrency` at once), writing each result in call order. The turn ends on a reply without
 * tool calls, at `maxStepsPerTurn`, on a budget (`budget_exceeded` naming the limit), on a tool call
 * waiting for approval (`awaiting_approval`), or after three empty or malformed replies in a row
 * (`error`).
 *
 * Write-ahead: the input, each assistant message and each tool result are durable before anything that
 * depends on them runs; `turn.started` / `turn.completed` / `turn.failed` and approval records are
 * written synchronously to the instance's runtime event log. A process killed at any moment continues
 * the turn on the instance's next use: the model is never asked again for a step it answered, tool calls
 * without results are run again only when their tool is `idempotent` (others get `E_TOOL_INTERRUPTED`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import type * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { TurnResult } from "../pipeline/Middleware.js"
import type { AwaitingApproval, TurnStorageError } from "./AgentError.js"
import * as Abandon from "./internal/abandon.js"
import type { AgentInstance } from "./internal/instance.js"
import * as Loop from "./internal/loop.js"

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Every failure of a turn: storage (`TurnStorageError`), the model (`ModelError`) or the pipeline.
 *
 * @since 0.1.0
 * @category errors
 */
export type TurnError = Loop.TurnError

/**
 * A turn's input beyond its text: for a turn another agent asked for, the message `source` (the agent
 * variant with its correlation id), the caller's span (`parentTrace`: the turn continues the caller's
 * trace), the call chain (`call`, seen by middlewares as `ctx.runtime.call`) and extra message metadata.
 *
 * @example
 * ```ts
 * import type { Turn } from "effect-swarm"
 * const input: Turn.Input = {
 *   text: "review this",
 *   source: { type: "agent", kind: "request", agentName: "planner", instanceKey: "main", correlationId: "corr-1" },
 *   call: { callerAgent: "planner", callerInstanceKey: "main", callStack: ["planner@main"] }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Loop.TurnInput

/**
 * Runs one turn for a user input (a text, or an {@link Input} with its source, trace and call chain). If the instance's log ends inside a turn (a crash, an interruption),
 * that turn is finished first. Fails with `AwaitingApproval` while tool calls wait for a decision.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentInstance, Model, Turn } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const agent = yield* AgentInstance.makeInMemory({
 *     ref: { workspaceId: "w", agentName: "a", instanceKey: "1" },
 *     model: yield* Model.Model
 *   })
 *   const result = yield* Turn.run(agent, "hi")
 *   return result.finishReason // "text_response"
 * }).pipe(Effect.provide(Model.scripted([{ text: "hello" }])))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  instance: AgentInstance,
  input: string | Input
): Effect.Effect<TurnResult, TurnError | AwaitingApproval> => {
  const locked = instance.state.lock.withPermits(1)(Loop.runLocked(instance, input))
  // Not `Effect.fn`: its call-site capture (an `Error` per call) and span cost about a tenth of a durable
  // turn's JavaScript before its first write. The span is opened only when an exporting tracer is
  // installed (Effect's built-in one records nothing), as in `MessageStore.append`; the turn's trace ids
  // do not depend on it (the pipeline's turn run makes them).
  return Effect.tracerWith((tracer) => tracer === nativeTracer ? locked : Effect.withSpan(locked, "Turn.run"))
}

/**
 * Continues the instance's open turn, if its log ends inside one; `None` when there is nothing to do.
 * Waits for a running turn of the instance to end first.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Turn } from "effect-swarm"
 * import type { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * // After a restart: finish what the previous process left open before taking new input.
 * const finished = Effect.map(Turn.resume(agent), Option.map((r) => r.finishReason))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const resume: (instance: AgentInstance) => Effect.Effect<Option.Option<TurnResult>, TurnError> = Effect.fn(
  "Turn.resume"
)(function*(instance: AgentInstance) {
  return yield* instance.state.lock.withPermits(1)(Loop.resumeLocked(instance))
})

/**
 * What {@link abandon} closed: the turn, the reason, and the tool calls it answered with
 * `E_TOOL_INTERRUPTED`.
 *
 * @since 0.1.0
 * @category models
 */
export type Abandoned = Abandon.Abandoned

/**
 * Closes the turn the instance's log ends inside (interrupted: a cancelled request, a timeout, a crash)
 * without continuing it: the model is not called and no tool runs. A `turn.abandoned` record carrying the
 * reason is written to the instance's runtime event log (durable first), every tool call of the turn
 * without a result is answered with an `E_TOOL_INTERRUPTED` result naming the reason (so the model reads
 * why on the next turn), tool calls waiting for approval stop waiting, and the status goes back to `idle`.
 * The next {@link run} starts a new turn. `None` (and nothing written) when no turn is open. Waits for a
 * running turn of the instance to end first: interrupt its fiber, then abandon.
 *
 * @example
 * ```ts
 * import { Effect, Fiber } from "effect"
 * import { Turn } from "effect-swarm"
 * import type { AgentInstance } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const cancelled = Effect.gen(function*() {
 *   const fiber = yield* Effect.fork(Turn.run(agent, "a long task"))
 *   yield* Fiber.interrupt(fiber) // the caller gave up: the turn stays open in the log
 *   return yield* Turn.abandon(agent, "the caller's request timed out")
 * })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const abandon: (
  instance: AgentInstance,
  reason: string
) => Effect.Effect<Option.Option<Abandoned>, TurnStorageError> = Effect.fn("Turn.abandon")(
  function*(instance: AgentInstance, reason: string) {
    return yield* instance.state.lock.withPermits(1)(Abandon.abandonLocked(instance, reason))
  }
)

/**
 * A piece of a step's streamed model response: text, reasoning, a tool call starting, its argument
 * text, or the step's usage (see `Model.StreamPart`).
 *
 * @since 0.1.0
 * @category models
 */
export type Delta = Loop.StepDelta

/**
 * What {@link stream} emits: the deltas of every step's model response as they arrive (`Delta`, with the
 * step index), then the turn's result (`Done`).
 *
 * @since 0.1.0
 * @category models
 */
export type Event =
  | { readonly _tag: "Delta"; readonly stepIndex: number; readonly part: Delta }
  | { readonly _tag: "Done"; readonly result: TurnResult }

/**
 * Runs one turn like {@link run}, streaming each step's model response (`Model.stream`) as `Delta`
 * events, and ends with `Done` carrying the result. Write-ahead is unchanged: a step's assistant message
 * is appended once its response is complete, before its tools run. The turn runs while the stream is
 * consumed; stopping the stream interrupts it (an interrupted turn continues on the instance's next use).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { AgentInstance, Turn } from "effect-swarm"
 * declare const agent: AgentInstance.AgentInstance
 * const printed = Turn.stream(agent, "hi").pipe(
 *   Stream.runForEach((e) =>
 *     e._tag === "Delta" && e.part._tag === "TextDelta" ? Effect.sync(() => process.stdout.write(e.part.text)) : Effect.void
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const stream = (
  instance: AgentInstance,
  input: string | Omit<Input, "onDelta">
): Stream.Stream<Event, TurnError | AwaitingApproval> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<Event, TurnError | AwaitingApproval>()
    const base = typeof input === "string" ? { text: input } : input
    yield* run(instance, {
      ...base,
      onDelta: (stepIndex, part) => Effect.asVoid(mailbox.offer({ _tag: "Delta", stepIndex, part }))
    }).pipe(
      Effect.flatMap((result) => mailbox.offer({ _tag: "Done", result })),
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))
