// The durable workspace stores the agent, orchestrator, observability and MCP tests (and the soak benchmark,
// bench/soak.ts) run on: the four file-backed stores on one state root, the event bus, and the Node platform
// (file system, path, command executor) merged in, so a test provides one context and reads the files back
// with the same stores. Modules are imported one by one (not the package's barrel, nor @effect/platform-node's):
// the soak benchmark's heap figures count what is loaded (the barrels doubled its heap, 32 -> 65 MB).
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as EventBus from "../../src/event/EventBus.js"
import * as ExtensionState from "../../src/workspace/ExtensionState.js"
import * as Instances from "../../src/workspace/Instances.js"
import * as MessageStore from "../../src/workspace/MessageStore.js"
import * as RuntimeEventLog from "../../src/workspace/RuntimeEventLog.js"

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
