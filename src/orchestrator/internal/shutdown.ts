/**
 * Taking instances down: answering the queued messages of a slot that will not run them, the idle release
 * of one slot, and the graceful shutdown of them all (the grace period for turns in flight, then the
 * workers interrupted, the durable inbox kept for the next start).
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Scope from "effect/Scope"
import type { ShutdownReason } from "../AgentHost.js"
import * as Lifecycle from "./lifecycle.js"
import { acknowledge, type Registry, type Slot, unavailable } from "./slot.js"

/** What taking instances down needs besides the registry. */
export interface Deps {
  readonly registry: Registry
  /** The workers by slot label. */
  readonly workers: FiberMap.FiberMap<string>
  /** Stops the slot's worker, telling its instance why. */
  readonly halt: (slot: Slot, reason: ShutdownReason) => Effect.Effect<void>
}

/** Answers every queued message `AGENT_UNAVAILABLE`; `acknowledge: false` keeps them in the inbox. */
export const failQueued = (registry: Registry, slot: Slot, options: { readonly acknowledge: boolean }) =>
  Effect.gen(function*() {
    const drained = slot.mailbox.drain()
    if (options.acknowledge) yield* acknowledge(slot, drained)
    yield* Effect.forEach(drained, (envelope) => {
      envelope.state = "done"
      return Deferred.fail(envelope.reply, unavailable(registry, slot))
    }, { discard: true })
  })

export const make = (deps: Deps) => {
  const { halt, registry, workers } = deps
  const { settings, slots } = registry

  /** Idle release: out of the registry, its worker and instance closed; the next message reopens it from its log. */
  const release = (slot: Slot) =>
    Effect.gen(function*() {
      // Synchronous like `accept`: a message is either accepted before (the slot is busy) or goes to a new slot.
      const released = yield* slot.gate.withPermits(1)(Effect.sync(() => {
        if (slot.released || slot.accepting > 0 || !Lifecycle.isIdle(slot)) return false
        slot.released = true
        slots.delete(slot.label)
        return true
      }))
      if (!released) return false
      yield* halt(slot, "idle")
      yield* Scope.close(slot.scope, Exit.void)
      return true
    })

  /**
   * Graceful shutdown: no new messages; queued ones stay in the inbox and their requesters get
   * `AGENT_UNAVAILABLE` (`shutting_down`, the reason); in-flight turns get the grace period to finish,
   * then the workers are interrupted (the turn stays open in the log and is continued at the next start).
   */
  const shutdown = (reason: Lifecycle.ShutdownReason) =>
    Effect.gen(function*() {
      if (registry.shuttingDown !== undefined) return
      registry.shuttingDown = reason
      const all = Array.from(slots.values())
      yield* Effect.forEach(all, (slot) => failQueued(registry, slot, { acknowledge: false }), { discard: true })
      const late = yield* Lifecycle.awaitInFlight(all, settings.lifecycle.gracePeriod)
      // Turns past the grace period are interrupted. When the process stops (`orchestrator_shutdown`) with a
      // durable inbox, the turn stays open in its log and its message in the inbox, as after a crash: the
      // next start continues it (`Lifecycle.continuesAfterShutdown`). Otherwise (a config change, a restart
      // of the swarm, no inbox) it is recorded as abandoned with the reason: the worker records it,
      // acknowledges the message and answers the requester.
      const continued = Lifecycle.continuesAfterShutdown(reason, settings.inbox !== undefined)
      yield* Effect.forEach(late, (slot) =>
        Effect.gen(function*() {
          const current = slot.current
          const fiber = current?.fiber
          yield* Effect.logWarning(
            `${slot.label}: its turn did not finish within the grace period; interrupted (${reason})` +
              (continued ? "; the next start continues it from the log" : "")
          ).pipe(Effect.annotateLogs({ event: "orchestrator.shutdown.interrupted", swarm: settings.swarm, reason }))
          if (continued || current === undefined || fiber === undefined) return
          current.cancelReason = `${reason}: the turn did not finish within the grace period of ${
            Duration.format(settings.lifecycle.gracePeriod)
          }`
          yield* Fiber.interrupt(fiber)
          yield* Deferred.await(current.reply).pipe(Effect.exit)
        }), { concurrency: "unbounded", discard: true })
      for (const slot of all) slot.stopReason = reason
      yield* FiberMap.clear(workers)
      // A turn left open went back to its mailbox: its requester is told, its message stays in the inbox.
      yield* Effect.forEach(all, (slot) => failQueued(registry, slot, { acknowledge: false }), { discard: true })
      yield* Effect.forEach(all, (slot) => Scope.close(slot.scope, Exit.void), { discard: true })
    })

  return { release, shutdown }
}
