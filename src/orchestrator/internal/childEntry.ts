/**
 * The entry script of a child-process host (`AgentHost.childProcess` forks it with an IPC channel).
 */
import { run } from "./childMain.js"

run()
