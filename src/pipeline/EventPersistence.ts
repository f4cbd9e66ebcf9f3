/**
 * Persists every runtime event published on the {@link EventBus} into the workspace's runtime event
 * log (`instances/<agent>:<instance>/messages/runtime-events.jsonl`), beside the conversation the event
 * describes.
 *
 * The instance comes from the event itself (`agentName` + `instanceKey`), so, unlike the reference
 * (which keyed the file by the bare instance key and dropped events it could not map), two agents
 * sharing an instance key never share a file and no event is dropped for lack of a mapping. Writing
 * happens on the sink's own fiber in batches: a turn never waits for the disk, and a failed append is
 * logged without failing the turn (see `EventBus.attach`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as EventBus from "../event/EventBus.js"
import type { RuntimeEvent } from "../event/RuntimeEvent.js"
import { RuntimeEventLog } from "../workspace/RuntimeEventLog.js"
import type { RuntimeEventLogError } from "../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The workspace the instances belong to. */
  readonly workspaceId: string
}

/**
 * Splits a batch by instance, keeping each instance's events in publish order.
 *
 * @since 0.1.0
 * @category internals
 */
export const groupByInstance = (
  workspaceId: string,
  events: ReadonlyArray<RuntimeEvent>
): Array<readonly [InstanceRef, Array<RuntimeEvent>]> => {
  const groups = new Map<string, readonly [InstanceRef, Array<RuntimeEvent>]>()
  for (const event of events) {
    const key = `${event.agentName}\u0000${event.instanceKey}`
    let group = groups.get(key)
    if (group === undefined) {
      group = [{ workspaceId, agentName: event.agentName, instanceKey: event.instanceKey }, []]
      groups.set(key, group)
    }
    group[1].push(event)
  }
  return Array.from(groups.values())
}

/**
 * Subscribes the runtime event log to the bus for the lifetime of the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventPersistence } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   yield* EventPersistence.attach({ workspaceId: "default" })
 *   // ... run turns: their events land in runtime-events.jsonl ...
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category sinks
 */
export const attach = (
  options: Options
): Effect.Effect<void, never, EventBus.EventBus | RuntimeEventLog | Scope.Scope> =>
  Effect.flatMap(RuntimeEventLog, (log) =>
    EventBus.attach(
      (events): Effect.Effect<void, RuntimeEventLogError> =>
        Effect.forEach(
          groupByInstance(options.workspaceId, events),
          ([instance, group]) => log.append(instance, group),
          { discard: true }
        ),
      { name: "runtime-event-log" }
    ))

/**
 * The persistence as a layer.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { EventBus, EventPersistence, RuntimeEventLog } from "effect-swarm"
 * const Persisted = EventPersistence.layer({ workspaceId: "default" }).pipe(
 *   Layer.provideMerge(EventBus.layer()),
 *   Layer.provideMerge(RuntimeEventLog.layer().pipe(Layer.provide(NodeFileSystem.layer)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never, never, EventBus.EventBus | RuntimeEventLog> =>
  Layer.scopedDiscard(attach(options))
