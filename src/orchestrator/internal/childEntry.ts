/**
 * The entry script of a child-process host (`AgentHost.childProcess` forks it with an IPC channel).
 */
import { NodeRuntime } from "@effect/platform-node"
import { main } from "./childMain.js"

NodeRuntime.runMain(main, { disableErrorReporting: false })
