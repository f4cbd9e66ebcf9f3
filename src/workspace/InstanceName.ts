/**
 * How instances are named, whatever stores them: the workspace id (a slug of the workspace name) and the
 * instance's agent and key. A file backend turns these into paths (`WorkspacePaths`), a database into
 * keys; both name an instance the same way, so `InstanceName.key` is the same string everywhere.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Names one agent instance: the workspace it belongs to, the agent, and the instance key.
 *
 * @example
 * ```ts
 * import { InstanceName } from "effect-swarm"
 * const ref: InstanceName.InstanceRef = { workspaceId: "default", agentName: "coder", instanceKey: "thread:42" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceRef = Schema.Struct({
  workspaceId: Schema.String,
  agentName: Schema.String,
  instanceKey: Schema.String
}).annotations({ identifier: "InstanceRef" })

/**
 * @since 0.1.0
 * @category models
 */
export interface InstanceRef extends Schema.Schema.Type<typeof InstanceRef> {}

/**
 * The longest workspace id.
 *
 * @example
 * ```ts
 * import { InstanceName } from "effect-swarm"
 * InstanceName.workspaceId("x".repeat(500)).length <= InstanceName.maxWorkspaceIdLength // true
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const maxWorkspaceIdLength = 128

/**
 * The workspace id for a workspace name (the Swarm's instance key), following the reference: trim,
 * lowercase, every character outside `[a-z0-9._-]` becomes `-`, runs of `-` collapse, leading and trailing
 * `-` are stripped, at most 128 characters, `default` when nothing is left. Unlike the reference, an id
 * made only of dots (`.`, `..`) is also `default`, so it can never escape the workspaces directory.
 *
 * @example
 * ```ts
 * import { InstanceName } from "effect-swarm"
 * InstanceName.workspaceId("Main Swarm:Prod") // "main-swarm-prod"
 * InstanceName.workspaceId("///@@@:::") // "default"
 * ```
 *
 * @since 0.1.0
 * @category naming
 */
export const workspaceId = (name?: string | undefined): string => {
  const slug = (name ?? "")
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, maxWorkspaceIdLength)
  return slug.length === 0 || /^\.+$/.test(slug) ? "default" : slug
}

/**
 * The canonical name of an instance inside its workspace, `<agent>@<instanceKey>`, exactly as given (a
 * backend that needs a safe file name or key encodes it further; see `WorkspacePaths.instanceDirName`).
 *
 * @example
 * ```ts
 * import { InstanceName } from "effect-swarm"
 * InstanceName.key({ workspaceId: "default", agentName: "coder", instanceKey: "thread:42" }) // "coder@thread:42"
 * ```
 *
 * @since 0.1.0
 * @category naming
 */
export const key = (ref: InstanceRef): string => `${ref.agentName}@${ref.instanceKey}`

const controlCharacters = /[\u0000-\u001f\u007f]/

/**
 * Why `instanceKey` cannot name an instance (empty, more than 256 characters, or control characters), or
 * `undefined` when it can: the one rule for every way an instance is named (addresses, the agents API,
 * `AgentInstance.fork`), so an instance made one way can always be addressed another.
 *
 * @example
 * ```ts
 * import { InstanceName } from "effect-swarm"
 * InstanceName.instanceKeyProblem("thread-1") // undefined
 * InstanceName.instanceKeyProblem("a\nb") // "the instance key contains control characters"
 * ```
 *
 * @since 0.1.0
 * @category naming
 */
export const instanceKeyProblem = (instanceKey: string): string | undefined =>
  instanceKey.length === 0
    ? "the instance key is empty"
    : instanceKey.length > 256
    ? `the instance key is ${instanceKey.length} characters long (at most 256)`
    : controlCharacters.test(instanceKey)
    ? "the instance key contains control characters"
    : undefined
