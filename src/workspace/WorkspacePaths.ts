/**
 * Where everything of a workspace lives on disk. Pure functions: no I/O.
 *
 * ```text
 * <root>/workspaces/<workspaceId>/instances/<agent>@<instanceKey>/
 *   metadata.json                 status, agent, instance key, created/updated
 *   writer.lock                   {"pid":…} of the process writing this instance
 *   messages/base.jsonl           snapshot: a header line, then one message per line
 *   messages/events.jsonl         one message event per line, after the snapshot
 *   messages/runtime-events.jsonl one runtime event per line
 *   extensions/<name>.json        per-extension state
 * ```
 *
 * The root is `StateRoot.resolve` (`EFFECT_SWARM_HOME`, default `~/.effect-swarm`) unless a root is passed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import * as path from "node:path"
import * as StateRoot from "../config/StateRoot.js"
import { type InstanceRef, workspaceId } from "./InstanceName.js"

export {
  /**
   * @since 0.1.0
   * @category models
   */
  InstanceRef,
  /**
   * @since 0.1.0
   * @category constants
   */
  maxWorkspaceIdLength,
  /**
   * @since 0.1.0
   * @category naming
   */
  workspaceId
} from "./InstanceName.js"

const maxComponent = 64

// A name is used verbatim only when it is already portable: lowercase (case-insensitive file systems),
// [a-z0-9._-], no leading or trailing dot (hidden files, Windows trailing-dot stripping), short.
const isPortable = (name: string): boolean =>
  name.length > 0 && name.length <= maxComponent && /^[a-z0-9_-](?:[a-z0-9._-]*[a-z0-9_-])?$/.test(name)

const hash = (name: string): string => createHash("sha256").update(name).digest("hex").slice(0, 12)

/**
 * A file-name component for an arbitrary name, safe on Linux, macOS and Windows: the name itself when it is
 * already portable, otherwise a readable slug plus `~` and 12 hex digits of its SHA-256. Distinct names give
 * distinct components (`~` never appears in a verbatim name).
 *
 * @example
 * ```ts
 * import { WorkspacePaths } from "effect-swarm"
 * WorkspacePaths.component("coder") // "coder"
 * WorkspacePaths.component("thread:42") // "thread-42~<12 hex>"
 * ```
 *
 * @since 0.1.0
 * @category naming
 */
export const component = (name: string): string => {
  if (isPortable(name)) return name
  const slug = name.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40)
  return `${slug.length === 0 ? "x" : slug}~${hash(name)}`
}

/**
 * The directory name of an instance: `<agent>@<instanceKey>`, each side made portable by {@link component}.
 * It never contains `:`, `/` or `\`.
 *
 * @example
 * ```ts
 * import { WorkspacePaths } from "effect-swarm"
 * WorkspacePaths.instanceDirName("coder", "default") // "coder@default"
 * ```
 *
 * @since 0.1.0
 * @category naming
 */
export const instanceDirName = (agentName: string, instanceKey: string): string =>
  `${component(agentName)}@${component(instanceKey)}`

/**
 * The files of one instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstancePaths {
  readonly dir: string
  readonly metadata: string
  readonly lock: string
  readonly messagesDir: string
  readonly base: string
  readonly events: string
  readonly runtimeEvents: string
  readonly extensionsDir: string
  readonly extension: (name: string) => string
}

/**
 * `<root>/workspaces/<workspaceId>`.
 *
 * @example
 * ```ts
 * import { WorkspacePaths } from "effect-swarm"
 * WorkspacePaths.workspaceDir("/srv/swarm", "default") // "/srv/swarm/workspaces/default"
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const workspaceDir = (root: string, id: string): string => path.join(root, "workspaces", workspaceId(id))

/**
 * `<root>/workspaces/<workspaceId>/instances`.
 *
 * @example
 * ```ts
 * import { WorkspacePaths } from "effect-swarm"
 * WorkspacePaths.instancesDir("/srv/swarm", "default") // "/srv/swarm/workspaces/default/instances"
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const instancesDir = (root: string, id: string): string => path.join(workspaceDir(root, id), "instances")

/**
 * The paths of one instance under a root. The workspace id goes through {@link workspaceId} again, so a
 * raw name can never escape the root.
 *
 * @example
 * ```ts
 * import { WorkspacePaths } from "effect-swarm"
 * const p = WorkspacePaths.instance("/srv/swarm", { workspaceId: "default", agentName: "coder", instanceKey: "a" })
 * p.events // "/srv/swarm/workspaces/default/instances/coder@a/messages/events.jsonl"
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const instance = (root: string, ref: InstanceRef): InstancePaths => {
  const dir = path.join(instancesDir(root, ref.workspaceId), instanceDirName(ref.agentName, ref.instanceKey))
  const messagesDir = path.join(dir, "messages")
  const extensionsDir = path.join(dir, "extensions")
  return {
    dir,
    metadata: path.join(dir, "metadata.json"),
    lock: path.join(dir, "writer.lock"),
    messagesDir,
    base: path.join(messagesDir, "base.jsonl"),
    events: path.join(messagesDir, "events.jsonl"),
    runtimeEvents: path.join(messagesDir, "runtime-events.jsonl"),
    extensionsDir,
    extension: (name) => path.join(extensionsDir, `${component(name)}.json`)
  }
}

/**
 * The state root to use: `root` made absolute when given, else `StateRoot.resolve`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkspacePaths } from "effect-swarm"
 * Effect.runSync(WorkspacePaths.resolveRoot("./state")) // "<cwd>/state"
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const resolveRoot = (root?: string | undefined): Effect.Effect<string> =>
  root !== undefined && root.trim().length > 0 ? Effect.succeed(path.resolve(root)) : StateRoot.resolve
