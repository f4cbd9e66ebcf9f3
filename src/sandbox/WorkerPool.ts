/**
 * Opt-in warm worker pools: pre-started workers reused across calls that share an entrypoint, a
 * runtime and the same limits (one pool per distinct config and pool options).
 *
 * - A call takes an idle worker (or starts one while fewer than `size` are busy) and gives it back when
 *   the call ends with a result or a tool error.
 * - A worker that timed out, crashed, went over its memory limit or broke the protocol is killed and
 *   replaced in the background; a worker that served `maxCallsPerWorker` calls is recycled; a worker
 *   idle for `idleTimeout` is stopped.
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
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
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
  readonly configOf: (plan: Plan) => RuntimeConfig.Config
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
  /** Live workers per pool key (for tests and diagnostics). */
  readonly stats: () => ReadonlyArray<{ readonly key: string; readonly idle: number; readonly busy: number }>
}

interface Worker {
  readonly proc: WorkerProcess.WorkerProcess
  readonly scope: Scope.CloseableScope
  calls: number
  generation: number
}

interface Pool {
  readonly key: string
  readonly scope: Scope.CloseableScope
  readonly semaphore: Effect.Semaphore
  readonly idle: Array<Worker>
  busy: number
  readonly size: number
  readonly maxCalls: number
  readonly idleTimeout: Duration.Duration | undefined
}

/**
 * Creates the pool registry in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <Plan, Conv, E>(
  launcher: Launcher<Plan, Conv, E>
): Effect.Effect<Pools<Plan, Conv, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const layerScope = yield* Effect.scope
    const pools = new Map<string, Pool>()
    const lock = yield* Effect.makeSemaphore(1)

    const retire = (worker: Worker, graceful: boolean): Effect.Effect<void> =>
      (graceful ? worker.proc.shutdown : worker.proc.terminate).pipe(
        Effect.zipRight(Scope.close(worker.scope, Exit.void))
      )

    const startWorker = (pool: Pool, plan: Plan, conv: Conv): Effect.Effect<Worker, E> =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(pool.scope, ExecutionStrategy.sequential)
        const proc = yield* launcher.launch(plan, conv).pipe(
          Scope.extend(scope),
          Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
        )
        return { proc, scope, calls: 0, generation: 0 }
      })

    const park = (pool: Pool, worker: Worker): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (pool.idle.length >= pool.size) return yield* retire(worker, true)
        worker.generation++
        pool.idle.push(worker)
        if (pool.idleTimeout !== undefined) {
          const generation = worker.generation
          yield* Effect.sleep(pool.idleTimeout).pipe(
            Effect.zipRight(Effect.suspend(() => {
              const index = pool.idle.indexOf(worker)
              if (index === -1 || worker.generation !== generation) return Effect.void
              pool.idle.splice(index, 1)
              return retire(worker, true)
            })),
            Effect.forkIn(pool.scope)
          )
        }
      })

    const warm = (pool: Pool, plan: Plan, conv: Conv): Effect.Effect<void> =>
      startWorker(pool, plan, conv).pipe(
        Effect.flatMap((worker) => park(pool, worker)),
        Effect.catchAllCause((cause) => Effect.logDebug("a warm worker failed to start", cause)),
        Effect.forkIn(pool.scope),
        Effect.asVoid
      )

    const poolFor = (plan: Plan, conv: Conv, options: PoolOptions): Effect.Effect<Pool> =>
      Effect.gen(function*() {
        const size = Math.max(1, Math.floor(options.size ?? 1))
        const maxCalls = options.maxCallsPerWorker === undefined ? Infinity : Math.max(1, options.maxCallsPerWorker)
        const idleTimeout = options.idleTimeout === undefined ? undefined : Duration.decode(options.idleTimeout)
        const key = `${launcher.keyOf(plan)}|${size}|${maxCalls}|${
          idleTimeout === undefined ? "-" : Duration.toMillis(idleTimeout)
        }`
        const existing = pools.get(key)
        if (existing !== undefined) return existing
        const pool: Pool = {
          key,
          scope: yield* Scope.fork(layerScope, ExecutionStrategy.sequential),
          semaphore: yield* Effect.makeSemaphore(size),
          idle: [],
          busy: 0,
          size,
          maxCalls,
          idleTimeout
        }
        pools.set(key, pool)
        for (let i = 0; i < size; i++) yield* warm(pool, plan, conv)
        return pool
      })

    const run = <A>(
      plan: Plan,
      conv: Conv,
      options: PoolOptions,
      use: (proc: WorkerProcess.WorkerProcess) => Effect.Effect<A, E>,
      verdict: (exit: Exit.Exit<A, E>) => Verdict
    ): Effect.Effect<A, E> =>
      Effect.gen(function*() {
        const pool = yield* lock.withPermits(1)(poolFor(plan, conv, options))
        return yield* pool.semaphore.withPermits(1)(
          Effect.acquireUseRelease(
            Effect.suspend(() => {
              const worker = pool.idle.pop()
              if (worker !== undefined && worker.proc.exitInfo() === undefined) {
                worker.generation++
                return Effect.succeed(worker)
              }
              const stale = worker === undefined ? Effect.void : retire(worker, false)
              return stale.pipe(Effect.zipRight(startWorker(pool, plan, conv)))
            }).pipe(Effect.tap(() => {
              pool.busy++
            })),
            (worker) => {
              worker.calls++
              return use(worker.proc)
            },
            (worker, exit) =>
              Effect.suspend(() => {
                pool.busy--
                worker.proc.stdout.reset()
                worker.proc.stderr.reset()
                const healthy = verdict(exit) === "keep" && worker.proc.exitInfo() === undefined
                if (healthy && worker.calls < pool.maxCalls) return park(pool, worker)
                // Replace what we retire so the pool stays warm.
                return retire(worker, healthy).pipe(Effect.zipRight(warm(pool, plan, conv)))
              })
          )
        )
      })

    const stats = () => [...pools.values()].map((p) => ({ key: p.key, idle: p.idle.length, busy: p.busy }))

    return { run, stats }
  })

/**
 * A stable key for "same entrypoint, runtime and limits".
 *
 * @since 0.1.0
 * @category keys
 */
export const configKey = (config: RuntimeConfig.Config, binary: string): string =>
  `${binary}|${JSON.stringify(RuntimeConfig.encode(config))}`
