/**
 * Scope finalizers that do not keep the acquiring fiber's state alive.
 *
 * `Effect.acquireRelease` and `Effect.addFinalizer` keep a reference to the FiberRefs of the fiber that
 * acquired the resource (to run the release with them). A store holds a lock, a writer and a descriptor per
 * open instance for as long as the instance is open, and the fiber that opened it (a request's fiber, with
 * its own copy of every FiberRef) is long gone: each such finalizer kept a few KB of that fiber's state
 * alive, per resource and instance (measured: about 3 KB each, three per store and instance). The releases
 * here run with the closing fiber's FiberRefs instead, so they must not read fiber-local state (services they
 * need are captured when acquiring).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"

/**
 * `Effect.acquireRelease` without capturing the acquiring fiber's FiberRefs (see the module). The acquire is
 * uninterruptible; a scope that has already closed runs the release at once.
 *
 * @internal
 */
export const acquireRelease = <A, E, R>(
  acquire: Effect.Effect<A, E, R>,
  release: (a: A) => Effect.Effect<unknown>
): Effect.Effect<A, E, R | Scope.Scope> =>
  Effect.uninterruptible(
    Effect.flatMap(
      Effect.scope,
      // The release effect is built when it runs: built now, its whole tree would be kept as long as the scope.
      (scope) => Effect.tap(acquire, (a) => Scope.addFinalizer(scope, Effect.suspend(() => release(a))))
    )
  )

/**
 * `Effect.addFinalizer` without capturing the fiber's FiberRefs (see the module); the finalizer effect is
 * built when it runs.
 *
 * @internal
 */
export const addFinalizer = (finalizer: () => Effect.Effect<unknown>): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizer(scope, Effect.suspend(finalizer)))
