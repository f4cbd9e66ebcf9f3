/**
 * The worker of one instance slot: each generation starts the instance on its host and runs the slot's
 * mailbox one turn at a time; after a crash, supervision decides when the next generation starts.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { TurnResult } from "../../pipeline/Middleware.js"
import * as LeanScope from "../../workspace/internal/leanScope.js"
import type { Hosted } from "../AgentHost.js"
import type { CalleeOutcome } from "../AgentsApi.js"
import { AgentTurnFailed, type AgentUnavailable, type HostCrashed } from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import { describe } from "./hostInProcess.js"
import type * as Lifecycle from "./lifecycle.js"
import type * as Mailbox from "./mailbox.js"
import * as Metrics from "./metrics.js"
import type { Opener, Settings, Slot } from "./slot.js"

/** The signal that ends a worker generation: its instance crashed. */
class Crashed {
  readonly _tag = "Crashed"
  constructor(readonly detail: string) {}
}

/** What a worker needs from the registry. */
export interface Deps {
  readonly settings: Settings
  readonly open: Opener
  /** Acknowledges envelopes whose turn is over (they leave the durable inbox). */
  readonly acknowledge: (slot: Slot, envelopes: ReadonlyArray<Mailbox.Envelope>) => Effect.Effect<void>
  /** Answers every queued message `AGENT_UNAVAILABLE`. */
  readonly failQueued: (slot: Slot, options: { readonly acknowledge: boolean }) => Effect.Effect<void>
  readonly shuttingDown: () => Lifecycle.ShutdownReason | undefined
  /** The error of a message the instance will not answer (stopped, crashed, shutting down). */
  readonly unavailable: (slot: Slot) => AgentUnavailable
}

/** The worker of a slot: runs generations until supervision gives up (or it is interrupted). */
export const make = (deps: Deps): (slot: Slot) => Effect.Effect<void> => {
  const { acknowledge, failQueued, open, settings } = deps
  /**
   * Runs one envelope's turn on the instance; the outcome completes its reply. The common end (a completed
   * turn, nothing to tell, no inbox) costs no Effect operation beyond the turn's fork and wait.
   */
  const runEnvelope = (slot: Slot, hosted: Hosted, envelope: Mailbox.Envelope, clock: Clock.Clock) =>
    Effect.gen(function*() {
      if (envelope.timedOut !== undefined && !envelope.started) {
        // Its deadline passed while the instance started: its requester has its answer, the turn never runs.
        // Uninterruptible, as `settle`: a stop landing here waits for the acknowledgement.
        return yield* Effect.uninterruptible(Effect.suspend(() => {
          slot.current = undefined
          return Effect.map(acknowledge(slot, [envelope]), () => {
            envelope.state = "done"
          })
        }))
      }
      slot.status = "processing"
      slot.current = envelope
      const resumed = envelope.started
      envelope.started = true
      const fiber = yield* Effect.fork(hosted.run(envelope.input, {
        resume: resumed,
        ...(envelope.input.onDelta === undefined ? {} : { onDelta: envelope.input.onDelta })
      }))
      envelope.fiber = fiber
      const exit = yield* awaitTurn(fiber, () => abandonStopped(slot, hosted))
      return yield* settle(slot, hosted, envelope, exit, clock)
    })

  /**
   * What follows a turn's end: the async caller's reply, the acknowledgement, the requester's answer.
   * Uninterruptible (bounded work: a few durable writes; a child's abandon is bounded by its grace period): a
   * stop, restart or shutdown that lands here waits for it, so a turn that ended is never left without its
   * answer (its requester waited forever) nor its message half acknowledged.
   */
  const settle = (
    slot: Slot,
    hosted: Hosted,
    envelope: Mailbox.Envelope,
    exit: Exit.Exit<TurnResult, AgentTurnFailed | HostCrashed>,
    clock: Clock.Clock
  ) =>
    Effect.gen(function*() {
      envelope.fiber = undefined
      slot.current = undefined
      slot.status = "idle"
      slot.lastActive = clock.unsafeCurrentTimeMillis()
      const failure = Exit.isSuccess(exit) ? undefined : Cause.failureOption(exit.cause)
      if (failure?._tag === "Some" && failure.value._tag === "HostCrashed") {
        // The envelope waits at the head of the mailbox; the restarted instance continues its turn.
        yield* slot.mailbox.requeue(envelope)
        return yield* Effect.fail(new Crashed(failure.value.detail))
      }
      const interrupted = !Exit.isSuccess(exit) && Cause.isInterruptedOnly(exit.cause)
      if (interrupted && hosted.abandon !== undefined) {
        // Interrupted on purpose (its requester gave up, or the shutdown grace period ended): recorded in the
        // log as interrupted with the reason, never continued later.
        const reason = envelope.cancelReason ?? "interrupted"
        yield* hosted.abandon(reason).pipe(
          Effect.catchAll((e) =>
            Effect.logWarning(`${slot.label}: could not record its interrupted turn (${reason}): ${e.message}`)
          )
        )
      }
      // Interrupted by a reload (`reload.ts`: its agent's configuration changed past the grace period).
      const reloaded = interrupted && slot.stopReason === "config_change" ?
        new AgentTurnFailed({
          address: slot.label,
          errorTag: "ConfigChange",
          detail: envelope.cancelReason ?? "interrupted by a configuration change"
        }) :
        undefined
      // An async request's reply reaches its caller's inbox before the message leaves the callee's inbox.
      if (settings.onTurnEnd !== undefined) {
        const outcome: CalleeOutcome | undefined = Exit.isSuccess(exit)
          ? { _tag: "Completed", result: exit.value }
          : failure?._tag === "Some" && failure.value._tag === "AgentTurnFailed"
          ? { _tag: "Failed", code: "AGENT_TURN_FAILED", message: failure.value.message }
          : deps.shuttingDown() !== undefined
          ? { _tag: "Failed", code: "AGENT_UNAVAILABLE", message: deps.unavailable(slot).message }
          : reloaded !== undefined
          ? { _tag: "Failed", code: "AGENT_TURN_FAILED", message: reloaded.message }
          : undefined // cancelled by its requester, who answers itself (a timeout)
        const told = outcome === undefined ? Effect.void : settings.onTurnEnd(slot.address, envelope.input, outcome)
        if (told !== Effect.void) yield* told
      }
      // The turn is over (its input is in the log before anything else): the message leaves the inbox.
      if (slot.inbox !== undefined) yield* acknowledge(slot, [envelope])
      envelope.state = "done"
      if (Exit.isSuccess(exit)) return void Deferred.unsafeDone(envelope.reply, Exit.succeed(exit.value))
      if (failure?._tag === "Some" && failure.value._tag === "AgentTurnFailed") {
        return yield* Deferred.fail(envelope.reply, failure.value)
      }
      // Interrupted by the shutdown: its requester is told why. Cancelled by its requester (a timeout): the
      // requester is gone, nobody reads the reply.
      if (deps.shuttingDown() !== undefined) return yield* Deferred.fail(envelope.reply, deps.unavailable(slot))
      if (envelope.timedOut !== undefined) return yield* Deferred.fail(envelope.reply, envelope.timedOut)
      if (reloaded !== undefined) return yield* Deferred.fail(envelope.reply, reloaded)
      return yield* Deferred.interrupt(envelope.reply)
    }).pipe(Effect.uninterruptible)

  /**
   * Waits for the turn's fiber; interrupted (restart, stop, shutdown), it interrupts the turn and waits for it
   * to stop, then runs `cancelled`, before the instance's scope closes. One async step (`Fiber.await` and
   * `onInterrupt` cost ten).
   */
  const awaitTurn = <A, E>(
    fiber: Fiber.RuntimeFiber<A, E>,
    cancelled: () => Effect.Effect<void>
  ): Effect.Effect<Exit.Exit<A, E>> =>
    Effect.async<Exit.Exit<A, E>>((resume) => {
      const observer = (exit: Exit.Exit<A, E>) => resume(Effect.succeed(exit))
      fiber.addObserver(observer)
      return Effect.suspend(() => {
        fiber.removeObserver(observer)
        return Effect.zipRight(Fiber.interrupt(fiber), Effect.suspend(cancelled))
      })
    })

  /**
   * A turn interrupted by `stop` is recorded as abandoned (`turn.abandoned`, the stop's reason), so a later
   * `restart` starts from a closed turn instead of continuing one whose requester was answered
   * `AGENT_UNAVAILABLE`. A restart leaves it open (the next worker continues it); a shutdown decides itself.
   */
  const abandonStopped = (slot: Slot, hosted: Hosted): Effect.Effect<void> => {
    if (slot.stopReason !== "stop" || hosted.abandon === undefined) return Effect.void
    const reason = `stop: ${slot.reason ?? "stopped"}`
    return hosted.abandon(reason).pipe(
      Effect.catchAll((e) =>
        Effect.logWarning(`${slot.label}: could not record its interrupted turn (${reason}): ${e.message}`)
      )
    )
  }

  /** Fails with Crashed when the generation's instance ends on its own; an exit of another generation is ignored. */
  const watchExit = (slot: Slot, hosted: Hosted): Effect.Effect<never, Crashed> =>
    Effect.flatMap(hosted.exited, (exit) =>
      exit.generation === slot.generation ?
        Effect.fail(new Crashed(exit.detail)) :
        Effect.zipRight(
          Effect.logWarning(
            `${slot.label}: ignored the exit of generation ${exit.generation} (current: ${slot.generation})`
          ),
          watchExit(slot, { ...hosted, exited: Effect.never })
        ))

  /**
   * Messages read back from the inbox whose turn is already in the log (a crash fell between the input's
   * write and the acknowledgement) never run again: acknowledged, except the one whose turn the log ends
   * inside, which is continued (`resume`). True when `taken` was settled that way.
   */
  const settleRecovered = (slot: Slot, hosted: Hosted, taken: Mailbox.Envelope) =>
    // Recovered messages sit at the head of the mailbox (queued when the slot was made, requeued at the
    // head): when `taken` is not one, none is left.
    !taken.recovered ? Effect.succeed(false) : Effect.gen(function*() {
      const candidates = [taken, ...slot.mailbox.queued()].filter((e) => e.recovered && e.inboxId !== undefined)
      if (candidates.length === 0) return false
      if (hosted.inLog === undefined) {
        // A host that cannot tell: continue an open turn rather than start the message again.
        for (const e of candidates) e.started = true
        return false
      }
      const found = yield* hosted.inLog(candidates.map((e) => e.inboxId!)).pipe(
        Effect.mapError((e) => new Crashed(e.detail))
      )
      const started = new Set(found.started)
      const isSettled = (e: Mailbox.Envelope) =>
        e.recovered && e.inboxId !== undefined && started.has(e.inboxId) && e.inboxId !== found.open
      for (const e of candidates) if (e.inboxId === found.open) e.started = true
      const settled = [...slot.mailbox.removeWhere(isSettled), ...(isSettled(taken) ? [taken] : [])]
      for (const e of settled) e.state = "done"
      yield* acknowledge(slot, settled)
      return isSettled(taken)
    })

  /** One generation: opens the instance and runs its mailbox until it crashes (fails with Crashed). */
  const generation = (slot: Slot) =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const generationScope = yield* Effect.scope
      let hosted: Hosted | undefined
      slot.startedAt = yield* Clock.currentTimeMillis
      slot.nextStartAt = undefined
      slot.hosted = undefined
      if (slot.status !== "restarting") slot.status = "starting"
      while (true) {
        // An instance that ends while it waits for a message crashed (a run in flight reports it itself). An
        // in-process instance never ends on its own (`exited` is `Effect.never`): no race, no fibers per message.
        const envelope = hosted === undefined || hosted.exited === Effect.never ?
          yield* slot.mailbox.take :
          yield* Effect.raceFirst(slot.mailbox.take, watchExit(slot, hosted))
        // Current from the take on: interrupted while the instance starts, it goes back to the mailbox.
        slot.current = envelope
        if (hosted === undefined) {
          const generation = ++slot.generation
          // Each start in a scope of its own (a child of the generation's): a failed start lets go at once of
          // what it acquired (setup's resources, a child process), before its requester hears of it. In the
          // generation's scope, they stayed until the generation ended, one more set per failed message.
          const start = yield* Scope.fork(generationScope, ExecutionStrategy.sequential)
          const opened = yield* Effect.exit(open(slot.address, generation).pipe(Scope.extend(start)))
          if (Exit.isFailure(opened)) {
            yield* Scope.close(start, opened)
            slot.current = undefined
            envelope.state = "done"
            // The host's own typed refusal (HostEntryNotFound, HostReadyTimeout, ...) as it is, not wrapped again.
            const refused = Cause.failureOption(opened.cause)
            const { detail, errorTag } = describe(opened.cause)
            yield* Deferred.fail(
              envelope.reply,
              Option.isSome(refused) && refused.value._tag === "AgentTurnFailed" ?
                refused.value :
                new AgentTurnFailed({ address: slot.label, errorTag, detail })
            )
            continue
          }
          hosted = opened.value
          slot.hosted = hosted
          slot.stopReason = undefined
          const stopping = hosted
          yield* Metrics.instanceDelta(settings.swarm, 1)
          // Runs first when the generation ends (before the host's own finalizers): the instance is told why.
          yield* LeanScope.addFinalizer(() =>
            Effect.suspend(() => {
              slot.hosted = undefined
              return stopping.stop(slot.stopReason ?? deps.shuttingDown() ?? "restart")
            }).pipe(Effect.ensuring(Metrics.instanceDelta(settings.swarm, -1)))
          )
          slot.status = "idle"
        }
        if (envelope.recovered && (yield* settleRecovered(slot, hosted, envelope))) {
          slot.current = undefined
          continue
        }
        yield* runEnvelope(slot, hosted, envelope, clock)
      }
    }).pipe(Effect.scoped)

  const giveUp = (slot: Slot, reason: string) =>
    Effect.gen(function*() {
      slot.status = "crashed"
      slot.reason = reason
      yield* Effect.logError(`${slot.label} crashed and will not be restarted: ${reason}`).pipe(
        Effect.annotateLogs({ event: "orchestrator.crashed", swarm: settings.swarm, instance: slot.label })
      )
      yield* failQueued(slot, { acknowledge: true })
      yield* settings.persistStatus(slot.address, "crashed", reason)
    })

  /** Runs generations, restarting after crashes as Supervision decides, until it gives up. */
  const worker = (slot: Slot): Effect.Effect<void> =>
    Effect.gen(function*() {
      while (true) {
        const crash = yield* Effect.flip(generation(slot))
        // Shutting down: no restart; the crashed turn's message stays in the inbox for the next start.
        if (deps.shuttingDown() !== undefined) return
        const now = yield* Clock.currentTimeMillis
        const decision = Supervision.onCrash(slot.supervision, now, slot.startedAt, settings.supervision)
        yield* Effect.logWarning(`${slot.label} crashed: ${crash.detail}`).pipe(
          Effect.annotateLogs({
            event: "orchestrator.crash",
            swarm: settings.swarm,
            instance: slot.label,
            consecutiveCrashes: decision.crashes
          })
        )
        if (decision._tag === "GiveUp") return yield* giveUp(slot, decision.reason)
        slot.restarts++
        yield* Metrics.restarted(slot.address.agentName, decision.crashLoop ? "crash_loop_backoff" : "crash")
        slot.nextStartAt = now + decision.delayMillis
        slot.status = decision.crashLoop ? "crashLoopBackOff" : "restarting"
        if (decision.crashLoop) {
          yield* Effect.logWarning(`${slot.label} is in crashLoopBackOff`).pipe(
            Effect.annotateLogs({
              event: "orchestrator.crashLoopBackOff",
              swarm: settings.swarm,
              agent: slot.address.agentName,
              instance: slot.address.instanceKey,
              consecutiveCrashes: decision.crashes,
              crashThreshold: settings.supervision.crashThreshold,
              backoffMs: decision.delayMillis,
              nextStartAt: new Date(slot.nextStartAt).toISOString()
            })
          )
        }
        if (decision.delayMillis > 0) yield* Effect.sleep(Duration.millis(decision.delayMillis))
      }
    }).pipe(
      // Interrupted (restart, stop, shutdown) with a turn in flight: the turn stays open in the instance's
      // log; its envelope goes back to the head of the mailbox so the next worker continues that turn.
      Effect.onInterrupt(() =>
        Effect.suspend(() => {
          const current = slot.current
          slot.current = undefined
          return current === undefined || current.state !== "running" ?
            Effect.void :
            slot.mailbox.requeue(current)
        })
      )
    )

  return worker
}
