/**
 * The events of one extension environment: this instance's runtime events from the `EventBus`, and the
 * extension events its extensions emit. Handlers run one at a time per delivery, never inside the turn;
 * their failures are logged.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { EventBus } from "../../event/EventBus.js"
import * as RuntimeEvent from "../../event/RuntimeEvent.js"
import type { ExtensionEvent, HandlerResult } from "../ExtensionApi.js"
import { messageOf } from "./middleware.js"

type Handler = (event: never) => HandlerResult

interface Subscription {
  readonly extension: string
  readonly handler: Handler
}

/** @internal */
export interface Hub {
  readonly on: (extension: string, type: string, handler: Handler) => () => void
  readonly emit: (extension: string, name: string, payload: unknown) => Promise<void>
  /** Removes every handler of an extension. */
  readonly removeAll: (extension: string) => void
}

// Runs one handler: a value, a Promise or an Effect; a throw, rejection or failure is logged.
const invoke = (subscription: Subscription, type: string, event: unknown): Effect.Effect<void> =>
  Effect.suspend(() => {
    const out: unknown = (subscription.handler as (event: unknown) => unknown)(event)
    if (Effect.isEffect(out)) return Effect.asVoid(out as Effect.Effect<unknown, unknown>)
    if (Predicate.isPromiseLike(out)) return Effect.tryPromise({ try: () => Promise.resolve(out), catch: (e) => e })
    return Effect.void
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.logWarning(
        `extension ${subscription.extension}: handler of ${type} failed (the event is not re-delivered): ${
          messageOf(cause._tag === "Fail" ? cause.error : cause._tag === "Die" ? cause.defect : cause)
        }`
      )
    )
  )

/**
 * Subscribes to the bus for the scope (before any extension registers, so nothing is missed) and
 * delivers this instance's events. When the scope closes, events already published are delivered
 * before the subscription ends.
 *
 * @internal
 */
export const make = (instance: { readonly agentName: string; readonly instanceKey: string }): Effect.Effect<
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

    const deliver = (type: string, event: unknown) =>
      Effect.suspend(() => {
        const list = handlers.get(type)
        return list === undefined
          ? Effect.void
          : Effect.forEach(list, (s) => invoke(s, type, event), { discard: true })
      })

    const mine = (event: RuntimeEvent.RuntimeEvent) =>
      event.agentName === instance.agentName && event.instanceKey === instance.instanceKey

    const deliverAll = (events: Chunk.Chunk<RuntimeEvent.RuntimeEvent>) =>
      Effect.forEach(events, (event) => mine(event) ? deliver(event.type, event) : Effect.void, { discard: true })

    // Drain before the subscription closes (finalizers run last-added first: the loop stops, then this).
    yield* Effect.addFinalizer(() =>
      Effect.interruptible(
        Effect.flatMap(
          Queue.isShutdown(queue),
          (down) => down ? Effect.void : Effect.flatMap(Queue.takeAll(queue), deliverAll)
        )
      )
    )
    yield* Effect.forkScoped(Effect.forever(
      Effect.flatMap(Queue.takeBetween(queue, 1, 256), (chunk) => Effect.uninterruptible(deliverAll(chunk)))
    ))

    const on = (extension: string, type: string, handler: Handler) => {
      const subscription: Subscription = { extension, handler }
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
      if (RuntimeEvent.isType(name)) {
        return Promise.reject(
          new TypeError(
            `extension ${extension}: cannot emit '${name}', runtime event types are reserved; use a name of your own, e.g. '${extension}.${name}'`
          )
        )
      }
      const event: ExtensionEvent = {
        type: name,
        extension,
        payload,
        agentName: instance.agentName,
        instanceKey: instance.instanceKey
      }
      return new Promise<void>((resolve) => {
        const fiber = runFork(deliver(name, event))
        fiber.addObserver(() => resolve())
      })
    }

    const removeAll = (extension: string) => {
      for (const [type, list] of handlers) {
        const rest = list.filter((s) => s.extension !== extension)
        if (rest.length === 0) handlers.delete(type)
        else handlers.set(type, rest)
      }
    }

    return { on, emit, removeAll }
  })
