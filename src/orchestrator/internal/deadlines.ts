/**
 * Request deadlines without a timer fiber per request: one reaper fiber per orchestrator sleeps (on
 * `Clock`, so `TestClock` drives it) until the earliest deadline and runs the expiry of every entry due.
 *
 * `Effect.timeoutFail` around a request forks the request and a sleeping fiber and races them: measured
 * at ~45 µs of CPU per request with one fiber hop, most of the in-process round trip's framework time.
 * Here registering a deadline is a `Set` insert and settling it a `Set` delete. Entries are bucketed by
 * their timeout (a bucket is in deadline order, since the clock never goes back), so the earliest
 * deadline is the first entry of one of a few buckets. The reaper is woken only when a new deadline is
 * earlier than the one it sleeps towards (or it sleeps with nothing due).
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"

interface Entry {
  readonly deadline: number
  readonly onExpire: Effect.Effect<void>
}

export interface Deadlines {
  /**
   * Runs `onExpire` once `timeoutMs` have passed on the clock, unless the returned function (remove) is
   * called first.
   */
  readonly add: (timeoutMs: number, onExpire: Effect.Effect<void>) => Effect.Effect<() => void>
  /** `add`, synchronously (for callers already running: the request hot path). */
  readonly unsafeAdd: (timeoutMs: number, onExpire: Effect.Effect<void>) => () => void
}

/** The registry and its reaper (interrupted when the scope closes). */
export const make: Effect.Effect<Deadlines, never, Scope.Scope> = Effect.gen(function*() {
  const clock = yield* Effect.clock
  const expiries = yield* FiberSet.make()
  const buckets = new Map<number, Set<Entry>>()
  /**
   * The deadline the reaper sleeps towards: +Infinity when nothing is registered, -Infinity while it is
   * awake (it looks at every entry before it sleeps again, so nobody needs to wake it).
   */
  let target = Number.NEGATIVE_INFINITY
  let wake = Deferred.unsafeMake<void>(FiberId.none)

  const earliest = (): number => {
    let min = Number.POSITIVE_INFINITY
    for (const bucket of buckets.values()) {
      for (const entry of bucket) {
        if (entry.deadline < min) min = entry.deadline
        break
      }
    }
    return min
  }

  /** Removes and returns the entries due at `now`. */
  const due = (now: number): Array<Entry> => {
    const out: Array<Entry> = []
    for (const [timeout, bucket] of buckets) {
      for (const entry of bucket) {
        if (entry.deadline > now) break
        bucket.delete(entry)
        out.push(entry)
      }
      if (bucket.size === 0) buckets.delete(timeout)
    }
    return out
  }

  /** One look (synchronous: no entry can slip in between the look and `target`). */
  const look = Effect.sync(() => {
    const now = clock.unsafeCurrentTimeMillis()
    const expired = due(now)
    if (expired.length > 0) return { expired, sleep: undefined, signal: wake }
    target = earliest()
    return { expired, sleep: target === Number.POSITIVE_INFINITY ? undefined : target - now, signal: wake }
  })

  const reaper: Effect.Effect<never> = Effect.forever(
    Effect.flatMap(look, ({ expired, signal, sleep }) => {
      if (expired.length > 0) {
        // Each expiry runs on its own fiber (it may wait for the turn it cancels to stop).
        return Effect.forEach(expired, (entry) => FiberSet.run(expiries, entry.onExpire), { discard: true })
      }
      const wait = sleep === undefined ?
        Deferred.await(signal) :
        Effect.raceFirst(Effect.sleep(Duration.millis(sleep)), Deferred.await(signal))
      return Effect.ensuring(wait, Effect.sync(() => void (target = Number.NEGATIVE_INFINITY)))
    })
  )
  yield* Effect.forkScoped(reaper)

  const unsafeAdd = (timeoutMs: number, onExpire: Effect.Effect<void>) => {
    const entry: Entry = { deadline: clock.unsafeCurrentTimeMillis() + timeoutMs, onExpire }
    let bucket = buckets.get(timeoutMs)
    if (bucket === undefined) {
      bucket = new Set()
      buckets.set(timeoutMs, bucket)
    }
    bucket.add(entry)
    if (entry.deadline < target) {
      // Earlier than what the reaper sleeps towards: wake it to look again.
      const signal = wake
      wake = Deferred.unsafeMake<void>(FiberId.none)
      target = Number.NEGATIVE_INFINITY
      Deferred.unsafeDone(signal, Exit.void)
    }
    return () => {
      const b = buckets.get(timeoutMs)
      if (b !== undefined && b.delete(entry) && b.size === 0) buckets.delete(timeoutMs)
    }
  }

  const add = (timeoutMs: number, onExpire: Effect.Effect<void>) => Effect.sync(() => unsafeAdd(timeoutMs, onExpire))
  return { add, unsafeAdd }
})
