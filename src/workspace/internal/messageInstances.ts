/**
 * The JSONL message store's instances: the paths of each (cached), the instances it holds open for writing
 * with their idle and rest tiers (see `openInstances.ts`), and the `StoreClosed` guard every operation goes
 * through once the store's scope has closed.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as InstanceLock from "../InstanceLock.js"
import type { InstanceRef } from "../InstanceName.js"
import * as StorageError from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import type * as Compaction from "./compaction.js"
import type * as DurableFile from "./durableFile.js"
import * as InstancePaths from "./instancePaths.js"
import * as MessageInstance from "./messageInstance.js"
import * as OpenInstances from "./openInstances.js"

/** @internal */
export interface MessageInstances {
  /** The instances open for writing (writer + lock). */
  readonly instances: OpenInstances.OpenInstances<Compaction.Open>
  /** The paths of an instance under the store's root. */
  readonly paths: (instance: InstanceRef) => WorkspacePaths.InstancePaths
  /** The `StoreClosed` failure of an operation on the instance. */
  readonly closed: (instance: InstanceRef, operation: string) => StorageError.StoreClosed
  /** Fails with `StoreClosed` once the store's scope has closed. */
  readonly ifOpen: (instance: InstanceRef, operation: string) => Effect.Effect<void, StorageError.StoreClosed>
  /** Runs `f` on the instance, opening it first if needed (`StoreClosed` once the store closed). */
  readonly withInstance: <B, E>(
    instance: InstanceRef,
    operation: string,
    f: (inst: Compaction.Open) => Effect.Effect<B, E>
  ) => Effect.Effect<
    B,
    | E
    | InstanceLock.InstanceLocked
    | StorageError.StorageCorrupt
    | StorageError.StorageUnavailable
    | StorageError.StoreClosed
  >
}

/**
 * The instances of a store over `root`, living in the store's scope.
 *
 * @internal
 */
export const make = (options: {
  readonly fs: FileSystem.FileSystem
  readonly root: string
  readonly durable: boolean
  readonly durableFile: DurableFile.Service
  readonly idleTimeout: Duration.DurationInput | undefined
  readonly fileIdleTimeout: Duration.DurationInput | undefined
}): Effect.Effect<MessageInstances, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { durable, durableFile, fs, root } = options
    const instances = yield* OpenInstances.make<Compaction.Open>({
      idleTimeout: options.idleTimeout ?? "5 minutes",
      rest: { after: options.fileIdleTimeout ?? "1 second", run: (inst) => inst.writer.rest }
    })
    // The paths of the instances in use, computed once (shared with the other stores: instancePaths.ts).
    const paths = InstancePaths.cache(root)
    const open = (p: WorkspacePaths.InstancePaths) => MessageInstance.open(fs, p, durable, durableFile)

    // Once the store's scope has closed, nothing is opened or read any more.
    const closed = (instance: InstanceRef, operation: string) =>
      new StorageError.StoreClosed({
        store: "MessageStore",
        operation,
        instance: `${instance.agentName}@${instance.instanceKey}`,
        workspaceId: instance.workspaceId
      })
    const ifOpen = (instance: InstanceRef, operation: string) =>
      Effect.suspend(() => instances.isClosed() ? Effect.fail(closed(instance, operation)) : Effect.void)

    const withInstance = <B, E>(
      instance: InstanceRef,
      operation: string,
      f: (inst: Compaction.Open) => Effect.Effect<B, E>
    ) => {
      const p = paths(instance)
      // Built only when the instance is not open yet (not on every append).
      return instances.use(p.dir, Effect.suspend(() => open(p)), f, () => closed(instance, operation))
    }

    return { instances, paths, closed, ifOpen, withInstance } satisfies MessageInstances
  })
