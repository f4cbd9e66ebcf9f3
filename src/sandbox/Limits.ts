/**
 * What each runtime can enforce, and how a {@link RuntimeConfig.Config} becomes a command line and an
 * environment: Deno permission flags, Node's permission model, heap caps, and the allow-listed child
 * environment. Pure functions: no process is started here.
 *
 * @since 0.1.0
 */
import type * as Permissions from "../config/Permissions.js"
import type * as RuntimeConfig from "../config/RuntimeConfig.js"
import { parseVersion } from "./internal/version.js"

export {
  /**
   * @since 0.1.0
   * @category paths
   */
  bunUnsafeDirectory,
  /**
   * @since 0.1.0
   * @category typescript
   */
  isTypeScriptEntry,
  /**
   * @since 0.1.0
   * @category typescript
   */
  typeScriptSupport
} from "./internal/entrypoints.js"
export type {
  /**
   * @since 0.1.0
   * @category typescript
   */
  TypeScriptSupport
} from "./internal/entrypoints.js"
export {
  /**
   * @since 0.1.0
   * @category environment
   */
  childEnv,
  /**
   * @since 0.1.0
   * @category environment
   */
  hostEnvGrant,
  /**
   * @since 0.1.0
   * @category environment
   */
  isBlockedEnvName,
  /**
   * @since 0.1.0
   * @category environment
   */
  validateCallEnv
} from "./internal/environment.js"
export {
  /**
   * @since 0.1.0
   * @category command lines
   */
  launchArgs
} from "./internal/launch.js"
export type {
  /**
   * @since 0.1.0
   * @category models
   */
  LaunchInput
} from "./internal/launch.js"
export {
  /**
   * @since 0.1.0
   * @category parsing
   */
  parseVersion
} from "./internal/version.js"

// ---------------------------------------------------------------------------------------------------
// Capabilities
// ---------------------------------------------------------------------------------------------------

/**
 * Whether a runtime enforces one kind of limit, and how (or why not).
 *
 * @since 0.1.0
 * @category models
 */
export interface Enforcement {
  readonly status: "enforced" | "unenforceable"
  readonly reason: string
}

/**
 * What a runtime enforces on this machine under one isolation strategy, kind by kind. `memory` is the
 * heap cap from `maxMemoryMB`; `rss` is the resident-memory watchdog (every runtime, Linux `/proc`);
 * `timeout` is the host-owned kill; `processes` says whether every descendant dies with the call and
 * whether the tool can see the host's processes (`/proc/<pid>/environ`); `scratch` is the size limit of
 * the private HOME / TMPDIR.
 *
 * @since 0.1.0
 * @category models
 */
export interface Capabilities {
  readonly runtimeType: RuntimeConfig.RuntimeType
  readonly version: string
  /** The isolation strategy these capabilities hold under. */
  readonly isolation: Isolation
  readonly read: Enforcement
  readonly write: Enforcement
  readonly net: Enforcement
  readonly env: Enforcement
  readonly run: Enforcement
  readonly memory: Enforcement
  readonly rss: Enforcement
  readonly timeout: Enforcement
  readonly processes: Enforcement
  readonly scratch: Enforcement
}

/**
 * The isolation strategy a worker runs under: `bubblewrap` namespaces or `none` (runtime flags only).
 *
 * @since 0.1.0
 * @category models
 */
export type Isolation = "bubblewrap" | "none"

const enforced = (reason: string): Enforcement => ({ status: "enforced", reason })
const unenforceable = (reason: string): Enforcement => ({ status: "unenforceable", reason })

const hasProc = process.platform === "linux"

/**
 * The capabilities of a runtime at a given version (Node's permission model depends on it).
 *
 * @example
 * ```ts
 * import { capabilitiesOf } from "effect-swarm/sandbox/Limits"
 * capabilitiesOf("bun", "1.4.5").read.status // "unenforceable"
 * capabilitiesOf("node", "20.20.2").net.status // "unenforceable"
 * ```
 *
 * @since 0.1.0
 * @category capabilities
 */
export const capabilitiesOf = (
  runtimeType: RuntimeConfig.RuntimeType,
  version: string,
  isolation: Isolation = "none"
): Capabilities => {
  const base = runtimeCapabilities(runtimeType, version)
  if (isolation === "none") return base
  const mounts = (what: string) =>
    enforced(`bubblewrap mount namespace: ${what}; nothing else of the host file system is visible`)
  return {
    ...base,
    isolation,
    read: mounts("read-only binds of exactly the granted paths, the runtime and the worker script"),
    write: mounts("read-write binds of exactly the granted paths, plus the private scratch tmpfs"),
    net: enforced(
      "bubblewrap network namespace: no network interface at all without a network grant" +
        (base.net.status === "enforced" && runtimeType === "deno" ?
          "; per-host lists by --allow-net=<hosts>" :
          "; per-host lists are not enforceable on this runtime (refused)")
    ),
    env: enforced(
      "the child process only receives PATH, a private HOME and TMPDIR, granted and per-call variables, and " +
        "cannot read the host's processes (/proc of its own pid namespace)"
    ),
    processes: enforced(
      "bubblewrap pid namespace: the tool sees only its own processes, and every descendant (setsid and double " +
        "forks included) dies with the call"
    ),
    scratch: enforced("HOME and TMPDIR are a private tmpfs of maxMemoryMB (ENOSPC beyond: ToolScratchExceeded)")
  }
}

const runtimeCapabilities = (runtimeType: RuntimeConfig.RuntimeType, version: string): Capabilities => {
  const isolation = "none" as const
  const processes = unenforceable(
    "without bubblewrap a tool that may read /proc reads other processes' entries (the host's environment " +
      "among them), and a descendant that leaves the process group is only killed when the watchdog saw it; " +
      "a config restricting the tool that grants either is refused (see docs/tools-and-sandbox.md, the isolation tables)"
  )
  const scratch = hasProc ?
    enforced(
      "HOME and TMPDIR are a directory on the host's temp file system; the watchdog measures it with every memory " +
        "sample and when the call ends, and fails the call over maxMemoryMB (ToolScratchExceeded): a tool can " +
        "exceed it by what it writes within one sample interval"
    ) :
    enforced(
      "HOME and TMPDIR are a directory on the host's temp file system, measured when the call ends (over " +
        "maxMemoryMB: ToolScratchExceeded); a tool can exceed it while the call runs"
    )
  const env = enforced(
    "the child process only receives PATH, a private HOME and TMPDIR, granted and per-call variables; with " +
      "read access to /proc a restricted environment is refused (other processes' environ files)"
  )
  const rss = hasProc ?
    enforced("a watchdog samples the resident memory of the process tree (/proc) and kills it over maxMemoryMB") :
    unenforceable("the resident-memory watchdog needs Linux /proc")
  const timeout = enforced("the host kills the whole process group (SIGTERM, grace, SIGKILL) and reaps it")
  if (runtimeType === "bun") {
    const none = "Bun has no permission model: it ignores --allow-* and --permission flags (oven-sh/bun#6617)"
    return {
      runtimeType,
      version,
      isolation,
      read: unenforceable(none),
      write: unenforceable(none),
      net: unenforceable(none),
      env: unenforceable(
        "Bun enforces no read limit, so the tool reads /proc/<pid>/environ of the host and of other workers; " +
          "only PATH, a private HOME and TMPDIR, granted and per-call variables are passed to it"
      ),
      run: unenforceable(none),
      memory: unenforceable("Bun has no enforced heap cap (BUN_JSC_forceRAMSize is a GC hint); only the RSS watchdog"),
      rss,
      timeout,
      processes,
      scratch
    }
  }
  if (runtimeType === "deno") {
    return {
      runtimeType,
      version,
      isolation,
      read: enforced("--allow-read=<paths>"),
      write: enforced("--allow-write=<paths>"),
      net: enforced("--allow-net=<hosts>"),
      env: enforced("--allow-env=<names> on top of the allow-listed child environment"),
      run: enforced("--allow-run=<programs> (subprocesses themselves are not sandboxed)"),
      memory: enforced("--v8-flags=--max-old-space-size"),
      rss,
      timeout,
      processes,
      scratch
    }
  }
  const [major] = parseVersion(version)
  const model = major >= 22 ? "--permission" : "--experimental-permission"
  const fs = major >= 20 ?
    (flag: string) => enforced(`Node permission model (${model} ${flag}=<paths>)`) :
    () => unenforceable(`Node ${version} has no permission model (needs Node 20 or later)`)
  return {
    runtimeType,
    version,
    isolation,
    read: fs("--allow-fs-read"),
    write: fs("--allow-fs-write"),
    net: major >= 25 ?
      enforced("Node permission model --allow-net (all or nothing, no per-host scope)") :
      unenforceable(`Node ${version} cannot restrict network access (--allow-net exists from Node 25)`),
    env,
    run: major >= 20 ?
      enforced("Node permission model --allow-child-process / --allow-worker (all or nothing)") :
      unenforceable(`Node ${version} has no permission model (needs Node 20 or later)`),
    memory: enforced("--max-old-space-size"),
    rss,
    timeout,
    processes,
    scratch
  }
}

/**
 * One requested restriction the runtime cannot enforce.
 *
 * @since 0.1.0
 * @category models
 */
export interface Unenforced {
  readonly permission: "read" | "write" | "net" | "run" | "env"
  readonly reason: string
  /** How to get the restriction enforced, when there is a better way than granting it. */
  readonly suggestion?: string
}

const describeGrant = (kind: string, grant: Permissions.Grant): string =>
  grant === "none" ? `no --allow-${kind}` : `--allow-${kind}=${(grant as ReadonlyArray<string>).join(",")}`

/**
 * The restrictions in `grants` that `capabilities` cannot enforce (empty when everything holds).
 * Env restrictions are unenforceable only on Bun without bubblewrap (it reads every `/proc/<pid>/environ`);
 * what else only bubblewrap keeps under runtime flags is checked by the sandbox before a call.
 *
 * @example
 * ```ts
 * import { capabilitiesOf, unenforced } from "effect-swarm/sandbox/Limits"
 * import { grants } from "effect-swarm/config/Permissions"
 * unenforced(capabilitiesOf("node", "20.20.2"), grants(["--allow-read", "--allow-write", "--allow-run"]))
 * // [{ permission: "net", reason: "no --allow-net was requested but Node 20.20.2 cannot restrict network access ..." }]
 * ```
 *
 * @since 0.1.0
 * @category capabilities
 */
export const unenforced = (capabilities: Capabilities, grants: Permissions.Grants): Array<Unenforced> => {
  const out: Array<Unenforced> = []
  for (const kind of ["read", "write", "net", "run", "env"] as const) {
    const grant = grants[kind]
    if (grant === "all") continue
    const cap = capabilities[kind]
    const asked = describeGrant(kind, grant)
    const os = capabilities.isolation === "bubblewrap"
    if (cap.status === "unenforceable") {
      out.push({ permission: kind, reason: `${asked} was requested but ${cap.reason}` })
    } else if (os && kind === "net" && grant !== "none" && capabilities.runtimeType !== "deno") {
      out.push({
        permission: kind,
        reason: `${asked} was requested but bubblewrap can only allow or deny all network access, and ` +
          `${capabilities.runtimeType} has no per-host network permission`
      })
    } else if (
      capabilities.runtimeType === "node" && grant !== "none" && (kind === "run" || (kind === "net" && !os))
    ) {
      out.push({
        permission: kind,
        reason: `${asked} was requested but Node can only allow or deny ${
          kind === "run" ? "all child processes" : "all network access"
        }`
      })
    }
  }
  // Node's permission model does not follow a child process: with child processes allowed, a tool
  // reads and writes whatever the host user can through `cat` or `sh`, cancelling the fs limits.
  if (
    capabilities.isolation === "none" && capabilities.runtimeType === "node" && grants.run === "all" &&
    capabilities.run.status === "enforced" && (grants.read !== "all" || grants.write !== "all")
  ) {
    const limited = grants.read !== "all" ? "read" : "write"
    out.push({
      permission: limited,
      reason: `--allow-run was granted with a ${limited} restriction, but Node's permission model does not apply ` +
        `to child processes, so a subprocess can ${limited} anything; use isolation "os" (bubblewrap), ` +
        `which restricts every process of the call`
    })
  }
  return out
}
