/**
 * What `send`, `approve` and `deny` run an instance on: the workspace stores on the state root, the
 * event bus, the tool sandbox (Node by default; each Tool's `spec.runtime` applies over it), and the
 * bundle's Agent opened through `AgentInstance.fromBundle`.
 *
 * @internal
 */
import * as Layer from "effect/Layer"
import * as RuntimeConfig from "../../config/RuntimeConfig.js"
import * as EventBus from "../../event/EventBus.js"
import * as ToolRuntime from "../../sandbox/ToolRuntime.js"
import * as ExtensionState from "../../workspace/ExtensionState.js"
import * as Instances from "../../workspace/Instances.js"
import * as MessageStore from "../../workspace/MessageStore.js"
import * as RuntimeEventLog from "../../workspace/RuntimeEventLog.js"

/** @internal */
export const layer = (root: string) =>
  Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root }),
    EventBus.layer(),
    ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node")))
  )
