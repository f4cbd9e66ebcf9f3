/**
 * Pre-started single-use workers: after a call, the next fresh worker for the same plan is started in
 * the background (spawned, sandboxed, runtime booted, entrypoint imported, waiting for its one call),
 * so the next cold call does not pay the process start. Each worker serves exactly one call and is
 * then stopped like any cold worker: no call ever runs in a process another call touched.
 *
 * - At most `config.prespawn` workers wait per plan (0 turns it off).
 * - A waiting worker is stopped after `idleTimeout` without a call (a `Clock` timer), and every
 *   waiting or starting worker is stopped and reaped when the layer's scope closes.
 * - A waiting worker that died (or whose start failed) is discarded; the call then starts cold.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { SpawnFailed } from "../ToolRuntimeError.js"
import type * as WorkerProcess from "../WorkerProcess.js"
import type * as Plan from "./plan.js"

/**
 * A started worker handed to one call, with the scope that owns it (the call closes it).
 *
 * @internal
 */
export interface Prestarted {
  readonly proc: WorkerProcess.WorkerProcess
  readonly scope: Scope.CloseableScope
}

/**
 * @internal
 */
export interface Prespawner {
  /** The waiting worker for `plan`, if one is alive; the caller owns it from then on. */
  readonly take: (plan: Plan.Plan) => Effect.Effect<Option.Option<Prestarted>>
  /** Starts workers in the background until `plan.config.prespawn` wait (or are starting) for `plan`. */
  readonly refill: (plan: Plan.Plan) => Effect.Effect<void>
  /** How many workers wait for `plan` or are starting for it now. */
  readonly waiting: (plan: Plan.Plan) => number
}

interface Entry {
  readonly proc: WorkerProcess.WorkerProcess
  readonly scope: Scope.CloseableScope
  timer: Fiber.RuntimeFiber<void> | undefined
}

/** A worker ahead of its call: starting (`entry` unresolved) or waiting. */
interface Slot {
  readonly started: Deferred.Deferred<Entry | undefined>
}

/**
 * Creates the pre-starter in the current (layer) scope.
 *
 * @internal
 */
export const make = (options: {
  readonly start: (plan: Plan.Plan) => Effect.Effect<WorkerProcess.WorkerProcess, SpawnFailed, Scope.Scope>
  readonly idleTimeout: Duration.Duration
}): Effect.Effect<Prespawner, never, Scope.Scope> =>
  Effect.gen(function*() {
    const slotsByKey = new Map<string, Array<Slot>>()
    let closed = false

    const stop = (entry: Entry): Effect.Effect<void> =>
      Effect.zipRight(
        entry.timer === undefined ? Effect.void : Fiber.interrupt(entry.timer),
        Scope.close(entry.scope, Exit.void)
      )

    const remove = (key: string, slot: Slot): boolean => {
      const list = slotsByKey.get(key)
      const index = list === undefined ? -1 : list.indexOf(slot)
      if (index < 0) return false
      list!.splice(index, 1)
      if (list!.length === 0) slotsByKey.delete(key)
      return true
    }

    // Registered before the fiber set, so it runs after it: starts still in flight are interrupted
    // first (each closes its own scope), then every waiting worker is stopped and reaped.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        const all = [...slotsByKey.values()].flat()
        slotsByKey.clear()
        return Effect.forEach(all, (slot) =>
          Effect.flatMap(Deferred.poll(slot.started), (done) =>
            Option.isNone(done) ?
              Effect.void :
              Effect.flatMap(done.value, (entry) => entry === undefined ? Effect.void : stop(entry))), {
          discard: true,
          concurrency: "unbounded"
        })
      })
    )
    const fibers = yield* FiberSet.make<void>()

    const expire = (key: string, slot: Slot, entry: Entry): Effect.Effect<void> =>
      Effect.sleep(options.idleTimeout).pipe(
        Effect.zipRight(Effect.suspend(() => {
          if (!remove(key, slot)) return Effect.void
          entry.timer = undefined
          return Scope.close(entry.scope, Exit.void)
        }))
      )

    const startOne = (plan: Plan.Plan, slot: Slot): Effect.Effect<void> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const scope = yield* Scope.make()
          const exit = yield* Effect.exit(restore(Scope.extend(options.start(plan), scope)))
          if (Exit.isFailure(exit) || closed) {
            remove(plan.key, slot)
            yield* Deferred.succeed(slot.started, undefined)
            yield* Scope.close(scope, Exit.void)
            if (Exit.isFailure(exit)) {
              yield* Effect.logDebug(`a pre-started worker for ${plan.config.runtimeType} did not start`)
            }
            return
          }
          const entry: Entry = { proc: exit.value, scope, timer: undefined }
          // Armed only while the slot still waits: a call may have claimed it while it was starting.
          if (slotsByKey.get(plan.key)?.includes(slot) === true) {
            entry.timer = yield* FiberSet.run(fibers, Effect.interruptible(expire(plan.key, slot, entry)))
          }
          yield* Deferred.succeed(slot.started, entry)
        })
      )

    const refill = (plan: Plan.Plan): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (closed) return Effect.void
        const list = slotsByKey.get(plan.key) ?? []
        const starts: Array<Effect.Effect<unknown>> = []
        while (list.length < plan.config.prespawn) {
          const slot: Slot = { started: Deferred.unsafeMake(FiberId.none) }
          list.push(slot)
          starts.push(FiberSet.run(fibers, Effect.interruptible(startOne(plan, slot))))
        }
        if (list.length > 0) slotsByKey.set(plan.key, list)
        return Effect.all(starts, { discard: true })
      })

    /** The first slot's worker, once started (a start takes milliseconds: the runtime boots after). */
    const take = (plan: Plan.Plan): Effect.Effect<Option.Option<Prestarted>> =>
      Effect.suspend(() => {
        const list = slotsByKey.get(plan.key)
        const slot = list?.shift()
        if (slot === undefined) return Effect.succeed(Option.none())
        if (list!.length === 0) slotsByKey.delete(plan.key)
        return Effect.flatMap(Deferred.await(slot.started), (entry) => {
          if (entry === undefined) return take(plan)
          if (entry.proc.exitInfo() !== undefined) return Effect.zipRight(stop(entry), take(plan))
          const timer = entry.timer
          entry.timer = undefined
          // Not awaited: the timer finds its slot gone if it fires meanwhile, and the call need not wait
          // for the timer fiber to wind down.
          return Effect.as(
            timer === undefined ? Effect.void : Fiber.interruptFork(timer),
            Option.some({ proc: entry.proc, scope: entry.scope })
          )
        })
      })

    const waiting = (plan: Plan.Plan): number => slotsByKey.get(plan.key)?.length ?? 0

    return { take, refill, waiting }
  })

/**
 * The default idle timeout of a waiting worker.
 *
 * @internal
 */
export const defaultIdleTimeout: Duration.Duration = Duration.seconds(30)
