/**
 * The runtime config read through effect `Config` (environment variables by default; re-exported by
 * `RuntimeConfig` as `config`).
 *
 * @internal
 */
import * as Config_ from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type { Input } from "./runtimeConfigModel.js"

const commaList = (name: string) =>
  Config_.string(name).pipe(
    Config_.map((raw) =>
      raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0).reduce<Array<string>>((acc, entry) => {
        // "--allow-env=A,B" arrives split; glue scope items back onto the flag they belong to.
        if (!entry.startsWith("-") && acc.length > 0 && acc[acc.length - 1]!.includes("=")) {
          acc[acc.length - 1] = `${acc[acc.length - 1]},${entry}`
        } else acc.push(entry)
        return acc
      }, [])
    )
  )

const optional = <A>(config: Config_.Config<A>): Config_.Config<A | undefined> =>
  Config_.option(config).pipe(Config_.map((o) => (o._tag === "Some" ? o.value : undefined)))

const durationInput = (name: string) =>
  Config_.string(name).pipe(
    Config_.map((raw): Duration.DurationInput => {
      const trimmed = raw.trim()
      return /^\d+(?:\.\d+)?$/.test(trimmed) ? Number(trimmed) : (trimmed as Duration.DurationInput)
    })
  )

/**
 * Reads every field through effect `Config`, so `ConfigProvider.fromEnv()` (the default) or
 * `ConfigProvider.fromMap` drive it: `RUNTIME_TYPE` (default `bun`), `RUNTIME_ENTRYPOINT_PATH`,
 * `RUNTIME_ENVIRONMENT`, `RUNTIME_PERMISSIONS` and `RUNTIME_BUN_PERMISSIONS` (comma lists),
 * `RUNTIME_NODE_OPTIONS` (space or comma separated), `RUNTIME_PERMISSION_POLICY`, `RUNTIME_ISOLATION`, `RUNTIME_MAX_MEMORY_MB`,
 * `RUNTIME_TOOL_EXECUTION_TIMEOUT` and the `RUNTIME_BACKOFF_*` durations (milliseconds or `"30 seconds"`),
 * `RUNTIME_MAX_STDERR_CAPTURE_SIZE`, `RUNTIME_WORKER_FILE_PERM` (octal such as `600` or `0o600`),
 * `RUNTIME_NATIVE_TOOLS_CALL_AGENTS`, `RUNTIME_NATIVE_TOOLS_CALL_WORKFLOWS`, `RUNTIME_PRESPAWN`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config_.Config<Input> = Config_.all({
  runtimeType: Config_.string("RUNTIME_TYPE").pipe(
    Config_.withDefault("bun"),
    Config_.withDescription("Tool runtime: bun, node or deno.")
  ),
  entrypointPath: optional(Config_.string("RUNTIME_ENTRYPOINT_PATH")),
  environment: optional(Config_.string("RUNTIME_ENVIRONMENT")),
  permissions: optional(commaList("RUNTIME_PERMISSIONS")),
  bunPermissions: optional(commaList("RUNTIME_BUN_PERMISSIONS")),
  nodeOptions: optional(
    Config_.string("RUNTIME_NODE_OPTIONS").pipe(
      Config_.map((raw) => raw.split(/[\s,]+/).filter((s) => s.length > 0))
    )
  ),
  permissionPolicy: optional(Config_.string("RUNTIME_PERMISSION_POLICY")),
  isolation: optional(Config_.string("RUNTIME_ISOLATION")),
  maxMemoryMB: optional(Config_.integer("RUNTIME_MAX_MEMORY_MB")),
  toolExecutionTimeout: optional(durationInput("RUNTIME_TOOL_EXECUTION_TIMEOUT")),
  maxStderrCaptureSize: optional(Config_.integer("RUNTIME_MAX_STDERR_CAPTURE_SIZE")),
  backoffInitialInterval: optional(durationInput("RUNTIME_BACKOFF_INITIAL_INTERVAL")),
  backoffMaxInterval: optional(durationInput("RUNTIME_BACKOFF_MAX_INTERVAL")),
  backoffMaxElapsedTime: optional(durationInput("RUNTIME_BACKOFF_MAX_ELAPSED_TIME")),
  workerFilePerm: optional(
    Config_.string("RUNTIME_WORKER_FILE_PERM").pipe(
      Config_.mapOrFail((raw) => {
        const digits = raw.trim().replace(/^0o/i, "")
        return /^[0-7]{1,4}$/.test(digits)
          ? Either.right(parseInt(digits, 8))
          : Either.left(
            ConfigError.InvalidData([], `expected an octal file mode such as 600, got ${JSON.stringify(raw)}`)
          )
      })
    )
  ),
  prespawn: optional(Config_.integer("RUNTIME_PRESPAWN")),
  nativeTools: Config_.all({
    callAgents: Config_.boolean("RUNTIME_NATIVE_TOOLS_CALL_AGENTS").pipe(Config_.withDefault(false)),
    callWorkflows: Config_.boolean("RUNTIME_NATIVE_TOOLS_CALL_WORKFLOWS").pipe(Config_.withDefault(false))
  })
})
