/**
 * Runtime binaries: where `bun`, `node` and `deno` are found, their real paths (bound into an OS
 * sandbox) and their versions (probed once per binary and layer).
 *
 * @internal
 */
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type * as RuntimeConfig from "../../config/RuntimeConfig.js"

const moduleDir = path.dirname(fileURLToPath(import.meta.url))

const findBin = (name: string): string | undefined => {
  for (const start of [moduleDir, process.cwd()]) {
    let dir = start
    for (;;) {
      const candidate = path.join(dir, "node_modules", ".bin", name)
      if (fs.existsSync(candidate)) return candidate
      const parent = path.dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return undefined
}

/**
 * The binary used for a runtime: the override, else `process.execPath` for node (when the host is
 * Node), else `node_modules/.bin/<name>` found upwards from this package or the working directory,
 * else the bare name (resolved through the layer's `PATH`, see `ToolRuntime.make`).
 *
 * @example
 * ```ts
 * import { ToolRuntime } from "effect-swarm"
 * ToolRuntime.resolveBinary("deno")                          // ".../node_modules/.bin/deno"
 * ToolRuntime.resolveBinary("bun", { bun: "/opt/bun/bin/bun" }) // "/opt/bun/bin/bun"
 * ```
 *
 * @since 0.1.0
 * @category binaries
 */
export const resolveBinary = (
  runtimeType: RuntimeConfig.RuntimeType,
  overrides?: Partial<Record<RuntimeConfig.RuntimeType, string>>
): string => {
  const override = overrides?.[runtimeType]
  if (override !== undefined) return override
  if (runtimeType === "node" && process.versions.bun === undefined) return process.execPath
  return findBin(runtimeType) ?? runtimeType
}

/**
 * The `PATH` used when none is configured.
 *
 * @internal
 */
export const defaultSearchPath = "/usr/local/bin:/usr/bin:/bin"

/** The real path of a binary (looked up on `searchPath` when bare), for binding it into an OS sandbox. */
export const realBinary = (binary: string, searchPath: string): string => {
  const candidates = binary.includes(path.sep) ?
    [binary] :
    searchPath.split(path.delimiter).filter((d) => d.length > 0).map((d) => path.join(d, binary))
  for (const candidate of candidates) {
    try {
      return fs.realpathSync(candidate)
    } catch {
      // not there
    }
  }
  return binary
}

const probeVersion = (binary: string): string => {
  try {
    return ChildProcess.execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000, env: {} }).trim()
  } catch {
    return "unknown"
  }
}

/**
 * A per-layer cache of runtime versions: `process.versions.node` for the running Node, else
 * `<binary> --version` (once per binary), reduced to `major.minor.patch`.
 *
 * @internal
 */
export const versionCache = () => {
  const versions = new Map<string, string>()
  return (runtimeType: RuntimeConfig.RuntimeType, binary: string): string => {
    const key = `${runtimeType}:${binary}`
    const known = versions.get(key)
    if (known !== undefined) return known
    const raw = runtimeType === "node" && binary === process.execPath && process.versions.bun === undefined
      ? process.versions.node
      : probeVersion(binary)
    const version = /(\d+\.\d+\.\d+)/.exec(raw)?.[1] ?? raw
    versions.set(key, version)
    return version
  }
}
