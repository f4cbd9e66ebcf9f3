/**
 * The events of one extension environment: this instance's runtime events from the `EventBus`, and the
 * extension events its extensions emit. Handlers run one at a time per delivery, never inside the turn;
 * their failures are logged. Each handler call has a deadline (on `Clock`): one that does not settle in
 * time is left behind with a warning and the next handler runs. An extension event emitted while a handler
 * runs (in its synchronous code, its Promise continuations or its Effect) continues that handler's chain;
 * a chain longer than the limit is dropped with a warning, so a handler that emits the event it handles
 * cannot loop forever.
 *
 * @since 0.1.0
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import type * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import { AsyncLocalStorage } from "node:async_hooks"
import { EventBus } from "../../event/EventBus.js"
import * as RuntimeEvent from "../../event/RuntimeEvent.js"
import type { ExtensionEvent, HandlerResult } from "../ExtensionApi.js"
import { messageOf } from "./middleware.js"

type Handler = (event: never) => HandlerResult

interface Subscription {
  readonly extension: string
  readonly handler: Handler
  /** How long one call may take before the next handler runs (`Duration.infinity`: no deadline). */
  readonly timeout: Duration.Duration
}

/**
 * The extension events that led to the one being handled, oldest first (empty for runtime events and
 * emits from outside a handler). Carried by the delivering fiber for Effect handlers (and the fibers they
 * fork), and by an `AsyncLocalStorage` for a handler's synchronous code, the Promise continuations it
 * starts and the fibers it runs on a runtime of its own (`Effect.runPromise` inside a handler). While an
 * Effect handler runs, its fiber is scheduled inside the storage too, so a Promise it starts
 * (`Effect.promise(async () => { await ...; emit() })`) continues the chain.
 */
type Chain = ReadonlyArray<string>
// `undefined`: this fiber is not delivering an event (a fiber a handler started on a runtime of its own).
const chainRef = globalValue(
  "effect-swarm/extension/eventChain/v2",
  () => FiberRef.unsafeMake<Chain | undefined>(undefined)
)
const chainStore = globalValue("effect-swarm/extension/eventChainStore", () => new AsyncLocalStorage<Chain>())

// A delivering fiber's own chain (the storage may hold a stale one there); else the storage's.
const currentChain = (): Chain => {
  const fiber = Fiber.getCurrentFiber()
  const own = Option.isSome(fiber) ? fiber.value.getFiberRef(chainRef) : undefined
  return own ?? chainStore.getStore() ?? []
}

// Every task of the fiber scheduled through this scheduler runs inside the storage holding `chain`.
const chainScheduler = (base: Scheduler.Scheduler, chain: Chain): Scheduler.Scheduler => ({
  shouldYield: (fiber) => base.shouldYield(fiber),
  scheduleTask: (task, priority, fiber) => base.scheduleTask(() => chainStore.run(chain, task), priority, fiber)
})

// An Effect handler's effect, run (from its first operation on) with the storage holding its chain.
const inChain = (effect: Effect.Effect<unknown, unknown>, chain: Chain): Effect.Effect<unknown, unknown> =>
  Effect.flatMap(
    FiberRef.get(FiberRef.currentScheduler),
    (base) => Effect.withScheduler(Effect.zipRight(Effect.yieldNow(), effect), chainScheduler(base, chain))
  )

const describeChain = (chain: Chain): string =>
  chain.length <= 6 ? chain.join(" -> ") : `${chain.slice(0, 3).join(" -> ")} -> ... -> ${chain.slice(-3).join(" -> ")}`

/** @internal */
export interface Options {
  /** The default deadline of one handler call (`api.events.on`'s `timeout` overrides it). */
  readonly handlerTimeout: Duration.Duration
  /** How many extension events one chain of handlers may emit before the next one is dropped. */
  readonly maxEventChain: number
  /** How many emitted extension events may be in delivery at once before the next one is dropped. */
  readonly maxPendingEvents: number
}

/** @internal */
export interface Hub {
  readonly on: (
    extension: string,
    type: string,
    handler: Handler,
    timeout?: Duration.Duration | undefined
  ) => () => void
  readonly emit: (extension: string, name: string, payload: unknown) => Promise<void>
  /** Queues a turn-loop record of this instance (`approval.requested`, ...) for the handlers of its type. */
  readonly deliverRecord: (record: { readonly type: string }) => void
  /** Delivers every event and record queued so far, then stops delivering (the environment is closing). */
  readonly drain: Effect.Effect<void>
  /** Removes every handler of an extension. */
  readonly removeAll: (extension: string) => void
}

// Runs one handler: a value, a Promise or an Effect, in its event's chain; a throw, rejection or failure is
// logged, and so is a call that does not settle by its deadline (an Effect is interrupted, a Promise is no
// longer awaited): the next handler runs.
const invoke = (subscription: Subscription, type: string, event: unknown, chain: Chain): Effect.Effect<void> => {
  // What the handler threw or returned is looked at only inside `Effect.try`, and what it threw or rejected
  // with becomes its message at once: a value that throws when inspected (a Proxy) never reaches the runtime.
  const call = Effect.suspend(() =>
    Effect.flatten(Effect.try({
      try: (): Effect.Effect<void, unknown> => {
        const out: unknown = chainStore.run(chain, () => (subscription.handler as (event: unknown) => unknown)(event))
        if (Effect.isEffect(out)) return Effect.asVoid(inChain(out as Effect.Effect<unknown, unknown>, chain))
        if (Predicate.isPromiseLike(out)) {
          const settled = Promise.resolve(out)
          return Effect.tryPromise({ try: () => settled, catch: (e) => messageOf(e) })
        }
        return Effect.void
      },
      catch: (thrown) => messageOf(thrown)
    }))
  ).pipe(Effect.locally(chainRef, chain))
  const bounded = Duration.isFinite(subscription.timeout)
    ? call.pipe(
      Effect.timeoutOption(subscription.timeout),
      Effect.flatMap((settled) =>
        Option.isSome(settled) ? Effect.void : Effect.logWarning(
          `extension ${subscription.extension}: handler of ${type} did not settle within ${
            Duration.format(subscription.timeout)
          }; it is left behind and the next handlers and events are delivered (raise the deadline with ` +
            `api.events.on(type, handler, { timeout }), or return sooner and do long work elsewhere)`
        )
      )
    )
    : call
  return bounded.pipe(
    Effect.catchAllCause((cause) =>
      Effect.logWarning(
        `extension ${subscription.extension}: handler of ${type} failed (the event is not re-delivered): ${
          cause._tag === "Fail" && typeof cause.error === "string"
            ? cause.error
            : messageOf(cause._tag === "Fail" ? cause.error : cause._tag === "Die" ? cause.defect : cause)
        }`
      )
    )
  )
}

/** How long handlers may still run when the environment closes. */
const drainTimeout = Duration.seconds(5)

/**
 * The turn-loop records handed to extensions (`RuntimeEvent.LoopEvent`): written by the loop to the
 * instance's log, not published on the bus, so the hub takes them from the loop. Reserved for `emit`.
 *
 * @internal
 */
export const loopTypes: ReadonlyArray<string> = [
  "approval.requested",
  "approval.resolved",
  "tools.dispatched",
  "budget.exceeded",
  "turn.abandoned"
]

/**
 * Subscribes to the bus for the scope (before any extension registers, so nothing is missed) and
 * delivers this instance's events. When the scope closes, events already published are delivered
 * before the subscription ends.
 *
 * @internal
 */
export const make = (
  instance: { readonly agentName: string; readonly instanceKey: string },
  options: Options
): Effect.Effect<
  Hub,
  never,
  EventBus | Scope.Scope
> =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const handlers = new Map<string, ReadonlyArray<Subscription>>()
    const queue = yield* bus.subscribe
    // Extension-event deliveries started from JavaScript run in this set: interrupted with the scope.
    const fibers = yield* FiberSet.make()
    const runFork = yield* FiberSet.runtime(fibers)<never>()

    // `chain`: the extension events that led to this one, itself included (empty for runtime events).
    const deliver = (type: string, event: unknown, chain: Chain) =>
      Effect.suspend(() => {
        const list = handlers.get(type)
        return list === undefined
          ? Effect.void
          : Effect.forEach(list, (s) => invoke(s, type, event, chain), { discard: true })
      })
    let dropped = 0
    // Emitted events in delivery (their fibers not done), and how many were dropped for being over the limit.
    let pending = 0
    let flooded = 0

    const mine = (event: RuntimeEvent.RuntimeEvent) =>
      event.agentName === instance.agentName && event.instanceKey === instance.instanceKey

    // One delivery queue: this instance's bus events (forwarded as they arrive) and the loop's records
    // (offered as they are written; not ordered with the bus events still in the subscription).
    // `undefined` stops the delivery loop once everything before it is delivered.
    const inbox = yield* Queue.unbounded<{ readonly type: string } | undefined>()
    const forward = (events: Chunk.Chunk<RuntimeEvent.RuntimeEvent>) =>
      Queue.offerAll(inbox, Chunk.filter(events, mine))

    // A chunk taken is forwarded (at once: offering to an unbounded queue never waits); the forwarder is
    // interruptible only while it waits.
    const forwarder = yield* Effect.forkScoped(
      Effect.forever(
        Effect.uninterruptibleMask((restore) => Effect.flatMap(restore(Queue.takeBetween(queue, 1, 256)), forward))
      )
    )
    // Handlers run here, interruptibly: a handler that never settles can be cut off when the scope closes.
    const delivery = yield* Effect.forkScoped(Effect.iterate(true, {
      while: (go) => go,
      body: () =>
        Effect.flatMap(
          Queue.take(inbox),
          (item) => item === undefined ? Effect.succeed(false) : Effect.as(deliver(item.type, item, []), true)
        )
    }))
    // Delivers what is queued, in order, then stops: the forwarder stops and what is left in the subscription
    // is queued, then the delivery loop ends after everything queued before the stop. Handlers get
    // `drainTimeout` (on `Clock`) to finish; then the loop is interrupted, so a handler that hangs cannot hold
    // the scope open.
    let drained = false
    const drain = Effect.suspend(() => {
      if (drained) return Effect.void
      drained = true
      return Effect.zipRight(
        Effect.zipRight(
          Fiber.interrupt(forwarder),
          Effect.flatMap(
            Queue.isShutdown(queue),
            (down) => down ? Effect.void : Effect.flatMap(Queue.takeAll(queue), forward)
          )
        ),
        Effect.zipRight(
          Queue.offer(inbox, undefined),
          Fiber.await(delivery).pipe(
            Effect.timeout(drainTimeout),
            Effect.catchTag("TimeoutException", () =>
              Effect.zipRight(
                Effect.logWarning(
                  `extension events of ${instance.agentName}@${instance.instanceKey}: handlers still running ` +
                    `after ${Duration.format(drainTimeout)} at close; the rest are not delivered`
                ),
                Fiber.interrupt(delivery)
              ))
          )
        )
      )
    })
    // Also when the scope closes (the environment drains first, while the extensions' handlers are there).
    yield* Effect.addFinalizer(() => drain)

    const on = (extension: string, type: string, handler: Handler, timeout?: Duration.Duration) => {
      const subscription: Subscription = { extension, handler, timeout: timeout ?? options.handlerTimeout }
      handlers.set(type, [...handlers.get(type) ?? [], subscription])
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        const rest = (handlers.get(type) ?? []).filter((s) => s !== subscription)
        if (rest.length === 0) handlers.delete(type)
        else handlers.set(type, rest)
      }
    }

    const emit = (extension: string, name: string, payload: unknown): Promise<void> => {
      // Thrown at the call, not a rejected Promise: an emit nobody awaits would be an unhandled rejection,
      // which ends a Node process by default.
      if (RuntimeEvent.isType(name) || loopTypes.includes(name)) {
        throw (
          new TypeError(
            `extension ${extension}: cannot emit '${name}', runtime event and turn-loop record types are reserved; use a name of your own, e.g. '${extension}.${name}'`
          )
        )
      }
      const chain = [...currentChain(), name]
      if (chain.length > options.maxEventChain) {
        dropped++
        chainStore.exit(() =>
          runFork(Effect.logWarning(
            `extension ${extension}: event '${name}' dropped: it would be event ${chain.length} of one chain of ` +
              `handlers (${describeChain(chain)}), over the limit of ${options.maxEventChain}. A handler that emits ` +
              `the event it handles, directly or through other handlers, loops: end the chain with a condition ` +
              `(${dropped} dropped in ${instance.agentName}@${instance.instanceKey} so far)`
          ))
        )
        return Promise.resolve()
      }
      if (pending >= options.maxPendingEvents) {
        flooded++
        // Warned at the 1st, 10th, 100th ... drop: a loop that emits without end cannot flood the log too.
        if (Number.isInteger(Math.log10(flooded))) {
          chainStore.exit(() =>
            runFork(Effect.logWarning(
              `extension ${extension}: event '${name}' dropped: ${pending} emitted events are still being ` +
                `delivered in ${instance.agentName}@${instance.instanceKey}, the limit is ${options.maxPendingEvents} ` +
                `(${flooded} dropped so far). An extension that emits in a loop faster than its handlers finish ` +
                `loses events: await api.events.emit before emitting the next, or raise maxPendingEvents`
            ))
          )
        }
        return Promise.resolve()
      }
      const event: ExtensionEvent = {
        type: name,
        extension,
        payload,
        agentName: instance.agentName,
        instanceKey: instance.instanceKey
      }
      return new Promise<void>((resolve) => {
        // Forked outside the storage: the scheduler must not carry this handler's chain to other fibers.
        pending++
        const fiber = chainStore.exit(() => runFork(deliver(name, event, chain)))
        fiber.addObserver(() => {
          pending--
          resolve()
        })
      })
    }

    const removeAll = (extension: string) => {
      for (const [type, list] of handlers) {
        const rest = list.filter((s) => s.extension !== extension)
        if (rest.length === 0) handlers.delete(type)
        else handlers.set(type, rest)
      }
    }

    const deliverRecord = (record: { readonly type: string }) => {
      if (loopTypes.includes(record.type) && handlers.has(record.type)) Queue.unsafeOffer(inbox, record)
    }

    return { on, emit, removeAll, deliverRecord, drain }
  })
