/**
 * The orchestrator's machinery: the instance registry (one slot per `agent@instanceKey`, created on the
 * first message), and one worker fiber per slot that starts the instance on its host (one generation) and
 * runs its mailbox one turn at a time.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import type * as Scope from "effect/Scope"
import type { TurnResult } from "../../pipeline/Middleware.js"
import * as AgentAddress from "../AgentAddress.js"
import type { Hosted, ShutdownReason } from "../AgentHost.js"
import {
  AgentMailboxFull,
  AgentNotFound,
  AgentTurnFailed,
  AgentUnavailable,
  type OrchestratorError
} from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import { describe } from "./hostInProcess.js"
import * as Mailbox from "./mailbox.js"

export type InstanceStatus =
  | "starting"
  | "idle"
  | "processing"
  | "restarting"
  | "crashLoopBackOff"
  | "stopped"
  | "crashed"

export interface Slot {
  readonly address: AgentAddress.AgentAddress
  readonly label: string
  readonly mailbox: Mailbox.Mailbox
  status: InstanceStatus
  reason: string | undefined
  restarts: number
  readonly supervision: Supervision.State
  /** When the current worker opened the instance (ms). */
  startedAt: number
  /** When a restart after a crash is due (ms), in backoff. */
  nextStartAt: number | undefined
  /** The envelope whose turn runs now. */
  current: Mailbox.Envelope | undefined
  /** Starts so far: the current worker's instance belongs to this generation. */
  generation: number
  /** The instance of the current generation, once started. */
  hosted: Hosted | undefined
  /** Why the current generation is being stopped (set before its worker is interrupted). */
  stopReason: ShutdownReason | undefined
}

/** Starts the instance of an address on its host for one generation (closing the scope stops it). */
export type Opener = (
  address: AgentAddress.AgentAddress,
  generation: number
) => Effect.Effect<Hosted, AgentTurnFailed, Scope.Scope>

export interface Settings {
  readonly swarm: string
  readonly agentNames: ReadonlyArray<string>
  readonly mailboxCapacity: number
  readonly supervision: Supervision.Settings
  /** Records `crashed` / `stopped` (with the reason) where the instance's status lives. */
  readonly persistStatus: (
    address: AgentAddress.AgentAddress,
    status: "crashed" | "stopped",
    reason: string
  ) => Effect.Effect<void>
}

/** The signal that ends a worker generation: its instance crashed. */
class Crashed {
  readonly _tag = "Crashed"
  constructor(readonly detail: string) {}
}

export const make = (settings: Settings, open: Opener) =>
  Effect.gen(function*() {
    const slots = new Map<string, Slot>()
    let shuttingDown = false
    // Runs after the workers are interrupted (finalizers run in reverse order): a turn that was in flight
    // stays open in its log and is continued at the next start; its requester is told why it got no reply.
    yield* Effect.addFinalizer(() => Effect.forEach(slots.values(), (slot) => failQueued(slot), { discard: true }))
    const workers = yield* FiberMap.make<string>()
    let nextId = 0

    const unavailable = (slot: Slot) =>
      new AgentUnavailable({
        address: slot.label,
        status: shuttingDown ? "shutting_down" : slot.status === "crashed" ? "crashed" : "stopped",
        reason: shuttingDown ? "orchestrator_shutdown" : slot.reason ?? slot.status
      })

    /** Runs one envelope's turn on the instance; the outcome completes its reply. */
    const runEnvelope = (slot: Slot, hosted: Hosted, envelope: Mailbox.Envelope) =>
      Effect.gen(function*() {
        slot.status = "processing"
        slot.current = envelope
        const resumed = envelope.started
        envelope.started = true
        const fiber = yield* Effect.fork(hosted.run(envelope.input, {
          resume: resumed,
          ...(envelope.input.onDelta === undefined ? {} : { onDelta: envelope.input.onDelta })
        }))
        envelope.fiber = fiber
        const exit = yield* Fiber.await(fiber)
        envelope.fiber = undefined
        slot.current = undefined
        slot.status = "idle"
        if (Exit.isSuccess(exit)) {
          envelope.state = "done"
          return yield* Deferred.succeed(envelope.reply, exit.value)
        }
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "Some" && failure.value._tag === "HostCrashed") {
          // The envelope waits at the head of the mailbox; the restarted instance continues its turn.
          yield* slot.mailbox.requeue(envelope)
          return yield* Effect.fail(new Crashed(failure.value.detail))
        }
        envelope.state = "done"
        if (failure._tag === "Some" && failure.value._tag === "AgentTurnFailed") {
          return yield* Deferred.fail(envelope.reply, failure.value)
        }
        // Cancelled by its requester (a timeout): the requester is gone, nobody reads the reply.
        return yield* Deferred.interrupt(envelope.reply)
      })

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

    /** One generation: opens the instance and runs its mailbox until it crashes (fails with Crashed). */
    const generation = (slot: Slot) =>
      Effect.gen(function*() {
        let hosted: Hosted | undefined
        slot.startedAt = yield* Clock.currentTimeMillis
        slot.nextStartAt = undefined
        slot.hosted = undefined
        if (slot.status !== "restarting") slot.status = "starting"
        while (true) {
          // An instance that ends while it waits for a message crashed (a run in flight reports it itself).
          const envelope = hosted === undefined ?
            yield* slot.mailbox.take :
            yield* Effect.raceFirst(slot.mailbox.take, watchExit(slot, hosted))
          if (hosted === undefined) {
            const generation = ++slot.generation
            const opened = yield* Effect.exit(open(slot.address, generation))
            if (Exit.isFailure(opened)) {
              envelope.state = "done"
              const { detail, errorTag } = describe(opened.cause)
              yield* Deferred.fail(envelope.reply, new AgentTurnFailed({ address: slot.label, errorTag, detail }))
              continue
            }
            hosted = opened.value
            slot.hosted = hosted
            slot.stopReason = undefined
            const stopping = hosted
            // Runs first when the generation ends (before the host's own finalizers): the instance is told why.
            yield* Effect.addFinalizer(() =>
              Effect.suspend(() => {
                slot.hosted = undefined
                return stopping.stop(slot.stopReason ?? (shuttingDown ? "orchestrator_shutdown" : "restart"))
              })
            )
            slot.status = "idle"
          }
          yield* runEnvelope(slot, hosted, envelope)
        }
      }).pipe(Effect.scoped)

    const giveUp = (slot: Slot, reason: string) =>
      Effect.gen(function*() {
        slot.status = "crashed"
        slot.reason = reason
        yield* Effect.logError(`${slot.label} crashed and will not be restarted: ${reason}`).pipe(
          Effect.annotateLogs({ event: "orchestrator.crashed", swarm: settings.swarm, instance: slot.label })
        )
        yield* failQueued(slot)
        yield* settings.persistStatus(slot.address, "crashed", reason)
      })

    /** Runs generations, restarting after crashes as Supervision decides, until it gives up. */
    const worker = (slot: Slot): Effect.Effect<void> =>
      Effect.gen(function*() {
        while (true) {
          const crash = yield* Effect.flip(generation(slot))
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

    const start = (slot: Slot) => FiberMap.run(workers, slot.label, worker(slot), { onlyIfMissing: true })

    const slotFor = (address: AgentAddress.AgentAddress) =>
      Effect.gen(function*() {
        if (!settings.agentNames.includes(address.agentName)) {
          return yield* new AgentNotFound({
            agentName: address.agentName,
            swarm: settings.swarm,
            known: settings.agentNames
          })
        }
        const label = AgentAddress.format(address)
        const existing = slots.get(label)
        if (existing !== undefined) return existing
        const slot: Slot = {
          address,
          label,
          mailbox: yield* Mailbox.make,
          status: "starting",
          reason: undefined,
          restarts: 0,
          supervision: Supervision.initial(),
          startedAt: 0,
          nextStartAt: undefined,
          current: undefined,
          generation: 0,
          hosted: undefined,
          stopReason: undefined
        }
        slots.set(label, slot)
        yield* start(slot)
        return slot
      })

    const enqueue = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      Effect.gen(function*() {
        const slot = yield* slotFor(address)
        if (shuttingDown || slot.status === "stopped" || slot.status === "crashed") {
          // A stopped or crashed instance answers, it never queues: `restart` brings it back.
          return yield* unavailable(slot)
        }
        if (slot.mailbox.size() >= settings.mailboxCapacity) {
          return yield* new AgentMailboxFull({ address: slot.label, capacity: settings.mailboxCapacity })
        }
        const envelope: Mailbox.Envelope = {
          id: nextId++,
          input,
          reply: yield* Deferred.make<TurnResult, OrchestratorError>(),
          state: "queued",
          started: false,
          fiber: undefined
        }
        yield* slot.mailbox.offer(envelope)
        return { slot, envelope }
      })

    /** Gives up on an envelope: out of the mailbox if queued, its turn interrupted if running. */
    const cancel = (slot: Slot, envelope: Mailbox.Envelope) =>
      Effect.suspend(() => {
        if (slot.mailbox.cancel(envelope)) return Effect.void
        const fiber = envelope.fiber
        return envelope.state === "running" && fiber !== undefined ? Fiber.interrupt(fiber) : Effect.void
      }).pipe(Effect.asVoid)

    const request = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          enqueue(address, input),
          ({ envelope, slot }) =>
            restore(Deferred.await(envelope.reply)).pipe(Effect.onInterrupt(() => cancel(slot, envelope)))
        )
      )

    const send = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      Effect.asVoid(enqueue(address, input))

    const submit = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      Effect.map(enqueue(address, input), ({ envelope }) => Deferred.await(envelope.reply))

    const existing = (address: AgentAddress.AgentAddress) =>
      Effect.suspend(() => {
        const slot = slots.get(AgentAddress.format(address))
        return slot !== undefined ? Effect.succeed(slot) : slotFor(address)
      })

    /**
     * Stops the worker: the instance is told why, an in-flight turn is interrupted and stays open in the log
     * (continued later).
     */
    const halt = (slot: Slot, reason: ShutdownReason) =>
      Effect.suspend(() => {
        slot.stopReason = reason
        return FiberMap.remove(workers, slot.label)
      })

    const failQueued = (slot: Slot) =>
      Effect.forEach(slot.mailbox.drain(), (envelope) => {
        envelope.state = "done"
        return Deferred.fail(envelope.reply, unavailable(slot))
      }, { discard: true })

    const stop = (address: AgentAddress.AgentAddress, reason: string) =>
      Effect.gen(function*() {
        const slot = yield* existing(address)
        yield* halt(slot, "stop")
        slot.status = "stopped"
        slot.reason = reason
        yield* failQueued(slot)
        yield* settings.persistStatus(slot.address, "stopped", reason)
      })

    const restart = (address: AgentAddress.AgentAddress) =>
      Effect.gen(function*() {
        const slot = yield* existing(address)
        yield* halt(slot, "restart")
        slot.reason = undefined
        slot.status = "restarting"
        slot.restarts++
        Supervision.reset(slot.supervision)
        yield* start(slot)
      })

    const list = Effect.sync(() =>
      Array.from(slots.values(), (slot) => ({
        address: slot.label,
        agentName: slot.address.agentName,
        instanceKey: slot.address.instanceKey,
        status: slot.status,
        reason: slot.reason,
        queued: slot.mailbox.size(),
        consecutiveCrashes: slot.supervision.consecutiveCrashes,
        nextStartAt: slot.nextStartAt,
        restarts: slot.restarts
      }))
    )

    // Runs before the workers are interrupted (finalizers run in reverse order): no new messages, and the
    // requesters of queued ones are told why.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        shuttingDown = true
        return Effect.forEach(slots.values(), failQueued, { discard: true })
      })
    )

    return { send, submit, request, stop, restart, list }
  })
