/**
 * Accepting a message: the slot of its address (created on the first message: its durable inbox opened,
 * the messages accepted before queued first, its worker started), then the message into its mailbox. With
 * a durable inbox the message is on disk before the sender goes on. Accepting is one synchronous step
 * against an idle release (also synchronous): a message is either accepted by a slot that stays, or goes
 * to the next slot of its address.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import * as Message from "../../conversation/Message.js"
import type { TurnResult } from "../../pipeline/Middleware.js"
import * as AgentAddress from "../AgentAddress.js"
import { AgentMailboxFull, AgentNotFound, type AgentUnavailable, type OrchestratorError } from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import * as Inbox from "./inbox.js"
import * as Mailbox from "./mailbox.js"
import * as Metrics from "./metrics.js"
import { acknowledge, type Registry, type Slot, unavailable } from "./slot.js"

/** What accepting needs besides the registry. */
export interface Deps {
  readonly registry: Registry
  /** The parent of every slot's own scope (its inbox writer). */
  readonly slotsScope: Scope.Scope
  /** Starts the slot's worker (if not running). */
  readonly start: (slot: Slot) => Effect.Effect<unknown>
}

/** An accepted message: the slot that took it and its envelope (its `reply` is the turn's outcome). */
export interface Accepted {
  readonly slot: Slot
  readonly envelope: Mailbox.Envelope
}

export const make = (deps: Deps) =>
  Effect.map(Effect.makeSemaphore(1), (creating) => {
    const { registry, start } = deps
    const { settings, slots } = registry
    let nextId = 0

    /** The live slot of an address, created on its first message; `AgentNotFound` for agents not in the Swarm. */
    const slotFor = (address: AgentAddress.AgentAddress): Effect.Effect<Slot, OrchestratorError> =>
      Effect.suspend((): Effect.Effect<Slot, OrchestratorError> => {
        if (!registry.agentNames.includes(address.agentName)) {
          return Effect.fail(
            new AgentNotFound({ agentName: address.agentName, swarm: settings.swarm, known: registry.agentNames })
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
        const slotScope = yield* Scope.fork(deps.slotsScope, ExecutionStrategy.sequential)
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
      if (registry.shuttingDown !== undefined || slot.status === "stopped" || slot.status === "crashed") {
        // A stopped or crashed instance answers, it never queues: `restart` brings it back.
        return unavailable(registry, slot)
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
        if (registry.shuttingDown === undefined && slot.status !== "stopped" && slot.status !== "crashed") {
          return slot.mailbox.unsafeOffer(envelope)
        }
        refused = unavailable(registry, slot)
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
          const ack = registry.shuttingDown === undefined ? acknowledge(slot, [envelope]) : Effect.void
          return Effect.zipRight(ack, Effect.fail(refused))
        }))
      )
      return { envelope, depth, durable }
    }

    /**
     * Accepts a message for `address` now, synchronously, when that needs no Effect: its slot is live and
     * keeps no durable inbox (the request hot path: no lookup effect, no flatMap). Undefined otherwise (go
     * through `enqueue`). Must be called while running (it accepts the message on the spot).
     */
    const acceptNow = (
      address: AgentAddress.AgentAddress,
      input: Mailbox.TurnInput
    ): Accepted | OrchestratorError | undefined => {
      const slot = slots.get(AgentAddress.format(address))
      if (slot === undefined || slot.inbox !== undefined || !registry.agentNames.includes(address.agentName)) {
        return undefined
      }
      const a = accept(slot, input, undefined)
      if (a === undefined) return undefined
      if (!("envelope" in a)) return a
      Metrics.unsafeRecordDepth(address.agentName, a.depth)
      return { slot, envelope: a.envelope }
    }

    /**
     * Accepts a message for `address` (durable before it returns, with an inbox); with `onlyIf`, only when
     * the slot passes it at the moment of acceptance (else undefined, nothing enqueued).
     */
    const enqueueIf = (
      address: AgentAddress.AgentAddress,
      input: Mailbox.TurnInput,
      onlyIf: ((slot: Slot) => boolean) | undefined
    ): Effect.Effect<Accepted | undefined, OrchestratorError> =>
      Effect.flatMap(slotFor(address), (slot) => {
        const accepted = (durableId: { id: string; at: number } | undefined) => {
          if (onlyIf !== undefined && !slot.released && !onlyIf(slot)) return Effect.succeed(undefined)
          const a = accept(slot, input, durableId)
          // Released between the lookup and now (idle release): the next slot takes it.
          if (a === undefined) return enqueueIf(address, input, onlyIf)
          if (!("envelope" in a)) return Effect.fail(a)
          const done: Accepted = { slot, envelope: a.envelope }
          if (a.durable === undefined) {
            Metrics.unsafeRecordDepth(address.agentName, a.depth)
            return Effect.succeed(done)
          }
          return Effect.zipRight(
            a.durable,
            Effect.sync(() => (Metrics.unsafeRecordDepth(address.agentName, a.depth), done))
          )
        }
        if (slot.inbox === undefined) return accepted(undefined)
        // Uninterruptible from the check to the inbox write's end: an accepted message is counted in
        // `accepting` until it is in the mailbox (or refused), whatever happens to the sender.
        return Effect.uninterruptible(Effect.flatMap(
          Effect.zip(Message.makeId, Clock.currentTimeMillis),
          ([id, at]) => accepted({ id: "in-" + id.slice(4), at })
        ))
      })

    /** Accepts a message for `address` (durable before it returns, with an inbox). */
    const enqueue = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      // Never undefined without `onlyIf`.
      enqueueIf(address, input, undefined) as Effect.Effect<Accepted, OrchestratorError>

    /**
     * Quiet: a wake-up may go to it. Nothing runs or waits in its mailbox (that turn's next step reads
     * the replies), it answers (not stopped, crashed or shutting down); idle, starting, in backoff, or
     * released (it comes back from its log).
     */
    const quiet = (slot: Slot | undefined) =>
      registry.shuttingDown === undefined && (slot === undefined || slot.released ||
        (slot.status !== "stopped" && slot.status !== "crashed" && slot.current === undefined &&
          slot.mailbox.size() === 0 && slot.accepting === 0))
    /** Addresses being woken; true: called again meanwhile (a reply may have come after `build` read). */
    const waking = new Map<string, boolean>()

    /**
     * Enqueues `build`'s message (undefined: nothing to say) for a quiet instance, checked when called and
     * again when accepted; one at a time per address (a burst of calls makes one message; a call that
     * comes while `build` runs makes it run again if it found nothing). True when it was enqueued. Never
     * fails: an address the Swarm does not know, or a refusal, is logged.
     */
    const wake = (
      address: AgentAddress.AgentAddress,
      build: Effect.Effect<Mailbox.TurnInput | undefined>
    ): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        const label = AgentAddress.format(address)
        if (waking.has(label)) return Effect.sync(() => (waking.set(label, true), false))
        if (!quiet(slots.get(label))) return Effect.succeed(false)
        waking.set(label, false)
        const attempt = (): Effect.Effect<boolean> =>
          build.pipe(
            Effect.flatMap((input) =>
              input === undefined ?
                Effect.succeed(false) :
                Effect.map(enqueueIf(address, input, quiet), (a) => a !== undefined)
            ),
            Effect.catchAll((e) => Effect.as(Effect.logWarning(`${label} was not woken: ${e.message}`), false)),
            Effect.flatMap((enqueued) => {
              if (enqueued || waking.get(label) !== true || !quiet(slots.get(label))) {
                waking.delete(label)
                return Effect.succeed(enqueued)
              }
              waking.set(label, false)
              return attempt()
            })
          )
        return attempt().pipe(Effect.onInterrupt(() => Effect.sync(() => void waking.delete(label))))
      })

    return { slotFor, enqueue, acceptNow, wake }
  })
