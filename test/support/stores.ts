// The durable workspace stores the agent, orchestrator, observability and MCP tests run on: the four
// file-backed stores on one state root, the event bus, and the Node platform (file system, path, command
// executor) merged in, so a test provides one context and reads the files back with the same stores.
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { type Context, Effect, Layer } from "effect"
import { EventBus, ExtensionState, Instances, MessageStore, RuntimeEventLog } from "effect-swarm"

/** MessageStore, RuntimeEventLog, Instances and ExtensionState on `root`, an EventBus, and NodeContext. */
export const storesLayer = (root: string) =>
  Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root }),
    EventBus.layer()
  ).pipe(Layer.provideMerge(NodeContext.layer))

/** The context `storesLayer` builds. */
export type Stores = Context.Context<Layer.Layer.Success<ReturnType<typeof storesLayer>>>

/**
 * A fresh temporary state root (removed with the scope) and the stores built on it, their resources (writer
 * locks, idle sweeps) closed with the same scope.
 */
export const durableStores = (prefix: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix })
    const context = yield* Layer.build(storesLayer(root))
    return { root, context, fs }
  }).pipe(Effect.provide(NodeContext.layer))
