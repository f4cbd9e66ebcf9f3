/**
 * The orchestrator's machinery: the instance registry (one slot per `agent@instanceKey`, created on the
 * first message), and one worker fiber per slot that starts the instance on its host (one generation) and
 * runs its mailbox one turn at a time. With a durable inbox (`inbox.ts`) every accepted message is on disk
 * before `send` returns; the lifecycle (`lifecycle.ts`: graceful shutdown, idle release, reconcile) works on
 * the slots kept here.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberMap from "effect/FiberMap"
import * as Scope from "effect/Scope"
import * as Message from "../../conversation/Message.js"
import type { TurnResult } from "../../pipeline/Middleware.js"
import * as AgentAddress from "../AgentAddress.js"
import type { Hosted, ShutdownReason } from "../AgentHost.js"
import type { CalleeOutcome } from "../AgentsApi.js"
import type { AgentTurnFailed } from "../OrchestratorError.js"
import {
  AgentMailboxFull,
  AgentNotFound,
  AgentRequestTimeout,
  AgentUnavailable,
  type OrchestratorError
} from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import * as Deadlines from "./deadlines.js"
import * as Inbox from "./inbox.js"
import * as Lifecycle from "./lifecycle.js"
import * as Mailbox from "./mailbox.js"
import * as Metrics from "./metrics.js"
import * as Reload from "./reload.js"
import * as Worker from "./worker.js"

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
  /** Its durable inbox (orchestrators with a state root). */
  readonly inbox: Inbox.InstanceInbox | undefined
  /** What the slot holds open (its inbox writer); closed when the slot is released. */
  readonly scope: Scope.CloseableScope
  /** Messages accepted and not yet in the mailbox (their inbox write runs): the slot is not released meanwhile. */
  accepting: number
  /**
   * Serializes an idle release with a reload's restart of the slot (both rare). Accepting a message does not
   * take it: it is synchronous, like the release's own check.
   */
  readonly gate: Effect.Semaphore
  /** Taken out of the registry (idle release): a sender that still holds it goes to a new slot. */
  released: boolean
  /** When its last turn ended, or it was created (ms, on `Clock`). */
  lastActive: number
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
  /** Graceful shutdown, idle release and reconcile (see `lifecycle.ts`). */
  readonly lifecycle: Lifecycle.Settings
  /** The durable inboxes (absent: the mailboxes live in memory only). */
  readonly inbox: Inbox.Store | undefined
  /** Told when a turn is over, before its message is acknowledged (async replies, see `AgentsApi`). */
  readonly onTurnEnd?:
    | ((address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, outcome: CalleeOutcome) => Effect.Effect<void>)
    | undefined
  /** Records `crashed` / `stopped` (with the reason) where the instance's status lives. */
  readonly persistStatus: (
    address: AgentAddress.AgentAddress,
    status: "crashed" | "stopped",
    reason: string
  ) => Effect.Effect<void>
}

export const make = (settings: Settings, open: Opener) =>
  Effect.gen(function*() {
    const slots = new Map<string, Slot>()
    let shuttingDown: Lifecycle.ShutdownReason | undefined
    // The slots' own scopes (their inbox writers) are children of this one, made before the shutdown
    // finalizer below, so they close after it: the shutdown still acknowledges the turns it waits for.
    const slotsScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    // Runs after the workers are interrupted (finalizers run in reverse order): a turn that was in flight
    // stays open in its log and is continued at the next start; its requester is told why it got no reply.
    // The messages stay in the durable inbox (not acknowledged): the next start delivers them.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(slots.values(), (slot) => failQueued(slot, { acknowledge: false }), { discard: true })
    )
    const workers = yield* FiberMap.make<string>()
    const deadlines = yield* Deadlines.make
    const creating = yield* Effect.makeSemaphore(1)
    let nextId = 0
    // The Swarm's agents: `reload` replaces them.
    let agentNames = settings.agentNames

    const unavailable = (slot: Slot) =>
      new AgentUnavailable({
        address: slot.label,
        status: shuttingDown !== undefined ? "shutting_down" : slot.status === "crashed" ? "crashed" : "stopped",
        reason: shuttingDown ?? slot.reason ?? slot.status
      })

    /** Acknowledges envelopes whose turn is over (they leave the durable inbox). */
    const acknowledge = (slot: Slot, envelopes: ReadonlyArray<Mailbox.Envelope>) => {
      const ids = envelopes.flatMap((e) => e.inboxId === undefined ? [] : [e.inboxId])
      return slot.inbox === undefined || ids.length === 0 ? Effect.void : slot.inbox.done(ids)
    }

    const worker = Worker.make({
      settings,
      open,
      acknowledge,
      failQueued: (slot, options) => failQueued(slot, options),
      unavailable: (slot) => unavailable(slot),
      shuttingDown: () => shuttingDown
    })

    const start = (slot: Slot) => FiberMap.run(workers, slot.label, worker(slot), { onlyIfMissing: true })

    const slotFor = (address: AgentAddress.AgentAddress): Effect.Effect<Slot, OrchestratorError> =>
      Effect.suspend((): Effect.Effect<Slot, OrchestratorError> => {
        if (!agentNames.includes(address.agentName)) {
          return Effect.fail(
            new AgentNotFound({ agentName: address.agentName, swarm: settings.swarm, known: agentNames })
          )
        }
        const label = AgentAddress.format(address)
        const existing = slots.get(label)
        if (existing !== undefined) return Effect.succeed(existing)
        return creating.withPermits(1)(Effect.suspend(() => {
          const again = slots.get(label)
          return again !== undefined ? Effect.succeed(again) : create(address, label)
        }))
      })

    /** A new slot: its inbox opened (messages accepted earlier queued first, in order), its worker started. */
    const create = (address: AgentAddress.AgentAddress, label: string) =>
      Effect.gen(function*() {
        const slotScope = yield* Scope.fork(slotsScope, ExecutionStrategy.sequential)
        const inbox = settings.inbox === undefined ? undefined : yield* settings.inbox.open(address).pipe(
          Scope.extend(slotScope),
          Effect.tapError(() => Scope.close(slotScope, Exit.void))
        )
        const slot: Slot = {
          address,
          label,
          // Current from the take on, in the same step (see `Mailbox.make`).
          mailbox: yield* Mailbox.make((envelope) => void (slot.current = envelope)),
          status: "starting",
          reason: undefined,
          restarts: 0,
          supervision: Supervision.initial(),
          startedAt: 0,
          nextStartAt: undefined,
          current: undefined,
          generation: 0,
          hosted: undefined,
          stopReason: undefined,
          inbox,
          scope: slotScope,
          accepting: 0,
          gate: yield* Effect.makeSemaphore(1),
          released: false,
          lastActive: yield* Clock.currentTimeMillis
        }
        // Recovered messages are at the head of the mailbox, ahead of anything accepted from now on.
        for (const entry of inbox?.recovered ?? []) {
          slot.mailbox.unsafeOffer(newEnvelope(Inbox.withId(entry.input, entry.id), entry.id, true))
        }
        slots.set(label, slot)
        yield* start(slot)
        return slot
      })

    const newEnvelope = (
      input: Mailbox.TurnInput,
      inboxId: string | undefined,
      recovered: boolean
    ): Mailbox.Envelope => ({
      id: nextId++,
      input,
      reply: Deferred.unsafeMake<TurnResult, OrchestratorError>(FiberId.none),
      state: "queued",
      started: false,
      fiber: undefined,
      inboxId,
      recovered,
      cancelReason: undefined,
      timedOut: undefined
    })

    /**
     * Accepts a message into the slot, or says why not (undefined: the slot was released, try the next one).
     * Synchronous, so nothing interleaves with it: an idle release (also synchronous) either released the
     * slot before, or sees the message (queued, or counted in `accepting` until its inbox write is done).
     */
    const accept = (slot: Slot, input: Mailbox.TurnInput, durableId: { id: string; at: number } | undefined) => {
      if (slot.released) return undefined
      if (shuttingDown !== undefined || slot.status === "stopped" || slot.status === "crashed") {
        // A stopped or crashed instance answers, it never queues: `restart` brings it back.
        return unavailable(slot)
      }
      if (slot.mailbox.size() >= settings.mailboxCapacity) {
        return new AgentMailboxFull({ address: slot.label, capacity: settings.mailboxCapacity })
      }
      // Its depth when accepted: the messages waiting ahead of it, and itself.
      const depth = slot.mailbox.size() + 1
      if (slot.inbox === undefined || durableId === undefined) {
        const envelope = newEnvelope(input, undefined, false)
        slot.mailbox.unsafeOffer(envelope)
        return { envelope, depth, durable: undefined }
      }
      const envelope = newEnvelope(Inbox.withId(input, durableId.id), durableId.id, false)
      slot.accepting++
      // The offer runs once the record is queued for the file (the mailbox order is the file order). A stop,
      // crash or shutdown that came meanwhile already answered the queued messages: this one is refused the
      // same way (its requester is answered, it is never left in a mailbox nobody reads).
      let refused: AgentUnavailable | undefined
      const offer = Effect.sync(() => {
        if (shuttingDown === undefined && slot.status !== "stopped" && slot.status !== "crashed") {
          return slot.mailbox.unsafeOffer(envelope)
        }
        refused = unavailable(slot)
        envelope.state = "done"
      })
      const durable = slot.inbox.put(
        slot.address,
        { id: durableId.id, input, acceptedAt: durableId.at },
        offer,
        Effect.sync(() => slot.mailbox.cancel(envelope))
      ).pipe(
        Effect.ensuring(Effect.sync(() => void slot.accepting--)),
        Effect.zipRight(Effect.suspend(() => {
          if (refused === undefined) return Effect.void
          // Stopped or crashed: acknowledged like the queued messages it missed; a shutdown keeps it in
          // the inbox for the next start (as `failQueued` does).
          const ack = shuttingDown === undefined ? acknowledge(slot, [envelope]) : Effect.void
          return Effect.zipRight(ack, Effect.fail(refused))
        }))
      )
      return { envelope, depth, durable }
    }

    const enqueue = (
      address: AgentAddress.AgentAddress,
      input: Mailbox.TurnInput
    ): Effect.Effect<{ slot: Slot; envelope: Mailbox.Envelope }, OrchestratorError> =>
      Effect.flatMap(slotFor(address), (slot) => {
        const accepted = (durableId: { id: string; at: number } | undefined) => {
          const a = accept(slot, input, durableId)
          // Released between the lookup and now (idle release): the next slot takes it.
          if (a === undefined) return enqueue(address, input)
          if (!("envelope" in a)) return Effect.fail(a)
          const done = Effect.as(Metrics.recordDepth(address.agentName, a.depth), { slot, envelope: a.envelope })
          return a.durable === undefined ? done : Effect.zipRight(a.durable, done)
        }
        if (slot.inbox === undefined) return accepted(undefined)
        // Uninterruptible from the check to the inbox write's end: an accepted message is counted in
        // `accepting` until it is in the mailbox (or refused), whatever happens to the sender.
        return Effect.uninterruptible(Effect.flatMap(
          Effect.zip(Message.makeId, Clock.currentTimeMillis),
          ([id, at]) => accepted({ id: "in-" + id.slice(4), at })
        ))
      })

    /** Gives up on an envelope: out of the mailbox if queued, its turn interrupted if running. */
    const cancel = (slot: Slot, envelope: Mailbox.Envelope) =>
      Effect.suspend(() => {
        if (slot.mailbox.cancel(envelope)) return acknowledge(slot, [envelope])
        envelope.cancelReason = "its requester stopped waiting (the request was cancelled or timed out)"
        const fiber = envelope.fiber
        return envelope.state === "running" && fiber !== undefined ? Fiber.interrupt(fiber) : Effect.void
      }).pipe(Effect.asVoid)

    /** The deadline of a request passed: its turn is cancelled and its requester gets the timeout. */
    const expire = (slot: Slot, envelope: Mailbox.Envelope, timeoutMs: number) =>
      Effect.suspend(() => {
        if (envelope.state === "done" || envelope.state === "cancelled") return Effect.void
        const error = new AgentRequestTimeout({ address: slot.label, timeoutMs })
        envelope.timedOut = error
        return Effect.zipRight(cancel(slot, envelope), Deferred.fail(envelope.reply, error))
      })

    /**
     * Enqueues and waits for the reply; with `timeoutMs`, the deadline registry (one timer fiber for all
     * requests) answers `AgentRequestTimeout` and cancels the turn when it passes.
     */
    const request = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, timeoutMs?: number) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(enqueue(address, input), ({ envelope, slot }) => {
          const wait = restore(Deferred.await(envelope.reply)).pipe(Effect.onInterrupt(() => cancel(slot, envelope)))
          return timeoutMs === undefined ? wait : Effect.flatMap(
            deadlines.add(timeoutMs, expire(slot, envelope, timeoutMs)),
            (remove) => Effect.ensuring(wait, Effect.sync(remove))
          )
        })
      )

    const send = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      Effect.asVoid(enqueue(address, input))

    /** Like `request`, answering once accepted; `cancelOnInterrupt`: interrupting the wait cancels the turn. */
    const submit = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, cancelOnInterrupt: boolean) =>
      Effect.map(enqueue(address, input), ({ envelope, slot }) =>
        cancelOnInterrupt
          ? Deferred.await(envelope.reply).pipe(Effect.onInterrupt(() => cancel(slot, envelope)))
          : Deferred.await(envelope.reply))

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

    /** Answers every queued message `AGENT_UNAVAILABLE`; `acknowledge: false` keeps them in the inbox. */
    const failQueued = (slot: Slot, options: { readonly acknowledge: boolean }) =>
      Effect.gen(function*() {
        const drained = slot.mailbox.drain()
        if (options.acknowledge) yield* acknowledge(slot, drained)
        yield* Effect.forEach(drained, (envelope) => {
          envelope.state = "done"
          return Deferred.fail(envelope.reply, unavailable(slot))
        }, { discard: true })
      })

    const stop = (address: AgentAddress.AgentAddress, reason: string) =>
      Effect.gen(function*() {
        const slot = yield* existing(address)
        yield* halt(slot, "stop")
        slot.status = "stopped"
        slot.reason = reason
        yield* failQueued(slot, { acknowledge: true })
        yield* settings.persistStatus(slot.address, "stopped", reason)
      })

    const restart = (address: AgentAddress.AgentAddress) =>
      Effect.gen(function*() {
        const slot = yield* existing(address)
        yield* halt(slot, "restart")
        slot.reason = undefined
        slot.status = "restarting"
        slot.restarts++
        yield* Metrics.restarted(slot.address.agentName, "manual")
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
        restarts: slot.restarts,
        generation: slot.generation,
        pid: slot.hosted?.pid
      }))
    )

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
        if (shuttingDown !== undefined) return
        shuttingDown = reason
        const all = Array.from(slots.values())
        yield* Effect.forEach(all, (slot) => failQueued(slot, { acknowledge: false }), { discard: true })
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
        yield* Effect.forEach(all, (slot) => failQueued(slot, { acknowledge: false }), { discard: true })
        yield* Effect.forEach(all, (slot) => Scope.close(slot.scope, Exit.void), { discard: true })
      })

    // Runs first (finalizers run in reverse order): the graceful shutdown.
    yield* Effect.addFinalizer(() => shutdown("orchestrator_shutdown"))

    yield* Lifecycle.reconcileLoop(settings.lifecycle, {
      slots: () => Array.from(slots.values()),
      release,
      running: (slot) => FiberMap.has(workers, slot.label),
      start: (slot) => Effect.asVoid(start(slot))
    })

    /** Delivers the messages accepted before the last stop (or crash), oldest instance first. */
    const recover = Effect.gen(function*() {
      if (settings.inbox === undefined) return
      for (const address of yield* settings.inbox.pendingAddresses) {
        yield* slotFor(address).pipe(
          Effect.catchAll((e) =>
            Effect.logWarning(`cannot deliver the inbox of ${AgentAddress.format(address)}: ${e.message}`)
          )
        )
      }
    })

    const releaseAddress = (address: AgentAddress.AgentAddress) =>
      Effect.suspend(() => {
        const slot = slots.get(AgentAddress.format(address))
        return slot === undefined ? Effect.succeed(false) : release(slot)
      })

    const reload = yield* Reload.make({
      swarm: settings.swarm,
      gracePeriod: settings.lifecycle.gracePeriod,
      slots: () => Array.from(slots.values()),
      agentNames: () => agentNames,
      setAgentNames: (names) => void (agentNames = names),
      halt,
      start: (slot) => Effect.asVoid(start(slot)),
      stop,
      shuttingDown: () => shuttingDown !== undefined
    })

    return { send, submit, request, stop, restart, list, shutdown, release: releaseAddress, recover, reload }
  })
