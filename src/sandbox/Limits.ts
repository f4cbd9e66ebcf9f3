/**
 * What each runtime can enforce, and how a {@link RuntimeConfig.Config} becomes a command line and an
 * environment: Deno permission flags, Node's permission model, heap caps, and the allow-listed child
 * environment. Pure functions: no process is started here.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import * as Permissions from "../config/Permissions.js"
import type * as RuntimeConfig from "../config/RuntimeConfig.js"
import { InvalidToolEnv } from "./ToolRuntimeError.js"

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
 * Parses `"v20.20.2"` / `"20.20.2"` into `[major, minor]` (`[0, 0]` when unparsable).
 *
 * @example
 * ```ts
 * import { parseVersion } from "effect-swarm/sandbox/Limits"
 * parseVersion("v20.20.2") // [20, 20]
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseVersion = (version: string): readonly [number, number] => {
  const match = /(\d+)\.(\d+)/.exec(version)
  return match === null ? [0, 0] : [Number(match[1]), Number(match[2])]
}

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
      "a config restricting the tool that grants either is refused (see the README's isolation table)"
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

// ---------------------------------------------------------------------------------------------------
// TypeScript entrypoints
// ---------------------------------------------------------------------------------------------------

/**
 * True when an entrypoint is TypeScript (`.ts`, `.mts`, `.cts`): Bun and Deno run it as is, Node only
 * from 22.6 (behind `--experimental-strip-types` before 23.6).
 *
 * @example
 * ```ts
 * import { isTypeScriptEntry } from "effect-swarm/sandbox/Limits"
 * isTypeScriptEntry("/tools/notes.ts")  // true
 * isTypeScriptEntry("/tools/notes.mjs") // false
 * ```
 *
 * @since 0.1.0
 * @category typescript
 */
export const isTypeScriptEntry = (entrypoint: string): boolean => /\.[mc]?ts$/i.test(entrypoint)

/**
 * How a runtime at a given version runs a TypeScript entrypoint: natively, with extra flags, or not at
 * all (and why).
 *
 * @since 0.1.0
 * @category typescript
 */
export type TypeScriptSupport =
  | { readonly _tag: "Native" }
  | { readonly _tag: "Flags"; readonly flags: ReadonlyArray<string> }
  | { readonly _tag: "Unsupported"; readonly reason: string; readonly suggestion: string }

/**
 * Whether `runtimeType` at `version` can import a TypeScript entrypoint. Bun and Deno always can. Node
 * strips types natively from 23.6, with `--experimental-strip-types` from 22.6 (the flag is passed on
 * 22.6-23.5, where it is harmless even when a later 22.x enables stripping by default), and not at all
 * before 22.6: the sandbox cannot add a loader (`--import` is refused in `nodeOptions`, and loader
 * hooks need worker threads that the permission model forbids).
 *
 * @example
 * ```ts
 * import { typeScriptSupport } from "effect-swarm/sandbox/Limits"
 * typeScriptSupport("node", "20.20.2")._tag // "Unsupported"
 * typeScriptSupport("node", "22.12.0")      // { _tag: "Flags", flags: ["--experimental-strip-types"] }
 * typeScriptSupport("node", "24.1.0")._tag  // "Native"
 * typeScriptSupport("deno", "2.9.6")._tag   // "Native"
 * ```
 *
 * @since 0.1.0
 * @category typescript
 */
export const typeScriptSupport = (runtimeType: RuntimeConfig.RuntimeType, version: string): TypeScriptSupport => {
  if (runtimeType !== "node") return { _tag: "Native" }
  const [major, minor] = parseVersion(version)
  if (major > 23 || (major === 23 && minor >= 6)) return { _tag: "Native" }
  if (major === 23 || (major === 22 && minor >= 6)) return { _tag: "Flags", flags: ["--experimental-strip-types"] }
  return {
    _tag: "Unsupported",
    reason: `Node ${version} cannot import TypeScript (type stripping needs Node 22.6 or later)`,
    suggestion: "use runtime type bun or deno, which run TypeScript as is, compile the entry to JavaScript " +
      "(.js or .mjs), or run on Node 22.6 or later"
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

/**
 * Bun 1.4 cannot import a module whose path contains `?`: it reads the `?` as the start of a query,
 * with a file URL (`%3F`), a plain path or `require` alike, and again after resolving a symlink. This
 * returns the deepest prefix of `entrypoint` whose last name contains `?` (usually a directory; the
 * entry itself when only its file name has one), or `undefined` when the path is safe. The runtime
 * imports such an entry through a symlink to that prefix in its private directory, with
 * `--preserve-symlinks`, so everything below it (sibling modules, subdirectories, a `node_modules`
 * inside it) resolves as usual; relative imports that climb above it and packages installed above it
 * do not. `#` needs nothing: Bun handles it.
 *
 * @example
 * ```ts
 * import { bunUnsafeDirectory } from "effect-swarm/sandbox/Limits"
 * bunUnsafeDirectory("/work/a?b/tools?v=2/lib/main.mjs") // "/work/a?b/tools?v=2"
 * bunUnsafeDirectory("/work/tools #1/main.mjs")          // undefined
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const bunUnsafeDirectory = (entrypoint: string): string | undefined => {
  const parts = entrypoint.split(path.sep)
  const index = parts.findLastIndex((part) => part.includes("?"))
  return index === -1 ? undefined : parts.slice(0, index + 1).join(path.sep)
}

// ---------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/
const blockedPrefixes = ["LD_", "DYLD_", "BUN_CONFIG_"]
const blockedNames = new Set(["NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE", "BUN_OPTIONS", "DENO_DIR"])

/**
 * True for variables that change how a runtime loads code or libraries; they never reach a child,
 * neither from the host nor from a call.
 *
 * @example
 * ```ts
 * import { isBlockedEnvName } from "effect-swarm/sandbox/Limits"
 * isBlockedEnvName("NODE_OPTIONS") // true
 * isBlockedEnvName("API_KEY")      // false
 * ```
 *
 * @since 0.1.0
 * @category environment
 */
export const isBlockedEnvName = (name: string): boolean => {
  const upper = name.toUpperCase()
  return blockedNames.has(upper) || blockedPrefixes.some((p) => upper.startsWith(p))
}

/**
 * Validates a call's environment: portable names, no NUL / CR / LF in values, no blocked variables.
 *
 * @example
 * ```ts
 * import { validateCallEnv } from "effect-swarm/sandbox/Limits"
 * validateCallEnv({ LD_PRELOAD: "/x.so" }) // InvalidToolEnv { name: "LD_PRELOAD", ... }
 * ```
 *
 * @since 0.1.0
 * @category environment
 */
export const validateCallEnv = (env: Record<string, string> | undefined): InvalidToolEnv | undefined => {
  if (env === undefined) return undefined
  for (const name of Object.keys(env)) {
    const value = env[name]
    if (!envName.test(name)) {
      return new InvalidToolEnv({
        name,
        reason: "names must start with a letter or underscore and contain only letters, digits and underscores"
      })
    }
    if (isBlockedEnvName(name)) {
      return new InvalidToolEnv({
        name,
        reason: "it changes how the runtime loads code (LD_*, DYLD_*, NODE_OPTIONS, NODE_PATH, BUN_CONFIG_*, " +
          "BUN_OPTIONS, DENO_DIR are blocked for security reasons)"
      })
    }
    if (typeof value !== "string") return new InvalidToolEnv({ name, reason: "values must be strings" })
    if (/[\0\r\n]/.test(value)) {
      return new InvalidToolEnv({ name, reason: "the value contains invalid characters (NUL, CR or newline)" })
    }
  }
  return undefined
}

/**
 * Which host variables reach the child: those named by an explicit `--allow-env=NAMES`, or all of them
 * with a bare `--allow-env`. `--allow-all` (the config default) lets the tool read its environment but
 * forwards no host variable, so host secrets never leak by default.
 *
 * @example
 * ```ts
 * import { hostEnvGrant } from "effect-swarm/sandbox/Limits"
 * hostEnvGrant(["--allow-all"])             // "none"
 * hostEnvGrant(["--allow-env=API_KEY"])     // ["API_KEY"]
 * ```
 *
 * @since 0.1.0
 * @category environment
 */
export const hostEnvGrant = (permissions: ReadonlyArray<string>): Permissions.Grant =>
  Permissions.grants(permissions.filter((entry) => Permissions.parse(entry)?.kind !== "all")).env

/**
 * The child environment: `PATH`, a private `HOME` and `TMPDIR`, the host variables granted by
 * `--allow-env[=NAMES]` (blocked names excepted), then the call's variables.
 *
 * @example
 * ```ts
 * import { childEnv } from "effect-swarm/sandbox/Limits"
 * childEnv({ hostEnv: process.env, envGrant: ["API_KEY"], scratchDir: "/tmp/x", callEnv: { MODE: "fast" }, extra: {} })
 * // { API_KEY: <host value>, PATH: <host PATH>, HOME: "/tmp/x", TMPDIR: "/tmp/x", MODE: "fast" }
 * ```
 *
 * @since 0.1.0
 * @category environment
 */
export const childEnv = (options: {
  readonly hostEnv: Readonly<Record<string, string | undefined>>
  readonly envGrant: Permissions.Grant
  readonly scratchDir: string
  readonly callEnv: Record<string, string> | undefined
  readonly extra: Record<string, string>
}): Record<string, string> => {
  const out: Record<string, string> = {}
  const { hostEnv } = options
  if (options.envGrant === "all") {
    for (const [k, v] of Object.entries(hostEnv)) if (v !== undefined && !isBlockedEnvName(k)) out[k] = v
  } else if (options.envGrant !== "none") {
    for (const name of options.envGrant) {
      const v = hostEnv[name]
      if (v !== undefined && !isBlockedEnvName(name)) out[name] = v
    }
  }
  out.PATH = hostEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin"
  out.HOME = options.scratchDir
  out.TMPDIR = options.scratchDir
  Object.assign(out, options.extra)
  if (options.callEnv !== undefined) Object.assign(out, options.callEnv)
  return out
}

// ---------------------------------------------------------------------------------------------------
// Command lines
// ---------------------------------------------------------------------------------------------------

/**
 * Everything needed to build one worker's command line.
 *
 * @since 0.1.0
 * @category models
 */
export interface LaunchInput {
  readonly capabilities: Capabilities
  readonly grants: Permissions.Grants
  readonly maxMemoryMB: number
  readonly nodeOptions: ReadonlyArray<string>
  readonly workerPath: string
  /** Paths the runtime must read to start: the worker directory and the entrypoint. */
  readonly implicitRead: ReadonlyArray<string>
  /** The private scratch directory (HOME, TMPDIR, cwd): always readable and writable. */
  readonly scratchDir: string
  /** Names of per-call variables Deno must be allowed to read. */
  readonly callEnvNames: ReadonlyArray<string>
  /** Extra runtime flags a TypeScript entrypoint needs (see {@link typeScriptSupport}); Node only. */
  readonly typeScriptFlags?: ReadonlyArray<string>
  /** Bun only: the entrypoint is imported through a symlink (see {@link bunUnsafeDirectory}), which Bun
   * must not resolve to its real path. */
  readonly preserveSymlinks?: boolean
}

const absolute = (p: string): string => path.resolve(p)

const scoped = (grant: Permissions.Grant): ReadonlyArray<string> => grant === "all" || grant === "none" ? [] : grant

// Node 20 aborts at startup (a failed assertion in its permission radix tree) when one path is granted
// twice, even as "/a" and "/a/"; a user grant may well repeat an implicit one, so resolve and dedupe.
const uniquePaths = (paths: ReadonlyArray<string>): Array<string> => [...new Set(paths.map(absolute))]

/**
 * The arguments (after the binary) that start the worker under `input`'s limits.
 *
 * @example
 * ```ts
 * import { capabilitiesOf, launchArgs } from "effect-swarm/sandbox/Limits"
 * import { grants } from "effect-swarm/config/Permissions"
 * launchArgs({
 *   capabilities: capabilitiesOf("deno", "2.9.6"), grants: grants(["--allow-net=example.com"]), maxMemoryMB: 256,
 *   nodeOptions: [], workerPath: "/tmp/w/worker.mjs", implicitRead: ["/tmp/w"], scratchDir: "/tmp/w/s", callEnvNames: []
 * })
 * ```
 *
 * @since 0.1.0
 * @category command lines
 */
export const launchArgs = (input: LaunchInput): Array<string> => {
  const { grants } = input
  const runtimeType = input.capabilities.runtimeType
  if (runtimeType === "bun") {
    return [
      "--no-env-file",
      "--no-install",
      ...(input.preserveSymlinks === true ? ["--preserve-symlinks"] : []),
      input.workerPath
    ]
  }
  if (runtimeType === "deno") {
    // --no-config: Deno would otherwise look for a deno.json upwards from the worker script, through the
    // temporary root a tool with a write grant there can write (an import map redirecting the next call).
    const args = [
      "run",
      "-q",
      "--no-prompt",
      "--no-lock",
      "--no-config",
      `--v8-flags=--max-old-space-size=${input.maxMemoryMB}`
    ]
    const everything = grants.read === "all" && grants.write === "all" && grants.net === "all" &&
      grants.env === "all" && grants.run === "all"
    if (everything) args.push("--allow-all")
    else {
      args.push(
        grants.read === "all" ?
          "--allow-read" :
          `--allow-read=${uniquePaths([...scoped(grants.read), ...input.implicitRead, input.scratchDir]).join(",")}`
      )
      args.push(
        grants.write === "all" ?
          "--allow-write" :
          `--allow-write=${uniquePaths([...scoped(grants.write), input.scratchDir]).join(",")}`
      )
      if (grants.net === "all") args.push("--allow-net")
      else if (grants.net !== "none") args.push(`--allow-net=${grants.net.join(",")}`)
      const envNames = [...scoped(grants.env), ...input.callEnvNames]
      if (grants.env === "all") args.push("--allow-env")
      else if (envNames.length > 0) args.push(`--allow-env=${[...new Set(envNames)].join(",")}`)
      if (grants.run === "all") args.push("--allow-run")
      else if (grants.run !== "none") args.push(`--allow-run=${grants.run.join(",")}`)
    }
    args.push(input.workerPath)
    return args
  }
  const [major, minor] = parseVersion(input.capabilities.version)
  const args: Array<string> = []
  const netRestricted = major >= 25 && grants.net !== "all"
  const useModel = major >= 20 &&
    (grants.read !== "all" || grants.write !== "all" || grants.run !== "all" || netRestricted)
  if (useModel) {
    args.push(major >= 22 ? "--permission" : "--experimental-permission")
    if (major > 20 || minor >= 11) args.push("--disable-warning=ExperimentalWarning")
    if (grants.read === "all") args.push("--allow-fs-read=*")
    else {
      for (const p of uniquePaths([...scoped(grants.read), ...input.implicitRead, input.scratchDir])) {
        args.push(`--allow-fs-read=${p}`)
      }
    }
    if (grants.write === "all") args.push("--allow-fs-write=*")
    else for (const p of uniquePaths([...scoped(grants.write), input.scratchDir])) args.push(`--allow-fs-write=${p}`)
    if (grants.run === "all") args.push("--allow-child-process", "--allow-worker")
    if (major >= 25 && grants.net === "all") args.push("--allow-net")
  }
  const tsFlags = input.typeScriptFlags ?? []
  if (tsFlags.length > 0) {
    args.push(...tsFlags)
    // Type stripping prints an ExperimentalWarning on every start; the permission model already silenced it.
    if (!useModel) args.push("--disable-warning=ExperimentalWarning")
  }
  for (const option of input.nodeOptions) args.push(option)
  // After nodeOptions: the last flag wins in Node, and maxMemoryMB is the limit the config promises.
  args.push(`--max-old-space-size=${input.maxMemoryMB}`)
  args.push(input.workerPath)
  return args
}
