/**
 * A worker's command line from its capabilities, grants and limits: Deno permission flags, Node's
 * permission model, heap caps (re-exported by `Limits`).
 *
 * @internal
 */
import * as path from "node:path"
import type * as Permissions from "../../config/Permissions.js"
import type { Capabilities } from "../Limits.js"
import { parseVersion } from "./version.js"

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
