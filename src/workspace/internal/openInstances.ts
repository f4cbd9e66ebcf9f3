/**
 * The instances a store has open for writing (a writer, a lock), each living in its own child scope of the
 * store. Shared by MessageStore and RuntimeEventLog so both open, release and idle out the same way.
 *
 * - `use` opens the instance on first use (serialised, so two fibers never open it twice) and marks it
 *   active while the operation runs.
 * - `release` closes one instance (its scope: writer, lock) once the operations running on it have finished
 *   (it stops new ones from finding it at once); it reopens on the next use.
 * - Once the store's scope has begun to close, `use` opens nothing any more: it fails with the caller's
 *   error (the store's `StoreClosed`), so a store kept past its layer never reopens an instance into a
 *   scope that is already closed (which would give its lock back at once and write without it).
 * - With an `idleTimeout`, a fiber in the store's scope closes instances nobody used for that long (never
 *   one in use), so a long-lived process does not keep a file handle and a lock per conversation it ever
 *   touched. It checks every half timeout (at most once a second): an idle instance closes between 1x and
 *   1.5x the timeout.
 * - With `rest`, a second, shorter tier: an instance unused for `rest.after` (but still open, its lock held)
 *   is put at rest (`rest.run`: the store closes its file descriptor and drops its buffers); the next use
 *   wakes it. A fiber in the store's scope does it, sleeping on the Clock only while some instance has been
 *   used since it was last put at rest (so an idle store, or a TestClock moved by hours, costs nothing).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"

/** @internal */
export interface Entry<A> {
  readonly value: A
  readonly scope: Scope.CloseableScope
  /** Operations running on this instance now. */
  active: number
  /** Clock millis of the last use. */
  lastUsed: number
  /** Set while the entry is being closed with operations still running: completed by the last of them. */
  drained: Deferred.Deferred<void> | undefined
  /** Used since it was last put at rest (see `rest`). */
  warm: boolean
}

/** @internal */
export interface OpenInstances<A> {
  /** Runs `f` on the instance, opening it first if needed; `closed()` is the failure once the store closed. */
  readonly use: <B, E, E2, E3>(
    key: string,
    open: Effect.Effect<A, E, Scope.Scope>,
    f: (value: A) => Effect.Effect<B, E2>,
    closed: () => E3
  ) => Effect.Effect<B, E | E2 | E3>
  readonly release: (key: string) => Effect.Effect<void>
  /** Closes every instance idle for at least the timeout (what the background fiber does). */
  readonly releaseIdle: Effect.Effect<number>
  /**
   * Puts every instance unused for at least `rest.after` at rest (what the rest fiber does; waits for it if
   * it is running); returns how many.
   */
  readonly restIdle: Effect.Effect<number>
  /** How many instances are open. */
  readonly size: Effect.Effect<number>
  /** The value of an open instance, without opening it or marking it used. */
  readonly peek: (key: string) => Effect.Effect<A | undefined>
  /** True once the store's scope has begun to close. */
  readonly isClosed: () => boolean
}

/** @internal */
export const make = <A>(options: {
  /** `undefined` or infinite: instances stay open until released or the store closes. */
  readonly idleTimeout: Duration.DurationInput | undefined
  /**
   * Puts an instance unused for `after` at rest (`run`; `false`: it was busy, tried again later). Infinite
   * or absent: never.
   */
  readonly rest?: {
    readonly after: Duration.DurationInput
    readonly run: (value: A) => Effect.Effect<boolean>
  } | undefined
}): Effect.Effect<OpenInstances<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Entries live in a scope of their own, closed by the store's finalizer only once the operations
    // running on them are done: as children of the store's scope they would be closed first, under a
    // compaction still writing (which would then write base.jsonl without holding the lock).
    const instancesScope = yield* Scope.make(ExecutionStrategy.sequential)
    const lock = yield* Effect.makeSemaphore(1)
    const entries = new Map<string, Entry<A>>()
    const idle = options.idleTimeout === undefined ? undefined : Duration.decode(options.idleTimeout)
    const idleMillis = idle === undefined || !Duration.isFinite(idle) ? undefined : Duration.toMillis(idle)
    // Set when the store's finalizer starts: from then on nothing is opened (see `use`).
    let closed = false
    const restAfter = options.rest === undefined ? undefined : Duration.decode(options.rest.after)
    const restMillis = restAfter === undefined || !Duration.isFinite(restAfter)
      ? undefined
      : Duration.toMillis(restAfter)
    // Open while some entry is warm: the rest fiber waits on it.
    const someWarm = yield* Effect.makeLatch(false)
    // One sweep at a time (the fiber's or a caller's), so a caller's returns once the files are closed.
    const restLock = yield* Effect.makeSemaphore(1)

    // Opens (or finds) the entry under the lock. A new entry counts as just used, so the idle sweep leaves
    // it alone until its caller has marked it active. `undefined`: the store closed meanwhile. Only the open
    // itself is interruptible: once it has succeeded its entry is recorded, so an interrupt right after it
    // (a requester's timeout) never leaves the instance's lock held by no entry, which the next use would
    // meet as "locked by another writer in this process" until the store closes.
    const acquire = <E>(key: string, open: Effect.Effect<A, E, Scope.Scope>) =>
      lock.withPermits(1)(Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          if (closed) return undefined
          const known = entries.get(key)
          if (known !== undefined) return known
          const scope = yield* Scope.fork(instancesScope, ExecutionStrategy.sequential)
          const value = yield* restore(Scope.extend(open, scope)).pipe(
            Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
          )
          const entry: Entry<A> = {
            value,
            scope,
            active: 0,
            lastUsed: yield* Clock.currentTimeMillis,
            drained: undefined,
            warm: false
          }
          entries.set(key, entry)
          return entry
        })
      ))

    const finish = (entry: Entry<A>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          entry.active--
          entry.lastUsed = now
          if (entry.active === 0 && entry.drained !== undefined) Deferred.unsafeDone(entry.drained, Exit.void)
          if (!entry.warm && restMillis !== undefined) {
            entry.warm = true
            someWarm.unsafeOpen()
          }
        }))

    // The hot path (the instance is open) takes no lock: the lookup and the `active` mark happen in one
    // synchronous step, in an uninterruptible region, which nothing can interleave with; `finish` is then
    // guaranteed to undo the mark. After opening, the same check is made again: an entry released in
    // between is opened anew.
    const use = <B, E, E2, E3>(
      key: string,
      open: Effect.Effect<A, E, Scope.Scope>,
      f: (value: A) => Effect.Effect<B, E2>,
      whenClosed: () => E3
    ): Effect.Effect<B, E | E2 | E3> =>
      Effect.uninterruptibleMask((restore) => {
        const attempt: Effect.Effect<B, E | E2 | E3> = Effect.suspend(() => {
          if (closed) return Effect.fail(whenClosed())
          const known = entries.get(key)
          if (known !== undefined) {
            known.active++
            return Effect.ensuring(restore(f(known.value)), finish(known))
          }
          return Effect.flatMap(
            restore(acquire(key, open)),
            (entry) => entry === undefined ? Effect.fail(whenClosed()) : attempt
          )
        })
        return attempt
      })

    // Once out of the map, an entry gains no new users (a new use opens a new entry, under the lock this
    // runs under), so it is closed when the operations still running on it are done: closing it under them
    // would let a compaction go on without the lock and cut the events file through a closed descriptor
    // (which the reopened writer may already have been given). Uninterruptible: an interrupted Scope.close
    // marks the scope closed without running the rest of its finalizers (the file and the lock would leak).
    const close = (key: string, entry: Entry<A>) =>
      Effect.suspend(() => {
        entries.delete(key)
        if (entry.active === 0) return Scope.close(entry.scope, Exit.void)
        const drained = Deferred.unsafeMake<void>(FiberId.none)
        entry.drained = drained
        return Effect.zipRight(Deferred.await(drained), Scope.close(entry.scope, Exit.void))
      }).pipe(Effect.uninterruptible)

    const release = (key: string) =>
      lock.withPermits(1)(Effect.suspend(() => {
        const entry = entries.get(key)
        return entry === undefined ? Effect.void : close(key, entry)
      }))

    const releaseIdle = lock.withPermits(1)(Effect.gen(function*() {
      if (idleMillis === undefined) return 0
      const now = yield* Clock.currentTimeMillis
      let closed = 0
      for (const [key, entry] of [...entries]) {
        if (entry.active === 0 && now - entry.lastUsed >= idleMillis) {
          yield* close(key, entry)
          closed++
        }
      }
      return closed
    }))

    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Effect.sync(() => {
          closed = true
        }),
        lock.withPermits(1)(
          Effect.forEach([...entries], ([key, entry]) => close(key, entry), { discard: true }).pipe(
            Effect.zipRight(Scope.close(instancesScope, Exit.void))
          )
        )
      ).pipe(Effect.uninterruptible)
    )

    // Puts every warm entry unused for `restMillis` at rest; closes the latch when none is warm any more.
    const restIdle = restLock.withPermits(1)(Effect.gen(function*() {
      if (restMillis === undefined || options.rest === undefined) return 0
      const now = yield* Clock.currentTimeMillis
      let rested = 0
      for (const entry of [...entries.values()]) {
        if (entry.warm && entry.active === 0 && now - entry.lastUsed >= restMillis && !closed) {
          // Cleared first: a use while `run` is closing the file marks it warm again.
          entry.warm = false
          if (yield* options.rest.run(entry.value)) rested++
          else entry.warm = true
        }
      }
      // Counted in one synchronous step (a use during the loop above may have warmed an entry again).
      let warm = false
      for (const entry of entries.values()) warm ||= entry.warm
      if (!warm) someWarm.unsafeClose()
      return rested
    }))

    if (restMillis !== undefined) {
      yield* Effect.forkScoped(Effect.forever(
        someWarm.await.pipe(Effect.zipRight(Clock.sleep(Duration.millis(restMillis))), Effect.zipRight(restIdle))
      ))
    }

    if (idleMillis !== undefined) {
      yield* Effect.forkScoped(
        // Every half timeout, but never more often than once a second (a tiny timeout must not spin).
        Effect.repeat(releaseIdle, Schedule.spaced(Duration.millis(Math.max(1000, idleMillis / 2))))
      )
    }

    return {
      use,
      release,
      releaseIdle,
      restIdle,
      size: Effect.sync(() => entries.size),
      peek: (key) => Effect.sync(() => entries.get(key)?.value),
      isClosed: () => closed
    }
  })
