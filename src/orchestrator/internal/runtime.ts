/**
 * The orchestrator's machinery: the instance registry (one slot per `agent@instanceKey`, created on the
 * first message: `accept.ts`), and one worker fiber per slot (`worker.ts`) that starts the instance on its
 * host (one generation) and runs its mailbox one turn at a time. With a durable inbox (`inbox.ts`) every
 * accepted message is on disk before `send` returns. Here: requests and their deadlines, `stop` and
 * `restart` of one instance, and the wiring of the lifecycle (`lifecycle.ts`, `shutdown.ts`) and `reload`.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Scope from "effect/Scope"
import * as AgentAddress from "../AgentAddress.js"
import type { ShutdownReason } from "../AgentHost.js"
import { AgentRequestTimeout } from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import * as Accept from "./accept.js"
import * as Deadlines from "./deadlines.js"
import * as Lifecycle from "./lifecycle.js"
import type * as Mailbox from "./mailbox.js"
import * as Metrics from "./metrics.js"
import * as Reload from "./reload.js"
import * as Shutdown from "./shutdown.js"
import { acknowledge, type Opener, type Registry, type Settings, type Slot, unavailable } from "./slot.js"
import * as Worker from "./worker.js"

export const make = (settings: Settings, open: Opener) =>
  Effect.gen(function*() {
    const registry: Registry = {
      settings,
      slots: new Map<string, Slot>(),
      shuttingDown: undefined,
      agentNames: settings.agentNames
    }
    const { slots } = registry
    // The slots' own scopes (their inbox writers) are children of this one, made before the shutdown
    // finalizer below, so they close after it: the shutdown still acknowledges the turns it waits for.
    const slotsScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    /**
     * Answers every queued message `AGENT_UNAVAILABLE`. When they leave the inbox for good (`acknowledge`: a
     * stop, a crash given up), the async requests among them (the turn a stop interrupted is back at the
     * head) are answered in their callers' replies inboxes first, as a turn's end answers them: an async
     * caller learns it now, not at its deadline. A shutdown keeps them for the next start.
     */
    const failQueued = (slot: Slot, options: { readonly acknowledge: boolean }) =>
      Effect.zipRight(
        options.acknowledge ? answerAsync(slot) : Effect.void,
        Shutdown.failQueued(registry, slot, options)
      )
    const answerAsync = (slot: Slot) =>
      Effect.suspend(() => {
        const onTurnEnd = settings.onTurnEnd
        if (onTurnEnd === undefined) return Effect.void
        const message = unavailable(registry, slot).message
        return Effect.forEach(
          slot.mailbox.queued(),
          (envelope) => onTurnEnd(slot.address, envelope.input, { _tag: "Failed", code: "AGENT_UNAVAILABLE", message }),
          { discard: true }
        )
      })
    // Runs after the workers are interrupted (finalizers run in reverse order): a turn that was in flight
    // stays open in its log and is continued at the next start; its requester is told why it got no reply.
    // The messages stay in the durable inbox (not acknowledged): the next start delivers them.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(slots.values(), (slot) => failQueued(slot, { acknowledge: false }), { discard: true })
    )
    const workers = yield* FiberMap.make<string>()
    const deadlines = yield* Deadlines.make

    const worker = Worker.make({
      settings,
      open,
      acknowledge,
      failQueued,
      unavailable: (slot) => unavailable(registry, slot),
      shuttingDown: () => registry.shuttingDown
    })

    // Workers are forked from this fiber's state (the orchestrator's), not from the fiber of the message that
    // starts them: a worker lives as long as its instance, and forked from a request it kept that request's
    // span (its call-site capture, its exit: the whole reply) and a copy of its FiberRefs while idle.
    const runWorker = yield* FiberMap.runtime(workers)<never>()
    const start = (slot: Slot) => Effect.sync(() => runWorker(slot.label, worker(slot), { onlyIfMissing: true }))
    const { acceptNow, enqueue, slotFor, wake } = yield* Accept.make({ registry, slotsScope, start })

    /**
     * Stops the worker: the instance is told why, an in-flight turn is interrupted and stays open in the log
     * (continued later).
     */
    const halt = (slot: Slot, reason: ShutdownReason) =>
      Effect.suspend(() => {
        slot.stopReason = reason
        return FiberMap.remove(workers, slot.label)
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
     * requests) answers `AgentRequestTimeout` and cancels the turn when it passes. One exit hook settles
     * the wait: the deadline goes, and an interrupted wait cancels the turn. A live in-memory slot takes the
     * message synchronously (`acceptNow`: no Effect operation of its own).
     */
    const request = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, timeoutMs?: number) =>
      Effect.uninterruptibleMask((restore) => {
        const wait = ({ envelope, slot }: Accept.Accepted) => {
          const remove = timeoutMs === undefined ? undefined : deadlines.unsafeAdd(
            timeoutMs,
            expire(slot, envelope, timeoutMs)
          )
          return Effect.onExit(restore(Deferred.await(envelope.reply)), (exit) => {
            remove?.()
            return Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) ? cancel(slot, envelope) : Effect.void
          })
        }
        const now = acceptNow(address, input)
        return now === undefined ?
          Effect.flatMap(enqueue(address, input), wait) :
          "envelope" in now ?
          wait(now) :
          Effect.fail(now)
      })

    const send = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput) =>
      Effect.asVoid(enqueue(address, input))

    /** Like `request`, answering once accepted; `cancelOnInterrupt`: interrupting the wait cancels the turn. */
    const submit = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, cancelOnInterrupt: boolean) =>
      Effect.map(enqueue(address, input), ({ envelope, slot }) =>
        cancelOnInterrupt
          ? Deferred.await(envelope.reply).pipe(Effect.onInterrupt(() => cancel(slot, envelope)))
          : Deferred.await(envelope.reply))

    /**
     * `submit` whose wait has a deadline on the registry (no timer fiber per request): once `timeoutMs` have
     * passed since it was accepted, the turn is cancelled (unqueued or interrupted) and the wait fails with
     * `AgentRequestTimeout`. Interrupting the wait cancels the turn.
     */
    const submitWithin = (address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, timeoutMs: number) =>
      Effect.flatMap(enqueue(address, input), ({ envelope, slot }) =>
        Effect.map(deadlines.add(timeoutMs, expire(slot, envelope, timeoutMs)), (remove) =>
          Deferred.await(envelope.reply).pipe(
            Effect.onInterrupt(() =>
              cancel(slot, envelope)
            ),
            Effect.ensuring(Effect.sync(remove))
          )))

    const existing = (address: AgentAddress.AgentAddress) =>
      Effect.suspend(() => {
        const slot = slots.get(AgentAddress.format(address))
        return slot !== undefined ? Effect.succeed(slot) : slotFor(address)
      })

    const stop = (address: AgentAddress.AgentAddress, reason: string) =>
      Effect.gen(function*() {
        const slot = yield* existing(address)
        // Before the halt: a turn in flight is recorded as abandoned with it (see `Worker.abandonStopped`).
        slot.reason = reason
        yield* halt(slot, "stop")
        slot.status = "stopped"
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
        // Restarted with nothing to do, an instance reopens from its log at its next message: until then it
        // is idle (as a released one would be), not `restarting` for as long as no message comes.
        status: slot.status === "restarting" && slot.current === undefined && slot.mailbox.size() === 0 ?
          "idle" as const :
          slot.status,
        reason: slot.reason,
        queued: slot.mailbox.size(),
        consecutiveCrashes: slot.supervision.consecutiveCrashes,
        nextStartAt: slot.nextStartAt,
        restarts: slot.restarts,
        generation: slot.generation,
        pid: slot.hosted?.pid
      }))
    )

    const { release, shutdown } = Shutdown.make({ registry, workers, halt })

    // Runs first (finalizers run in reverse order): the graceful shutdown.
    yield* Effect.addFinalizer(() =>
      shutdown("orchestrator_shutdown")
    )

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
      agentNames: () => registry.agentNames,
      setAgentNames: (names) => void (registry.agentNames = names),
      halt,
      start: (slot) => Effect.asVoid(start(slot)),
      stop,
      shuttingDown: () => registry.shuttingDown !== undefined
    })

    return {
      send,
      submit,
      submitWithin,
      request,
      stop,
      restart,
      list,
      shutdown,
      release: releaseAddress,
      recover,
      reload,
      wake
    }
  })
