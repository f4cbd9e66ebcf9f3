/**
 * The execution plan of a call: which strategy isolates it, what the runtime enforces under that
 * strategy, the grants, binary, entrypoint and pool key, and the checks made before anything is
 * spawned (call env, unsupported TypeScript, unenforceable permissions, missing OS sandbox).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Permissions from "../../config/Permissions.js"
import * as RuntimeConfig from "../../config/RuntimeConfig.js"
import * as Limits from "../Limits.js"
import * as Sandbox from "../Sandbox.js"
import type { ExecuteRequest } from "../ToolRuntime.js"
import {
  EntrypointUnsupported,
  InvalidRuntimeConfig,
  IsolationUnavailable,
  PermissionUnenforceable,
  ToolNotFound
} from "../ToolRuntimeError.js"
import * as WorkerPool from "../WorkerPool.js"
import * as Binaries from "./binaries.js"
import type * as Session from "./session.js"
import * as Unconfined from "./unconfined.js"

/**
 * Everything one launch needs, derived from a config (shared with the pool).
 *
 * @internal
 */
export interface Plan {
  readonly config: RuntimeConfig.Config
  /** The isolation strategy the workers run under (resolved from `config.isolation` and the probe). */
  readonly sandbox: Sandbox.Service
  readonly capabilities: Limits.Capabilities
  readonly grants: Permissions.Grants
  /** Host variables forwarded to the child: only an explicit `--allow-env[=NAMES]`, never `--allow-all`. */
  readonly hostEnv: Permissions.Grant
  readonly binary: string
  /** Under an OS sandbox: the binary's real path (what is bound and run inside), and the paths the
   * runtime must read besides the grants. */
  readonly sandboxed: { readonly binary: string; readonly implicitRead: ReadonlyArray<string> } | undefined
  /** The entrypoint's real path (what errors name). */
  readonly entrypoint: string
  /** The path the worker imports: the entrypoint, or on Bun a path through a symlink in the private
   * directory when the real one contains `?` (see {@link Limits.bunUnsafeDirectory}). */
  readonly importPath: string
  /** `importPath` as the file URL sent in `init` (computed once: `pathToFileURL` resolves it again). */
  readonly importUrl: string
  /** How the runtime runs the entrypoint when it is TypeScript (`Native` for JavaScript entries). */
  readonly typeScript: Limits.TypeScriptSupport
  /** Identifies "same entrypoint, runtime and limits" for pooling. */
  readonly key: string
  /** Deno pools only: per-call variable names the workers are started with `--allow-env` for, so tool
   * code sees a call's `env` through `Deno.env` too (one pool per set of names). */
  readonly poolEnvNames: ReadonlyArray<string>
}

/**
 * What the planner needs from its layer.
 *
 * @internal
 */
export interface PlannerInput {
  readonly base: RuntimeConfig.Config
  readonly binaries: Partial<Record<RuntimeConfig.RuntimeType, string>> | undefined
  readonly privateDir: string
  readonly denoDir: string
  /** The OS sandbox (bubblewrap unless another `Sandbox` service is provided). */
  readonly osSandbox: Sandbox.Service
  readonly stderrTailBytes: number
  readonly killGrace: Duration.Duration
  /** The host's `PATH` (read through effect `Config`): where bare binary names are looked up. */
  readonly searchPath: string
}

/**
 * The plans of one layer, cached per config (and per override list reused by the caller).
 *
 * @internal
 */
export const makePlanner = (input: PlannerInput) => {
  const { base, denoDir, killGrace, osSandbox, privateDir, searchPath, stderrTailBytes } = input
  const options = { binaries: input.binaries }
  const versionOf = Binaries.versionCache()
  // The OS sandbox is probed once per layer, on the first call that may use it.
  let probed: Sandbox.Probe | undefined
  const probe = (): Sandbox.Probe => (probed ??= osSandbox.probe())
  /** The strategy for an isolation setting, or why "os" cannot be had. */
  const strategyFor = (isolation: RuntimeConfig.Isolation): Either.Either<Sandbox.Service, IsolationUnavailable> => {
    if (isolation === "runtime") return Either.right(Sandbox.none)
    const found = probe()
    if (found._tag === "Available") return Either.right(osSandbox)
    if (isolation === "auto") return Either.right(Sandbox.none)
    return Either.left(
      new IsolationUnavailable({ strategy: osSandbox.strategy, reason: found.reason, suggestion: found.suggestion })
    )
  }
  const isolationOf = (sandbox: Sandbox.Service): Limits.Isolation =>
    sandbox.strategy === "bubblewrap" ? "bubblewrap" : "none"
  const capabilitiesUnder = (runtimeType: RuntimeConfig.RuntimeType, sandbox: Sandbox.Service) =>
    Limits.capabilitiesOf(
      runtimeType,
      versionOf(runtimeType, Binaries.resolveBinary(runtimeType, options.binaries)),
      isolationOf(sandbox)
    )
  const capabilities = (runtimeType: RuntimeConfig.RuntimeType): Limits.Capabilities =>
    capabilitiesUnder(runtimeType, Either.getOrElse(strategyFor(base.isolation), () => Sandbox.none))
  // `auto` without a working OS sandbox says once per layer what that costs.
  let warnedFallback = false
  const fallbackWarning = (config: RuntimeConfig.Config) =>
    Effect.suspend(() => {
      if (warnedFallback || config.isolation !== "auto") return Effect.void
      const found = probe()
      if (found._tag === "Available") return Effect.void
      warnedFallback = true
      return Effect.logWarning(
        `tools run without OS isolation (${found.reason}): only the runtime's own permission flags apply, so ` +
          "a tool that may read /proc can read other processes' environment (the host's among them), detached " +
          "descendants may outlive a call, scratch space is only sampled, Bun enforces no file or network " +
          "restriction at all, and configs that restrict a tool but grant one of these doors are refused; to " +
          `enforce them, ${found.suggestion}`
      )
    })

  // Bun cannot import a path containing `?`: such an entry is imported through a symlink to its
  // deepest `?` directory, one per directory, inside the private directory (removed with it).
  const links = new Map<string, string>()
  const bunImportPath = (entrypoint: string): string => {
    const unsafe = Limits.bunUnsafeDirectory(entrypoint)
    if (unsafe === undefined) return entrypoint
    let link = links.get(unsafe)
    if (link === undefined) {
      link = path.join(privateDir, "links", String(links.size))
      try {
        fs.mkdirSync(path.dirname(link), { recursive: true, mode: 0o700 })
        fs.symlinkSync(unsafe, link, "dir")
      } catch {
        // Not fatal: the import then fails with Bun's own error (EntrypointLoadFailed).
        return entrypoint
      }
      links.set(unsafe, link)
    }
    return link + entrypoint.slice(unsafe.length)
  }

  const entrypointOf = (config: RuntimeConfig.Config): string => {
    const absolute = path.resolve(config.entrypointPath)
    try {
      return fs.realpathSync(absolute)
    } catch {
      return absolute
    }
  }

  /** Starts a worker for `plan` in the current scope and sends `init` (no handshake yet). */

  // Hot-path caches: the layer's config (and a per-call override list reused by the caller, as
  // SandboxedTools does) resolve to the same plan every time.
  const overridden = new WeakMap<ReadonlyArray<RuntimeConfig.Option>, RuntimeConfig.Config>()
  const plans = new WeakMap<
    RuntimeConfig.Config,
    {
      readonly plan: Plan
      readonly refused: Array<Limits.Unenforced>
      readonly unavailable: IsolationUnavailable | undefined
    }
  >()
  /** What `grants` asks that `caps` cannot keep; under runtime flags, what bubblewrap would keep says so. */
  const refusedUnder = (
    caps: Limits.Capabilities,
    grants: Permissions.Grants,
    entryDir: string
  ): Array<Limits.Unenforced> => {
    const plain = Limits.unenforced(caps, grants)
    if (caps.isolation !== "none") return plain
    const underOs = new Set(
      Limits.unenforced(Limits.capabilitiesOf(caps.runtimeType, caps.version, "bubblewrap"), grants).map((u) =>
        u.permission
      )
    )
    return [
      ...plain.map((u) => underOs.has(u.permission) ? u : { ...u, suggestion: Unconfined.suggestion }),
      ...Unconfined.refusals(caps, grants, { privateDir, entryDir })
    ]
  }
  const planFor = (config: RuntimeConfig.Config) => {
    const known = plans.get(config)
    if (known !== undefined) return known
    const permissions = RuntimeConfig.effectivePermissions(config)
    const strategy = strategyFor(config.isolation)
    const sandbox = Either.getOrElse(strategy, () => Sandbox.none)
    const caps = capabilitiesUnder(config.runtimeType, sandbox)
    const grants = Permissions.grants(permissions)
    const binary = Binaries.resolveBinary(config.runtimeType, options.binaries)
    const entrypoint = entrypointOf(config)
    const importPath = config.runtimeType === "bun" ? bunImportPath(entrypoint) : entrypoint
    const plan: Plan = {
      importPath,
      importUrl: pathToFileURL(importPath).href,
      config,
      sandbox,
      capabilities: caps,
      grants,
      hostEnv: Limits.hostEnvGrant(permissions),
      binary,
      sandboxed: sandbox.strategy === "none" ? undefined : {
        binary: Binaries.realBinary(binary, searchPath),
        implicitRead: [
          path.dirname(entrypoint),
          ...(config.runtimeType === "deno" ? [denoDir] : []),
          // Bun imports an entry whose path holds `?` through a symlink in the private directory.
          ...(importPath === entrypoint ?
            [] :
            [path.join(privateDir, "links"), Limits.bunUnsafeDirectory(entrypoint) ?? entrypoint])
        ]
      },
      entrypoint,
      // The version comes from the same per-layer cache as `capabilities` (probed once per binary).
      typeScript: Limits.isTypeScriptEntry(entrypoint) ?
        Limits.typeScriptSupport(config.runtimeType, caps.version) :
        { _tag: "Native" },
      key: WorkerPool.configKey(config, binary),
      poolEnvNames: []
    }
    const entry = {
      plan,
      refused: refusedUnder(caps, grants, path.dirname(entrypoint)),
      unavailable: Either.isLeft(strategy) ? strategy.left : undefined
    }
    plans.set(config, entry)
    return entry
  }

  // A pooled Deno worker can only read the variables it was started with `--allow-env` for: when the
  // env permission is scoped, calls with other variable names get a pool of their own whose workers
  // are allowed those names (values are still set per call and restored after it).
  const envPlans = new WeakMap<Plan, Map<string, Plan>>()
  const poolPlanFor = (plan: Plan, env: Record<string, string> | undefined): Plan => {
    if (plan.config.runtimeType !== "deno" || env === undefined || plan.grants.env === "all") return plan
    const names = Object.keys(env).sort()
    if (names.length === 0) return plan
    const id = names.join(",")
    let byNames = envPlans.get(plan)
    if (byNames === undefined) {
      byNames = new Map()
      envPlans.set(plan, byNames)
    }
    const known = byNames.get(id)
    if (known !== undefined) return known
    const derived: Plan = { ...plan, key: `${plan.key}|env:${id}`, poolEnvNames: names }
    byNames.set(id, derived)
    return derived
  }

  const configFor = (request: ExecuteRequest): Either.Either<RuntimeConfig.Config, InvalidRuntimeConfig> => {
    const overrides = request.runtime
    if (overrides === undefined || overrides.length === 0) return Either.right(base)
    const known = overridden.get(overrides)
    if (known !== undefined) return Either.right(known)
    return Either.match(RuntimeConfig.update(base, ...overrides), {
      onLeft: (e) => Either.left(new InvalidRuntimeConfig({ message: e.message })),
      onRight: (config) => {
        overridden.set(overrides, config)
        return Either.right(config)
      }
    })
  }

  const prepare = (request: ExecuteRequest) =>
    Effect.gen(function*() {
      const config = yield* configFor(request)
      const envError = Limits.validateCallEnv(request.env)
      if (envError !== undefined) return yield* envError
      if (config.entrypointPath.length === 0) {
        return yield* new ToolNotFound({ toolId: request.toolId, available: [] })
      }
      const { plan, refused, unavailable } = planFor(config)
      if (unavailable !== undefined) return yield* unavailable
      yield* fallbackWarning(config)
      if (plan.typeScript._tag === "Unsupported") {
        // Refused before spawning: the import would only fail later, with a less readable error.
        return yield* new EntrypointUnsupported({
          toolId: request.toolId,
          entrypointPath: plan.entrypoint,
          runtimeType: config.runtimeType,
          version: plan.capabilities.version,
          reason: plan.typeScript.reason,
          suggestion: plan.typeScript.suggestion
        })
      }
      for (const item of refused) {
        if (config.permissionPolicy === "enforce") {
          return yield* new PermissionUnenforceable({
            runtimeType: config.runtimeType,
            permission: item.permission,
            reason: item.reason,
            ...(item.suggestion !== undefined ? { suggestion: item.suggestion } : {})
          })
        }
        yield* Effect.logWarning(`running without an enforced ${item.permission} restriction: ${item.reason}`).pipe(
          Effect.annotateLogs({
            toolId: request.toolId,
            runtimeType: config.runtimeType,
            permission: item.permission
          })
        )
      }
      const session: Session.WorkerSession = {
        toolId: request.toolId,
        runtimeType: config.runtimeType,
        entrypointPath: plan.entrypoint,
        limitMB: config.maxMemoryMB,
        stderrTailBytes,
        killGrace
      }
      const timeout = request.timeout === undefined ? config.toolExecutionTimeout : Duration.decode(request.timeout)
      return { plan, session, timeout }
    })

  const schedules = new WeakMap<RuntimeConfig.Config, Schedule.Schedule<unknown, unknown>>()
  const retrySchedule = (config: RuntimeConfig.Config): Schedule.Schedule<unknown, unknown> => {
    const known = schedules.get(config)
    if (known !== undefined) return known
    const schedule = Schedule.exponential(config.backoffInitialInterval).pipe(
      Schedule.either(Schedule.spaced(config.backoffMaxInterval)),
      Schedule.upTo(config.backoffMaxElapsedTime)
    )
    schedules.set(config, schedule)
    return schedule
  }

  return { capabilities, prepare, poolPlanFor, retrySchedule }
}
