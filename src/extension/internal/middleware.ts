/**
 * Adapts an extension's middleware (Effect- or Promise-style) to the pipeline's middleware type:
 * failures that are the middleware's own become `MiddlewareError`s naming it, failures of `next` pass
 * through unchanged, and a middleware of a disposed extension steps aside (runs `next` only).
 *
 * @since 0.1.0
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import type { Kind, MiddlewareOf } from "../../pipeline/Middleware.js"
import { MiddlewareError, NextCalledTwiceError } from "../../pipeline/Middleware.js"

/** @internal */
export type Style = "effect" | "promise"

/** A middleware of either style, as `register` receives it from JavaScript. @internal */
export type AnyMiddleware = (ctx: unknown, next: unknown) => unknown

/** @internal */
export const messageOf = (error: unknown): string => {
  let text: string
  try {
    text = rawMessage(error)
  } catch {
    // A value an extension threw that cannot be read (a Proxy that throws, a message getter that throws,
    // an object without a prototype whose toJSON throws): the warning must still be written.
    text = "(a thrown value that cannot be printed)"
  }
  return text.length > maxMessage ? `${text.slice(0, maxMessage)}... (${text.length} characters)` : text
}

/** The most characters of an extension's error message kept in a warning or an error. @internal */
export const maxMessage = 2_000

const rawMessage = (error: unknown): string => {
  if (error instanceof Error) {
    const message: unknown = error.message
    return typeof message === "string" && message.length > 0 ? message : String(error.name)
  }
  if (typeof error === "string") return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/**
 * What an extension threw, as it can be kept in an error's `cause`: an Error, a string or another primitive
 * as it is; anything else (an object that is not an Error, a Proxy that throws when touched) as an Error
 * carrying its message, so that nothing that renders the cause later (a log, a span, `Cause.pretty`) throws.
 *
 * @internal
 */
export const safeThrown = (thrown: unknown): unknown => {
  try {
    if (thrown === null || (typeof thrown !== "object" && typeof thrown !== "function")) return thrown
    if (thrown instanceof Error) return thrown
  } catch {
    // not even `instanceof` can look at it
  }
  return new Error(messageOf(thrown))
}

/** `async function` / `async () =>` (what a Promise-style middleware usually is). */
export const isAsyncFunction = (fn: unknown): boolean =>
  typeof fn === "function" && Object.prototype.toString.call(fn) === "[object AsyncFunction]"

/** The failure of `next` as a Promise-style middleware sees it: an Error carrying the original cause. */
class NextFailure extends Error {
  constructor(readonly effectCause: Cause.Cause<unknown>) {
    super(messageOf(Cause.squash(effectCause)))
    this.name = "NextFailure"
  }
}

const describe = (value: unknown): string =>
  value === undefined
    ? "undefined"
    : value === null
    ? "null"
    : Predicate.isPromiseLike(value)
    ? "a Promise"
    : `a ${typeof value}`

interface Options {
  readonly name: string
  readonly style: Style
  readonly active: () => boolean
}

/**
 * The middleware as the pipeline runs it.
 *
 * @internal
 */
export const adapt = <K extends Kind>(
  kind: K,
  fn: AnyMiddleware,
  options: Options
): MiddlewareOf<K> => {
  const { name } = options
  const own = (message: string, cause?: unknown) =>
    new MiddlewareError({ middleware: name, message: `${kind} middleware ${name}: ${message}`, cause })

  // A result must be a result object: an `undefined` from a middleware that forgot to return `next`'s
  // result would otherwise break the turn loop far from its cause.
  const checked = <A>(value: A): Effect.Effect<A, MiddlewareError> =>
    value !== null && typeof value === "object"
      ? Effect.succeed(value)
      : Effect.fail(own(`returned ${describe(value)} instead of a ${kind} result (return the result of next)`))

  const classify = (cause: Cause.Cause<unknown>, fromNext: Cause.Cause<unknown> | undefined) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
    const error = safeThrown(Cause.squash(cause))
    if (fromNext !== undefined && (cause === fromNext || error === Cause.squash(fromNext))) {
      return Effect.failCause(cause)
    }
    if (error instanceof NextCalledTwiceError || error instanceof MiddlewareError) return Effect.fail(error)
    const hint = options.style === "effect" && error instanceof TypeError
      ? " (a Promise-style middleware that is not an async function needs { style: \"promise\" })"
      : ""
    return Effect.fail(own(messageOf(error) + hint, error))
  }

  const effectStyle = (ctx: unknown, next: Effect.Effect<unknown, unknown, unknown>) => {
    if (!options.active()) return next
    let fromNext: Cause.Cause<unknown> | undefined
    const tracked = Effect.onError(next, (cause) => Effect.sync(() => void (fromNext = cause)))
    // What the middleware threw or returned is looked at only inside `Effect.try`: a value that throws when
    // inspected (a Proxy) never reaches the runtime.
    return Effect.suspend(() =>
      Effect.flatten(Effect.try({
        try: (): Effect.Effect<unknown, unknown, unknown> => {
          const out: unknown = fn(ctx, tracked)
          if (Effect.isEffect(out)) return out as Effect.Effect<unknown, unknown, unknown>
          return Effect.fail(own(
            Predicate.isPromiseLike(out)
              ? "returned a Promise; make it an async function or register it with { style: \"promise\" }"
              : `returned ${describe(out)} instead of an Effect`
          ))
        },
        catch: safeThrown
      }))
    ).pipe(
      Effect.flatMap(checked),
      Effect.catchAllCause((cause) => classify(cause, fromNext))
    )
  }

  const promiseStyle = (ctx: unknown, next: Effect.Effect<unknown, unknown, unknown>) => {
    if (!options.active()) return next
    return Effect.flatMap(Effect.runtime<unknown>(), (runtime) => {
      // `next` runs in its own fiber (a Promise cannot hold ours) with this fiber's context; it is
      // interrupted with the middleware, and never outlives it.
      const running = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
      const callNext = () =>
        new Promise<unknown>((resolve, reject) => {
          const fiber = Runtime.runFork(runtime)(next)
          running.add(fiber)
          fiber.addObserver((exit) => {
            running.delete(fiber)
            if (Exit.isSuccess(exit)) resolve(exit.value)
            else reject(new NextFailure(exit.cause))
          })
        })
      return Effect.tryPromise({
        try: () => Promise.resolve(fn(ctx, callNext)),
        catch: safeThrown
      }).pipe(
        Effect.flatMap(checked),
        Effect.catchAll((error) =>
          error instanceof NextFailure ? Effect.failCause(error.effectCause) : classify(Cause.fail(error), undefined)
        ),
        Effect.ensuring(Effect.suspend(() => Fiber.interruptAll(running)))
      )
    })
  }

  return (options.style === "promise" ? promiseStyle : effectStyle) as unknown as MiddlewareOf<K>
}
