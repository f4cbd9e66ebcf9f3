/**
 * OS isolation for tool workers: the strategy {@link ToolRuntime} wraps every worker's command line in.
 *
 * - `bubblewrap` (`bwrap`, Linux, unprivileged user namespaces): each worker runs in new pid, mount,
 *   network, ipc and uts namespaces, with `--die-with-parent` and `--new-session`. It sees its own
 *   processes only (killing the namespace's init kills every descendant, `setsid` and double forks
 *   included), a read-only view of exactly the granted paths, the runtime binary, the worker script and
 *   the system directories a runtime needs to start (`/usr`, `/lib*`, `/bin`, a few `/etc` files such
 *   as `resolv.conf` and the CA certificates, never `/etc/shadow`), read-write binds of the write grants,
 *   a private size-limited tmpfs as HOME / TMPDIR / cwd, and no network at all unless a network grant
 *   was given.
 * - `none`: the command line is left as is; only the runtime's own permission flags apply.
 *
 * The layer's config picks one per call (`RuntimeConfig.withIsolation`): `runtime` is `none`, `os` is
 * the {@link Sandbox} service (bubblewrap by default), `auto` is the service when its probe succeeds.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as Permissions from "../config/Permissions.js"
import * as HostEnv from "./internal/hostEnv.js"

/**
 * What a worker's sandbox must contain.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mounts {
  /** The runtime binary (resolved to its real path; the wrapped command runs that path). */
  readonly binary: string
  /** The worker script (read-only). */
  readonly workerPath: string
  /** The user's read grant: `"all"` binds `/` read-only. */
  readonly read: Permissions.Grant
  /** The user's write grant: `"all"` binds `/` read-write when read is `"all"` too, else makes the read
   * grants writable (a mount cannot be writable without being readable). */
  readonly write: Permissions.Grant
  /** Paths the runtime needs to read besides the grants: the entrypoint's directory, Deno's cache. */
  readonly implicitRead: ReadonlyArray<string>
  /** Share the host's network (any network grant); otherwise the worker has no network interface. */
  readonly network: boolean
  /** HOME, TMPDIR and cwd: a private tmpfs of `scratchBytes` mounted here. */
  readonly scratchDir: string
  readonly scratchBytes: number
  /** Host paths hidden behind an empty tmpfs wherever a bind covers them (the layer's private directory:
   * other calls' files); what the worker needs from inside them is bound again. */
  readonly hide: ReadonlyArray<string>
  /** Files the worker reads besides the worker script (read-only): a cold call's `init` and call. */
  readonly files?: ReadonlyArray<string> | undefined
}

/**
 * A wrapped command line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Command {
  readonly command: string
  readonly args: ReadonlyArray<string>
}

/**
 * What a probe found.
 *
 * @since 0.1.0
 * @category models
 */
export type Probe =
  | { readonly _tag: "Available"; readonly binary: string }
  | { readonly _tag: "Unavailable"; readonly reason: string; readonly suggestion: string }

/**
 * An OS isolation strategy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `"bubblewrap"` or `"none"`. */
  readonly strategy: "bubblewrap" | "none"
  /** Whether the strategy works on this machine (run once per ToolRuntime layer, synchronously). */
  readonly probe: () => Probe
  /** The command line that runs `command args` under this strategy. */
  readonly wrap: (command: string, args: ReadonlyArray<string>, mounts: Mounts) => Command
}

/**
 * The OS sandbox {@link ToolRuntime} uses for `isolation: "os"` and `"auto"` (bubblewrap when absent).
 *
 * @since 0.1.0
 * @category tags
 */
export class Sandbox extends Context.Tag("effect-swarm/Sandbox")<Sandbox, Service>() {}

/**
 * How to get bubblewrap: shown in `IsolationUnavailable` and in the `auto` fallback warning.
 *
 * @since 0.1.0
 * @category constants
 */
export const installHint = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: " +
  "`dnf install bubblewrap`) and allow unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`, " +
  "or on Ubuntu 24.04+ `sysctl kernel.apparmor_restrict_unprivileged_userns=0`)"

/**
 * The strategy that adds nothing: the runtime's own flags are the only limits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Service = {
  strategy: "none",
  probe: () => ({ _tag: "Available", binary: "" }),
  wrap: (command, args) => ({ command, args })
}

/**
 * Where `command` resolves: a command containing `/` is resolved against `cwd` (default: the process's
 * directory); a bare name is looked up in `searchPath` (a `PATH` value, given explicitly: whose PATH
 * counts is the caller's decision), returning the first executable match, or `undefined`.
 *
 * @example
 * ```ts
 * import { findOnPath } from "effect-swarm/sandbox/Sandbox"
 * findOnPath("bwrap", { searchPath: "/usr/local/bin:/usr/bin:/bin" }) // "/usr/bin/bwrap" when installed
 * ```
 *
 * @since 0.1.0
 * @category binaries
 */
export const findOnPath = (
  command: string,
  options: { readonly searchPath: string; readonly cwd?: string | undefined }
): string | undefined => {
  if (command.includes("/")) return path.resolve(options.cwd ?? ".", command)
  for (const dir of options.searchPath.split(path.delimiter)) {
    if (dir.length === 0) continue
    const candidate = path.join(dir, command)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const namespaces = [
  "--unshare-user-try",
  "--unshare-pid",
  "--unshare-ipc",
  "--unshare-uts",
  "--unshare-cgroup-try",
  "--die-with-parent",
  "--new-session"
]

/** System directories a dynamically linked runtime needs: programs and shared libraries only. */
const systemDirs = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]

/** Configuration files a runtime reads to resolve names, verify TLS and print local times. */
const etcFiles = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/nsswitch.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/pki",
  "/etc/localtime",
  "/etc/passwd",
  "/etc/group"
]

const realOrNothing = (p: string): string | undefined => {
  try {
    return fs.realpathSync(path.resolve(p))
  } catch {
    return undefined
  }
}

/** Resolved, existing, deduplicated, parents before children (a later bind shadows an earlier one). */
const bindable = (paths: ReadonlyArray<string>): Array<string> =>
  [...new Set(paths.map(realOrNothing).filter((p): p is string => p !== undefined))].sort((a, b) => a.length - b.length)

let systemArgsCache: ReadonlyArray<string> | undefined
const systemArgs = (): ReadonlyArray<string> => {
  if (systemArgsCache !== undefined) return systemArgsCache
  const args: Array<string> = []
  for (const dir of systemDirs) {
    let info: fs.Stats
    try {
      info = fs.lstatSync(dir)
    } catch {
      continue
    }
    if (info.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(dir), dir)
    else if (info.isDirectory()) args.push("--ro-bind", dir, dir)
  }
  for (const file of etcFiles) args.push("--ro-bind-try", file, file)
  systemArgsCache = args
  return args
}

/** True when `inner` is `outer` or below it. */
const within = (outer: string, inner: string): boolean =>
  inner === outer || inner.startsWith(outer === path.sep ? outer : outer + path.sep)

/**
 * The bubblewrap arguments (before the command) for `mounts`.
 *
 * @example
 * ```ts
 * import { bubblewrapArgs } from "effect-swarm/sandbox/Sandbox"
 * bubblewrapArgs({
 *   binary: "/usr/bin/node", workerPath: "/tmp/es/worker/worker.mjs", read: ["/srv/data"], write: "none",
 *   implicitRead: ["/srv/tools"], network: false, scratchDir: "/tmp/es/calls/c-1", scratchBytes: 64 << 20, hide: ["/tmp/es"]
 * }) // ["--unshare-user-try", "--unshare-pid", ..., "--unshare-net", ..., "--chdir", "/tmp/es/calls/c-1"]
 * ```
 *
 * @since 0.1.0
 * @category command lines
 */
export const bubblewrapArgs = (mounts: Mounts): Array<string> => {
  const args = [...namespaces]
  if (!mounts.network) args.push("--unshare-net")
  // A mount is readable wherever it is writable: with a scoped read grant, "write everything" can only
  // mean "write everything the tool may read" (the read grants become writable binds).
  const writeAll = mounts.write === "all" && mounts.read === "all"
  if (writeAll) args.push("--bind", "/", "/")
  else if (mounts.read === "all") args.push("--ro-bind", "/", "/")
  else args.push(...systemArgs())
  args.push("--proc", "/proc", "--dev", "/dev")
  const readPaths = mounts.read === "all" || mounts.read === "none" ? [] : mounts.read
  const implicit = bindable([...mounts.implicitRead, mounts.binary])
  const reads = bindable(readPaths)
  const writes = mounts.write !== "all" && mounts.write !== "none" ? bindable(mounts.write) : []
  for (const p of implicit) args.push("--ro-bind", p, p)
  for (const p of reads) args.push(mounts.write === "all" ? "--bind" : "--ro-bind", p, p)
  for (const p of writes) args.push("--bind", p, p)
  // Other calls' files (a cold call's input, environment and token) and the worker script's directory
  // are not the tool's business: hidden wherever a bind covers them, after the binds.
  const bound = [...implicit, ...reads, ...writes]
  const hiddenNow: Array<string> = []
  for (const hidden of mounts.hide) {
    const covered = mounts.read === "all" || mounts.write === "all" || bound.some((p) => within(p, hidden))
    if (!covered) continue
    hiddenNow.push(hidden)
    args.push("--tmpfs", hidden)
    for (const p of implicit) if (within(hidden, p) && p !== hidden) args.push("--ro-bind", p, p)
  }
  args.push("--ro-bind", mounts.workerPath, mounts.workerPath)
  for (const file of mounts.files ?? []) args.push("--ro-bind", file, file)
  args.push("--size", String(mounts.scratchBytes), "--tmpfs", mounts.scratchDir)
  // Every other tmpfs bubblewrap made has no size limit: the new root (when `/` is not bound), `/dev` (and
  // `/dev/shm`, `/dev/mqueue` a tool could create there) and the hiding ones. Written to, each would hold
  // memory past `maxMemoryMB` that no watchdog sees (E10 outside the scratch): read-only once the mounts
  // inside them are made (a remount is not recursive, so the binds and the scratch keep their modes).
  if (mounts.read !== "all" && !writeAll) args.push("--remount-ro", "/")
  args.push("--remount-ro", "/dev")
  for (const hidden of hiddenNow) args.push("--remount-ro", hidden)
  args.push("--chdir", mounts.scratchDir)
  return args
}

/**
 * Bubblewrap as the OS sandbox. `binary` defaults to `bwrap` found on `searchPath` (default: this
 * process's `PATH`; `ToolRuntime.layer` and {@link layerBubblewrap} pass the one read through effect
 * `Config`).
 *
 * @example
 * ```ts
 * import { Sandbox } from "effect-swarm/sandbox/Sandbox"
 * import { bubblewrap } from "effect-swarm/sandbox/Sandbox"
 * const custom = bubblewrap("/opt/bubblewrap/bin/bwrap")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const bubblewrap = (
  binary?: string,
  searchPath: string = process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"
): Service => {
  const probe = (): Probe => {
    const found = binary ?? findOnPath("bwrap", { searchPath })
    if (found === undefined) {
      return { _tag: "Unavailable", reason: "no bwrap binary on PATH", suggestion: installHint }
    }
    const result = ChildProcess.spawnSync(
      found,
      [...namespaces, "--unshare-net", ...systemArgs(), "--proc", "/proc", "--dev", "/dev", "--", "true"],
      { encoding: "utf8", timeout: 10_000, env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "ignore", "pipe"] }
    )
    if (result.error !== undefined) {
      return { _tag: "Unavailable", reason: `${found}: ${result.error.message}`, suggestion: installHint }
    }
    if (result.status !== 0) {
      const stderr = (result.stderr ?? "").trim().slice(0, 300)
      return {
        _tag: "Unavailable",
        reason: `${found} could not create the namespaces (exit ${result.status ?? result.signal}): ${stderr}`,
        suggestion: installHint
      }
    }
    return { _tag: "Available", binary: found }
  }
  let found: string | undefined
  return {
    strategy: "bubblewrap",
    probe: () => {
      const result = probe()
      if (result._tag === "Available") found = result.binary
      return result
    },
    wrap: (command, args, mounts) => ({
      command: found ?? binary ?? "bwrap",
      args: [...bubblewrapArgs(mounts), "--", command, ...args]
    })
  }
}

/**
 * Provides bubblewrap (optionally at a custom path) as the OS sandbox; without a path, `bwrap` is looked
 * up on the `PATH` read through effect `Config`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RuntimeConfig, ToolRuntime } from "effect-swarm"
 * import * as Sandbox from "effect-swarm/sandbox/Sandbox"
 *
 * const Runtime = ToolRuntime.layer.pipe(
 *   Layer.provide(Sandbox.layerBubblewrap("/opt/bubblewrap/bin/bwrap")),
 *   Layer.provide(RuntimeConfig.layer("node", RuntimeConfig.withEntrypointPath("./tools.mjs")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBubblewrap = (binary?: string): Layer.Layer<Sandbox> =>
  Layer.effect(Sandbox, Effect.map(HostEnv.read, (host) => bubblewrap(binary, host.searchPath)))

/**
 * Provides the `none` strategy as the "OS sandbox": `isolation: "os"` then behaves like `"runtime"`.
 * Meant for tests and platforms without namespaces; prefer `RuntimeConfig.withIsolation("runtime")`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNone: Layer.Layer<Sandbox> = Layer.succeed(Sandbox, none)
