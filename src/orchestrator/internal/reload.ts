/**
 * Reloading a Swarm's configuration in place (`Orchestrator.reload`): only the instances of the agents
 * whose configuration changed are restarted, with the reason `config_change`; every other instance keeps
 * running with its mailbox. For each restarted instance the mailbox is held (new messages are still
 * accepted, in order, but no turn starts), the turn in flight gets the grace period to finish (past it, it
 * is interrupted and recorded as interrupted, its requester told why), then the next generation opens on
 * the new configuration and takes the queued messages in their order. Agents new in the Swarm become
 * addressable; instances of agents removed from it are stopped the same graceful way.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as AgentAddress from "../AgentAddress.js"
import type { OrchestratorError } from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import * as Lifecycle from "./lifecycle.js"
import * as Metrics from "./metrics.js"
import type { Slot } from "./slot.js"

/** What one reload did. */
export interface Report {
  /** The instances restarted on the new configuration (`agent@instanceKey`). */
  readonly restarted: ReadonlyArray<string>
  /** Agents new in the Swarm (addressable from now on). */
  readonly added: ReadonlyArray<string>
  /** Agents no longer in the Swarm (new messages are refused with `AGENT_NOT_FOUND`). */
  readonly removed: ReadonlyArray<string>
  /** The instances of removed agents, stopped. */
  readonly stopped: ReadonlyArray<string>
  /** Instances whose turn was still running after the grace period: interrupted, recorded as interrupted. */
  readonly interrupted: ReadonlyArray<string>
}

/** What a reload acts through (the runtime's registry). */
export interface Core {
  readonly swarm: string
  readonly gracePeriod: Duration.Duration
  readonly slots: () => ReadonlyArray<Slot>
  readonly agentNames: () => ReadonlyArray<string>
  /** From now on, messages to other agents are refused with `AGENT_NOT_FOUND`. */
  readonly setAgentNames: (names: ReadonlyArray<string>) => void
  /** Stops the slot's worker, telling its instance why. */
  readonly halt: (slot: Slot, reason: "config_change") => Effect.Effect<void>
  /** Starts the slot's worker (a new generation opens on its next message). */
  readonly start: (slot: Slot) => Effect.Effect<void>
  /** Stops the instance for good (queued messages answered `AGENT_UNAVAILABLE`). */
  readonly stop: (address: AgentAddress.AgentAddress, reason: string) => Effect.Effect<void, OrchestratorError>
  readonly shuttingDown: () => boolean
}

/** The new Swarm's agents, and the agents (of both the old and the new Swarm) whose configuration changed. */
export interface Update {
  readonly agentNames: ReadonlyArray<string>
  readonly changed: ReadonlyArray<string>
}

/** Holds the slot's mailbox and waits for its turn in flight (the grace period); true if it had to be interrupted. */
const drain = (core: Core, slot: Slot, why: string) =>
  Effect.gen(function*() {
    yield* slot.mailbox.hold(true)
    const late = yield* Lifecycle.awaitInFlight([slot], core.gracePeriod)
    const current = slot.current
    const fiber = current?.fiber
    if (late.length === 0 || current === undefined) return false
    yield* Effect.logWarning(
      `${slot.label}: its turn did not finish within the grace period; interrupted (config_change: ${why})`
    ).pipe(Effect.annotateLogs({ event: "orchestrator.reload.interrupted", swarm: core.swarm, instance: slot.label }))
    // Without a fiber the instance is still opening: the worker's interruption puts the message back.
    if (fiber === undefined) return true
    // The worker records the turn as interrupted with this reason and answers its requester (`AgentTurnFailed`).
    slot.stopReason = "config_change"
    current.cancelReason = `config_change: ${why}; the turn did not finish within the grace period of ${
      Duration.format(core.gracePeriod)
    }`
    yield* Fiber.interrupt(fiber)
    yield* Deferred.await(current.reply).pipe(Effect.exit)
    return true
  })

/** Restarts one slot on the new configuration; undefined when it was released or shut down meanwhile. */
const restartSlot = (core: Core, slot: Slot) =>
  Effect.gen(function*() {
    const interrupted = yield* drain(core, slot, `${slot.address.agentName}'s configuration changed`)
    // Under the gate: an idle release in the meantime took the slot out of the registry (its next message
    // opens a new slot, on the new configuration), and a released slot never gets a worker again.
    const restarted = yield* slot.gate.withPermits(1)(Effect.gen(function*() {
      if (slot.released || core.shuttingDown()) return false
      yield* core.halt(slot, "config_change")
      slot.status = "restarting"
      slot.reason = undefined
      slot.restarts++
      Supervision.reset(slot.supervision)
      yield* Metrics.restarted(slot.address.agentName, "config_change")
      yield* slot.mailbox.hold(false)
      yield* core.start(slot)
      return true
    }))
    return { restarted, interrupted }
  }).pipe(Effect.ensuring(slot.mailbox.hold(false)))

/** Stops one slot of a removed agent, its turn in flight given the grace period. */
const stopSlot = (core: Core, slot: Slot) =>
  Effect.gen(function*() {
    const interrupted = yield* drain(core, slot, `${slot.address.agentName} was removed from the Swarm`)
    yield* core.halt(slot, "config_change")
    yield* core.stop(slot.address, `config_change: ${slot.address.agentName} was removed from the Swarm`).pipe(
      Effect.catchAll((e) => Effect.logWarning(`${slot.label}: could not stop it: ${e.message}`))
    )
    return interrupted
  }).pipe(Effect.ensuring(slot.mailbox.hold(false)))

/** The reload of a runtime: one at a time; every affected instance concurrently. */
export const make = (core: Core): Effect.Effect<(update: Update) => Effect.Effect<Report>> =>
  Effect.map(
    Effect.makeSemaphore(1),
    (serial) => (update: Update): Effect.Effect<Report> =>
      serial.withPermits(1)(Effect.gen(function*() {
        const before = core.agentNames()
        const after = update.agentNames
        const added = after.filter((n) => !before.includes(n))
        const removed = before.filter((n) => !after.includes(n))
        const changed = new Set(update.changed.filter((n) => after.includes(n) && before.includes(n)))
        core.setAgentNames(after)
        const slots = core.slots()
        const toRestart = slots.filter((s) => changed.has(s.address.agentName) && !s.released && s.status !== "stopped")
        const toStop = slots.filter((s) =>
          removed.includes(s.address.agentName) && !s.released && s.status !== "stopped" && s.status !== "crashed"
        )
        const restarts = yield* Effect.forEach(
          toRestart,
          (slot) => Effect.map(restartSlot(core, slot), (r) => ({ slot, ...r })),
          { concurrency: "unbounded" }
        )
        const stops = yield* Effect.forEach(
          toStop,
          (slot) => Effect.map(stopSlot(core, slot), (interrupted) => ({ slot, interrupted })),
          { concurrency: "unbounded" }
        )
        const report: Report = {
          restarted: restarts.filter((r) => r.restarted).map((r) => r.slot.label),
          added,
          removed,
          stopped: stops.map((s) => s.slot.label),
          interrupted: [...restarts, ...stops].filter((r) => r.interrupted).map((r) => r.slot.label)
        }
        yield* Effect.logInfo(
          `reloaded: restarted ${report.restarted.length} instance(s), added ${added.length}, removed ${removed.length}`
        ).pipe(Effect.annotateLogs({ event: "orchestrator.reload", swarm: core.swarm }))
        return report
      }))
  )
