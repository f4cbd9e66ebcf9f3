/**
 * The child-process host's plumbing, parent side: where the child's entry script is, signals to its
 * process group, how its exit reads, and which targets a child cannot be given.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { Target } from "../AgentHost.js"

/**
 * The child's entry: `custom` (`ChildProcessOptions.entry`, a module of the user's that calls
 * `AgentHost.childMain()`, run with plain Node flags), else the one beside this module: `.js` from the built
 * package, `.ts` under tsx (tests).
 */
export const entry = (custom?: string): { readonly file: string; readonly execArgv: ReadonlyArray<string> } => {
  if (custom !== undefined) return { file: path.resolve(custom), execArgv: [] }
  const here = fileURLToPath(import.meta.url)
  const ext = path.extname(here)
  const file = path.join(path.dirname(here), `childEntry${ext}`)
  if (ext !== ".ts") return { file, execArgv: [] }
  // Under tsx (tests, `tsx` scripts) the child loads the TypeScript sources through tsx's loader too.
  const tsx = createRequire(import.meta.url).resolve("tsx")
  return { file, execArgv: ["--import", pathToFileURL(tsx).href] }
}

export const tailLimit = 4096

/** Sends a signal to the child's process group (it leads one); false when it is already gone. */
export const signalGroup = (pid: number, signal: NodeJS.Signals): boolean => {
  // No child (spawn failed: pid -1): -pid would be init and pid -1 every process we may signal.
  if (!(pid > 0)) return false
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    try {
      process.kill(pid, signal)
      return true
    } catch {
      return false
    }
  }
}

export const describeExit = (code: number | null, signal: NodeJS.Signals | null, tail: string) =>
  (signal !== null ? `the child process was killed by ${signal}` : `the child process exited with code ${code}`) +
  (tail.trim().length === 0 ? "" : `; its last output: ${tail.trim().slice(-1000)}`)

/**
 * What a child cannot be given (it lives in this process), and what to do instead; undefined when the
 * target is fine. `calls` (the orchestrator's AgentsApi) is carried over IPC; `agents` alone (an API
 * without the service behind it) and `setup` (a function) are not.
 */
export const unsupported = (target: Target): string | undefined => {
  const problems: Array<string> = []
  if (target.model !== undefined) {
    problems.push(
      "`models` (a Model service object of this process): select the model in the bundle instead " +
        "(a `provider: scripted` Model with a `script` for tests, or an openai-compatible endpoint)"
    )
  }
  if (target.setup !== undefined) {
    problems.push(
      "`setup` (a function of this process): declare the tools, middlewares and extensions in the bundle " +
        "(Tool and Extension resources), which the child loads itself"
    )
  }
  if (target.agents !== undefined && target.calls === undefined) {
    problems.push(
      "`agents` without `calls`: pass AgentsTool.wire's `calls` to the Orchestrator options, which the child " +
        "reaches over IPC"
    )
  }
  if (problems.length === 0) return undefined
  return `Orchestrator options cannot reach a child-process instance: ${problems.join("; ")}; ` +
    "or run the instance with AgentHost.inProcess"
}
