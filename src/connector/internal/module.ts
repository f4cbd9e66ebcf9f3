/**
 * Connector modules (a Connector's `entry`): imported at their content version (`EntryModule`), `run(ctx)`
 * called with the promise-based `ConnectorContext` for each start. The promises the context returns run their Effects in a `FiberSet`
 * of the start's scope, so stopping the connector interrupts whatever it still waits for.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as EntryModule from "../../resource/EntryModule.js"
import type { Builtin, ConnectorContext, Reply, ReplyChunk, Run } from "../Connector.js"
import { ConnectorCrashed, ConnectorLoadError } from "../ConnectorError.js"
import type { Prepared } from "./runtime.js"

const messageOf = (u: unknown): string => u instanceof Error ? u.message : String(u)

const runOf = (mod: unknown): Run | undefined => {
  if (typeof mod !== "object" || mod === null) return undefined
  const own = (o: object, key: string): unknown =>
    Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined
  const def = own(mod, "default")
  if (typeof def === "function") return def as Run
  const named = own(mod, "run")
  if (typeof named === "function") return named as Run
  if (typeof def === "object" && def !== null) {
    const nested = own(def, "run")
    if (typeof nested === "function") return nested as Run
  }
  return undefined
}

/** Imports a connector module and finds its `run`. */
export const load = (prepared: Prepared, file: string): Effect.Effect<Run, ConnectorLoadError> =>
  Effect.gen(function*() {
    // At its content version: an edited entry (`run --watch`) is imported again, an unchanged one never is.
    const { module: mod } = yield* EntryModule.load(file).pipe(
      Effect.mapError(({ reason }) =>
        new ConnectorLoadError({
          code: "E_CONNECTOR_IMPORT",
          connection: prepared.name,
          connector: prepared.connectorName,
          file,
          reason: `cannot import the entry module (${reason})`,
          suggestion: "check that the file is an ES module Node can import (the CLI loads .ts entries through tsx)"
        })
      )
    )
    const run = runOf(mod)
    if (run === undefined) {
      return yield* new ConnectorLoadError({
        code: "E_CONNECTOR_NO_RUN",
        connection: prepared.name,
        connector: prepared.connectorName,
        file,
        reason: "the module exports no run function",
        suggestion: "export default async function run(ctx) { ... } (or export a named run)"
      })
    }
    return run
  })

/** A connector module as a `Builtin`: `run(ctx)` with the promise context over the Effect runtime. */
export const fromRun = (run: Run): Builtin => (rt) =>
  Effect.gen(function*() {
    const fibers = yield* FiberSet.make<unknown, unknown>()
    const runPromise = yield* FiberSet.runtimePromise(fibers)<never>()
    const runtime = yield* Effect.runtime<never>()
    const log = (level: LogLevel.Literal) => (...message: ReadonlyArray<unknown>) =>
      Runtime.runSync(runtime)(
        Effect.logWithLevel(LogLevel.fromLiteral(level), ...message).pipe(
          Effect.annotateLogs({ connection: rt.connection, connector: rt.connector })
        )
      )
    const logger = { debug: log("Debug"), info: log("Info"), warn: log("Warning"), error: log("Error") }
    const controller = new AbortController()
    const cleanups: Array<() => void | Promise<void>> = []
    const handlers = new Set<(reply: Reply) => void | Promise<void>>()
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        controller.abort()
        for (const cleanup of cleanups.reverse()) {
          yield* Effect.tryPromise(() => Promise.resolve(cleanup())).pipe(
            Effect.catchAll((e) => Effect.logWarning(`connector cleanup failed: ${messageOf(e.error)}`))
          )
        }
      })
    )
    const deliver = (reply: Reply) =>
      Effect.forEach([...handlers], (handler) =>
        Effect.tryPromise(() => Promise.resolve(handler(reply))).pipe(
          Effect.catchAll((e) => Effect.logWarning(`onReply handler failed: ${messageOf(e.error)}`))
        ), { discard: true })
    const ctx: ConnectorContext = {
      connection: rt.connection,
      connector: rt.connector,
      config: rt.config,
      secrets: rt.secrets,
      emit: (event) =>
        runPromise(
          handlers.size === 0 ?
            rt.emit(event) :
            Effect.flatMap(rt.submit(event), ([accepted, reply]) =>
              Effect.as(
                FiberSet.run(
                  fibers,
                  reply.pipe(
                    Effect.flatMap(deliver),
                    Effect.catchAll((e) => Effect.logWarning(`no reply: ${e.message}`))
                  )
                ),
                accepted
              ))
        ),
      request: (event, options) => {
        const onDelta = options?.onDelta
        return runPromise(
          waitFor(rt, event, onDelta === undefined ? undefined : (text) => Effect.sync(() => onDelta(text)))
        )
      },
      stream: (event) => streamOf(runPromise, fibers, rt, event),
      onReply: (handler) => {
        handlers.add(handler)
        return () => {
          handlers.delete(handler)
        }
      },
      verifyWebhook: (body, signature, options) =>
        Exit.match(Runtime.runSyncExit(runtime)(rt.verifyWebhook(body, signature, options)), {
          onSuccess: () => ({ ok: true }) as const,
          onFailure: (cause) =>
            ({
              ok: false,
              reason: Option.match(Cause.failureOption(cause), {
                onNone: () => Cause.pretty(cause),
                onSome: (e) => e.reason
              })
            }) as const
        }),
      signal: controller.signal,
      onStop: (cleanup) => {
        cleanups.push(cleanup)
      },
      logger
    }
    yield* Effect.tryPromise({
      try: () => Promise.resolve(run(ctx)),
      catch: (e) => new ConnectorCrashed({ connection: rt.connection, connector: rt.connector, reason: messageOf(e) })
    })
  })

/**
 * A module's `request` / `stream`: accepted, then the reply waited for. Stopping the connector (a restart, the
 * runner's shutdown) interrupts only the wait: the turn goes on and is recorded (a promise-based connector
 * has no way to cancel a turn; the built-in `cli` chat cancels through `Runtime.request`).
 */
const waitFor = (
  rt: Parameters<Builtin>[0],
  event: unknown,
  onDelta: ((text: string) => Effect.Effect<void>) | undefined
) =>
  Effect.flatMap(
    rt.submit(event, { onDelta: onDelta === undefined ? undefined : (text) => onDelta(text) }),
    ([, reply]) => reply
  )

// `stream(event)`: the request runs in the connector's fiber set; its deltas and reply reach the iterator
// through a queue.
const streamOf = (
  runPromise: <A, E>(effect: Effect.Effect<A, E, never>) => Promise<A>,
  fibers: FiberSet.FiberSet<unknown, unknown>,
  rt: Parameters<Builtin>[0],
  event: unknown
): AsyncIterable<ReplyChunk> => ({
  [Symbol.asyncIterator]: () => {
    let queue: Queue.Queue<Exit.Exit<ReplyChunk, unknown> | undefined> | undefined
    let started: Promise<Queue.Queue<Exit.Exit<ReplyChunk, unknown> | undefined>> | undefined
    const start = () => {
      started ??= runPromise(Effect.gen(function*() {
        const q = yield* Queue.unbounded<Exit.Exit<ReplyChunk, unknown> | undefined>()
        queue = q
        const offer = (x: Exit.Exit<ReplyChunk, unknown> | undefined) => Queue.offer(q, x)
        yield* FiberSet.run(
          fibers,
          waitFor(rt, event, (text) => offer(Exit.succeed({ type: "delta", text }))).pipe(
            Effect.matchEffect({
              onFailure: (e) => offer(Exit.fail(e)),
              onSuccess: (reply) => Effect.zipRight(offer(Exit.succeed({ type: "reply", reply })), offer(undefined))
            })
          )
        )
        return q
      }))
      return started
    }
    return {
      next: async () => {
        const q = queue ?? (await start())
        const item = await runPromise(Queue.take(q))
        if (item === undefined) return { done: true, value: undefined }
        if (Exit.isFailure(item)) throw Cause.squash(item.cause)
        return { done: false, value: item.value }
      }
    }
  }
})
