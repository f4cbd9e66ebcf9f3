/**
 * The runtime event bus: a `PubSub` of {@link RuntimeEvent}s. The pipeline publishes, subscribers read
 * a `Stream` or a queue, and a sink (such as the workspace's runtime-event log) can be attached to
 * persist every event.
 *
 * Guarantees, unlike the reference bus (which awaited listeners in sequence and let a listener error
 * fail the turn): publishing never waits for a subscriber and never fails; a slow subscriber only grows
 * its own queue (or, with a `capacity`, drops its oldest events); a failing sink is logged and keeps
 * receiving later events.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { RuntimeEvent } from "./RuntimeEvent.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Publishes one event to every current subscriber. Never blocks, never fails. */
  readonly publish: (event: RuntimeEvent) => Effect.Effect<void>
  /**
   * `publish` as a side effect, for hot paths already inside `Effect.sync` (the bus never applies
   * back-pressure, so this is the same operation without the effect around it).
   */
  readonly unsafePublish: (event: RuntimeEvent) => void
  /**
   * Subscribes now (events published after this effect completes are all delivered) for the lifetime
   * of the scope.
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<RuntimeEvent>, never, Scope.Scope>
  /** Every event published while the stream runs; it subscribes when it starts. */
  readonly stream: Stream.Stream<RuntimeEvent>
}

/**
 * The event bus service.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { EventBus } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   const events = yield* bus.subscribe
 *   // ... run a turn ...
 *   const first = yield* events.take
 * }).pipe(Effect.scoped, Effect.provide(EventBus.layer()))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class EventBus extends Context.Tag("effect-swarm/EventBus")<EventBus, Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Per-subscriber buffer. Unbounded by default (no event is lost, a stuck subscriber grows memory);
   * with a capacity, a subscriber that falls behind loses its oldest events instead.
   */
  readonly capacity?: number | undefined
}

/**
 * Builds a bus whose `PubSub` shuts down with the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventBus } from "effect-swarm"
 * const program = Effect.scoped(Effect.flatMap(EventBus.make(), (bus) => bus.publish(event)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pubsub = yield* Effect.acquireRelease(
      options?.capacity === undefined
        ? PubSub.unbounded<RuntimeEvent>()
        : PubSub.sliding<RuntimeEvent>(options.capacity),
      PubSub.shutdown
    )
    return EventBus.of({
      publish: (event) => Effect.asVoid(PubSub.publish(pubsub, event)),
      unsafePublish: (event) => {
        pubsub.unsafeOffer(event)
      },
      subscribe: PubSub.subscribe(pubsub),
      stream: Stream.fromPubSub(pubsub)
    })
  })

/**
 * @example
 * ```ts
 * import { EventBus } from "effect-swarm"
 * const BusLive = EventBus.layer()
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<EventBus> => Layer.scoped(EventBus, make(options))

/**
 * Where events go to be persisted or forwarded: receives events in batches (whatever accumulated
 * while the previous batch was written), in publish order.
 *
 * @since 0.1.0
 * @category models
 */
export type Sink<E> = (events: ReadonlyArray<RuntimeEvent>) => Effect.Effect<void, E>

/**
 * Subscribes a sink to the bus for the lifetime of the scope. The subscription exists when this
 * effect returns, so nothing published afterwards is missed. A sink failure (or defect) is logged
 * with the number of events it concerned and does not stop later batches; it never reaches the
 * publisher. When the scope closes, events already queued are handed to the sink first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventBus } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   yield* EventBus.attach((events) => Effect.log(`${events.length} events`))
 *   // ... run turns ...
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category sinks
 */
export const attach = <E>(
  sink: Sink<E>,
  options?: { readonly name?: string | undefined; readonly maxBatch?: number | undefined }
): Effect.Effect<void, never, EventBus | Scope.Scope> =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const queue = yield* bus.subscribe
    const name = options?.name ?? "sink"
    const maxBatch = options?.maxBatch ?? 256
    const deliver = (events: ReadonlyArray<RuntimeEvent>): Effect.Effect<void> =>
      events.length === 0 ? Effect.void : sink(events).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.logWarning(
            `runtime event ${name} failed on ${events.length} event(s); later events are still delivered`,
            cause
          )
        )
      )
    // Waiting for events is interruptible; a batch being delivered is not, so closing the scope lets
    // the sink finish the batch it took (otherwise those events would be neither delivered nor drained).
    const loop = Effect.forever(
      Effect.flatMap(
        Queue.takeBetween(queue, 1, maxBatch),
        (chunk) => Effect.uninterruptible(deliver(Chunk.toReadonlyArray(chunk)))
      )
    )
    // Drain what is already queued before the subscription closes, so the last events of a run persist.
    // The bus may already be gone when its layer closed first; then there is nothing left to drain.
    const drain = Effect.flatMap(
      Queue.isShutdown(queue),
      (down) =>
        down ? Effect.void : Effect.flatMap(Queue.takeAll(queue), (chunk) => deliver(Chunk.toReadonlyArray(chunk)))
    )
    // Finalizers are uninterruptible, and so would be any fiber a sink forks while draining (e.g. a
    // log writer opened on first use), which would then hang its own scope's close.
    yield* Effect.addFinalizer(() => Effect.interruptible(drain))
    yield* Effect.forkScoped(loop)
  })

/**
 * A layer that attaches a sink for the layer's lifetime, e.g. the workspace's runtime-event log.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventBus } from "effect-swarm"
 * const Logged = EventBus.layerSink((events) => Effect.log(events)).pipe(Layer.provideMerge(EventBus.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSink = <E>(
  sink: Sink<E>,
  options?: { readonly name?: string | undefined; readonly maxBatch?: number | undefined }
): Layer.Layer<never, never, EventBus> => Layer.scopedDiscard(attach(sink, options))
