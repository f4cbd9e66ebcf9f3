/**
 * The allow-listed child environment and the validation of a call's variables (re-exported by
 * `Limits`).
 *
 * @internal
 */
import * as Permissions from "../../config/Permissions.js"
import { InvalidToolEnv } from "../ToolRuntimeError.js"

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
