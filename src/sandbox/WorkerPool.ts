/**
 * Opt-in warm worker pools: pre-started workers reused across calls that share an entrypoint, a
 * runtime and the same limits (one pool per distinct config and pool options).
 *
 * - Without `idleTimeout`, `size` workers are started when the pool is first used and kept warm; with
 *   it, workers start on demand (up to `size`) and stop after `idleTimeout` without calls.
 * - A call takes an idle worker (waiting while all `size` are busy) and gives it back when the call
 *   ends with a result or a tool error.
 * - A worker that timed out, crashed, went over its memory limit, broke the protocol or whose call
 *   was interrupted is killed and replaced; a worker that served `maxCallsPerWorker` calls is recycled.
 * - Everything shuts down with the `ToolRuntime` layer's scope.
 *
 * Isolation trade-off: calls on the same worker share one process. Module-level state, monkey-patched
 * globals, timers and files in the worker's scratch directory survive from one call to the next, and
 * per-call `env` is applied by assigning `process.env` for the duration of the call (Deno only reads
 * names it was granted with `--allow-env`; `ctx.env` always has them). Permissions, memory limits and
 * timeouts hold exactly as for cold calls. Use pools for trusted, stateless tools on hot paths.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Pool from "effect/Pool"
import * as Scope from "effect/Scope"
import * as RuntimeConfig from "../config/RuntimeConfig.js"
import type * as WorkerProcess from "./WorkerProcess.js"

/**
 * Pool settings of one tool (from a Tool resource's `spec.runtime.pool`, or given per call).
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolOptions {
  /** Workers kept warm and the most calls running at once (default 1). */
  readonly size?: number
  /** Recycle a worker after this many calls (default unlimited). */
  readonly maxCallsPerWorker?: number
  /** Stop a worker idle this long (default: keep until the scope closes). */
  readonly idleTimeout?: Duration.DurationInput
}

/**
 * What the pool needs from the runtime: how to launch a ready worker into a scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface Launcher<Plan, Conv, E> {
  readonly launch: (plan: Plan, conv: Conv) => Effect.Effect<WorkerProcess.WorkerProcess, E, Scope.Scope>
  readonly keyOf: (plan: Plan) => string
}

/**
 * The outcome classes of a pooled call: `keep` gives the worker back, anything else retires it.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = "keep" | "retire"

/**
 * The pools of one runtime layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pools<Plan, Conv, E> {
  readonly run: <A>(
    plan: Plan,
    conv: Conv,
    options: PoolOptions,
    use: (proc: WorkerProcess.WorkerProcess) => Effect.Effect<A, E>,
    verdict: (exit: Exit.Exit<A, E>) => Verdict
  ) => Effect.Effect<A, E>
}

interface Worker {
  readonly proc: WorkerProcess.WorkerProcess
  calls: number
}

/**
 * Creates the pool registry in the current scope. Each pool is an effect `Pool` of workers: fixed
 * size and pre-started without `idleTimeout`; with it, workers start on demand (up to `size`) and stop
 * after `idleTimeout` without calls.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as WorkerPool from "effect-swarm/sandbox/WorkerPool"
 * // ToolRuntime builds its pools like this; `launch` starts a ready worker in a scope.
 * const pools = WorkerPool.make({ launch, keyOf: (plan) => plan.key })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <Plan, Conv, E>(
  launcher: Launcher<Plan, Conv, E>
): Effect.Effect<Pools<Plan, Conv, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const layerScope = yield* Effect.scope
    const pools = new Map<string, { readonly pool: Pool.Pool<Worker, E> }>()
    const lock = yield* Effect.makeSemaphore(1)

    const settingsOf = (plan: Plan, options: PoolOptions) => {
      const size = Math.max(1, Math.floor(options.size ?? 1))
      const maxCalls = options.maxCallsPerWorker === undefined ? Infinity : Math.max(1, options.maxCallsPerWorker)
      const idleTimeout = options.idleTimeout === undefined ? undefined : Duration.decode(options.idleTimeout)
      const key = `${launcher.keyOf(plan)}|${size}|${maxCalls}|${
        idleTimeout === undefined ? "-" : Duration.toMillis(idleTimeout)
      }`
      return { size, maxCalls, idleTimeout, key }
    }

    const poolFor = (plan: Plan, conv: Conv, options: PoolOptions) =>
      Effect.gen(function*() {
        const { idleTimeout, key, maxCalls, size } = settingsOf(plan, options)
        const existing = pools.get(key)
        if (existing !== undefined) return { entry: existing, maxCalls }
        const acquire = launcher.launch(plan, conv).pipe(Effect.map((proc): Worker => ({ proc, calls: 0 })))
        const pool = yield* (idleTimeout === undefined
          ? Pool.make({ acquire, size })
          : Pool.makeWithTTL({ acquire, min: 0, max: size, timeToLive: idleTimeout, timeToLiveStrategy: "usage" }))
          .pipe(Scope.extend(layerScope))
        const entry = { pool }
        pools.set(key, entry)
        return { entry, maxCalls }
      })

    const run = <A>(
      plan: Plan,
      conv: Conv,
      options: PoolOptions,
      use: (proc: WorkerProcess.WorkerProcess) => Effect.Effect<A, E>,
      verdict: (exit: Exit.Exit<A, E>) => Verdict
    ): Effect.Effect<A, E> =>
      Effect.gen(function*() {
        // Fast path without the creation lock once the pool exists.
        const settings = settingsOf(plan, options)
        const known = pools.get(settings.key)
        const { entry, maxCalls } = known !== undefined
          ? { entry: known, maxCalls: settings.maxCalls }
          : yield* lock.withPermits(1)(poolFor(plan, conv, options))
        const { pool } = entry
        // A worker that died while idle is replaced before use.
        const take: Effect.Effect<Worker, E, Scope.Scope> = Effect.flatMap(Pool.get(pool), (worker) =>
          worker.proc.exitInfo() === undefined ?
            Effect.succeed(worker) :
            Pool.invalidate(pool, worker).pipe(Effect.zipRight(Effect.suspend(() => take))))
        return yield* Effect.scoped(Effect.gen(function*() {
          const worker = yield* take
          worker.calls++
          // An interrupted call leaves its worker in an unknown state (still running the tool, maybe
          // spinning): it is killed and replaced, never given back.
          const exit = yield* Effect.exit(use(worker.proc)).pipe(
            Effect.onInterrupt(() =>
              worker.proc.terminate.pipe(Effect.zipRight(Pool.invalidate(pool, worker)))
            )
          )
          worker.proc.stdout.reset()
          worker.proc.stderr.reset()
          const healthy = verdict(exit) === "keep" && worker.proc.exitInfo() === undefined
          if (!healthy || worker.calls >= maxCalls) {
            // Recycled workers exit on their own; broken ones are terminated (already, or by their scope).
            if (healthy) {
              yield* worker.proc.shutdown
            } else yield* worker.proc.terminate
            yield* Pool.invalidate(pool, worker)
          }
          return yield* exit
        }))
      })

    return { run }
  })

/**
 * A stable key for "same entrypoint, runtime and limits".
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 * import { configKey } from "effect-swarm/sandbox/WorkerPool"
 * const key = Effect.map(RuntimeConfig.make("bun"), (config) => configKey(config, "/usr/local/bin/bun"))
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const configKey = (config: RuntimeConfig.Config, binary: string): string =>
  `${binary}|${JSON.stringify(RuntimeConfig.encode(config))}`
