/**
 * Why an orchestrator does not start: the Swarm, an option, or the workspace lock. Public through
 * `OrchestratorError`, which re-exports them.
 */
import * as Schema from "effect/Schema"
import type { StorageIoError } from "../../workspace/AtomicFile.js"

/**
 * The bundle has no Swarm to run under that name (or none is named `default` and there are several).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Orchestrator.makeInMemory(bundle, "no-such-swarm").pipe(
 *   Effect.catchTag("SwarmNotFound", (e) => Effect.fail(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SwarmNotFound extends Schema.TaggedError<SwarmNotFound>("effect-swarm/SwarmNotFound")(
  "SwarmNotFound",
  { swarm: Schema.optional(Schema.String), detail: Schema.String }
) {
  override get message(): string {
    return `cannot start the orchestrator: ${this.detail}`
  }
}

/**
 * An option given to `Orchestrator.make*` / `layer*` (or `AgentsApi.make`, `AgentsTool.wire`: then `where`
 * names it) in code cannot be met: a limit (`mailboxCapacity`, `calls.maxSpawned`, `calls.maxPendingAsync`,
 * `calls.maxInbox`) that is not a positive integer (NaN, 0, negative, fractional), or a
 * `calls.defaultTimeout` that is zero, negative, NaN or not a duration. Refused before anything starts,
 * never clamped or ignored.
 *
 * @example
 * ```ts
 * import { OrchestratorError } from "effect-swarm"
 * const e = new OrchestratorError.InvalidOption({ option: "calls.maxSpawned", given: "NaN", expected: "a positive integer" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOption extends Schema.TaggedError<InvalidOption>("effect-swarm/InvalidOption")(
  "InvalidOption",
  {
    option: Schema.String,
    given: Schema.String,
    expected: Schema.String,
    /** What refused it, when not `Orchestrator.make*` (e.g. `AgentsApi.make`). */
    where: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `cannot ${
      this.where === undefined ? "start the orchestrator" : `run ${this.where}`
    }: option ${this.option} ` +
      `is ${this.given}; it must be ${this.expected}`
  }
}

/**
 * Another orchestrator runs the same workspace of this state root: the holder of its
 * `<root>/workspaces/<workspaceId>/orchestrator.lock` (another process, on this host or another, or another
 * orchestrator in this process, `pid` then being this process's). The orchestrator does not start, and has
 * written nothing. `pid` is -1 when the lock file cannot be read; `since` is when the holder took the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Orchestrator.make(bundle, undefined).pipe(
 *   Effect.catchTag("WorkspaceLocked", (e) => Effect.logError(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkspaceLocked extends Schema.TaggedError<WorkspaceLocked>("effect-swarm/WorkspaceLocked")(
  "WorkspaceLocked",
  {
    root: Schema.String,
    workspaceId: Schema.String,
    file: Schema.String,
    pid: Schema.Number,
    hostname: Schema.String,
    since: Schema.optional(Schema.String),
    /** True when the holder is another orchestrator of this process. */
    sameProcess: Schema.Boolean
  }
) {
  override get message(): string {
    const head = `cannot start the orchestrator: workspace ${JSON.stringify(this.workspaceId)} of the state root ` +
      `${this.root} is in use by `
    const since = this.since === undefined ? "" : `, running since ${this.since}`
    if (this.pid < 0) {
      return `${head}another orchestrator whose lock file ${this.file} cannot be read. If no orchestrator runs ` +
        `on this workspace, delete that file and start again.`
    }
    if (this.sameProcess) {
      return `${head}another orchestrator in this process${since} (lock file ${this.file}). Close that ` +
        `orchestrator's scope first, or give this one another state root or workspace (options.workspaceId).`
    }
    return `${head}another orchestrator: process ${this.pid} on host ${this.hostname}${since} (lock file ` +
      `${this.file}). Stop that process first, or give this one another state root (EFFECT_SWARM_HOME) or ` +
      `workspace. A lock left by a process that died on this host is taken over automatically.`
  }
}

/**
 * Why an orchestrator does not start: no such Swarm, an option that cannot be met, another orchestrator on
 * its workspace, or its lock could not be written under the state root.
 *
 * @example
 * ```ts
 * import type { OrchestratorError } from "effect-swarm"
 * const explain = (e: OrchestratorError.StartError) => `${e._tag}: ${e.message}`
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type StartError = SwarmNotFound | InvalidOption | WorkspaceLocked | StorageIoError
