/**
 * Session 16 review of extension events: a handler that emits the event it handles (directly or through
 * other handlers) is bounded by the chain limit, and a handler that never settles is left behind at its
 * deadline (on `Clock`) so the instance's later events are still delivered.
 */
import type { Path } from "@effect/platform"
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Layer, Logger, Scope, TestClock } from "effect"
import { EventBus, Extension, ExtensionState, Middleware, Pipeline, ToolRegistry } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/s16-extensions/events.mjs")
const instance = { workspaceId: "ws", agentName: "alpha", instanceKey: "one" }

interface Harness {
  readonly seen: Array<string>
  readonly warnings: Array<string>
  /** Done when a warning containing `text` is logged. */
  readonly warned: (text: string) => Effect.Effect<void>
  /** Done when a handler has seen `text`. */
  readonly saw: (text: string) => Effect.Effect<void>
}

const harness = Effect.sync((): Harness & {
  readonly logger: Logger.Logger<unknown, void>
  readonly record: (text: string) => void
} => {
  const seen: Array<string> = []
  const warnings: Array<string> = []
  const waiters: Array<{ readonly test: () => boolean; readonly done: () => void }> = []
  const check = () => {
    for (const w of waiters.slice()) {
      if (w.test()) {
        waiters.splice(waiters.indexOf(w), 1)
        w.done()
      }
    }
  }
  const until = (test: () => boolean) =>
    Effect.flatMap(Deferred.make<void>(), (d) => {
      waiters.push({ test, done: () => Deferred.unsafeDone(d, Exit.void) })
      check()
      return Deferred.await(d)
    })
  return {
    seen,
    warnings,
    logger: Logger.make(({ logLevel, message }) => {
      if (logLevel._tag !== "Warning") return
      warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      check()
    }),
    record: (text) => {
      seen.push(text)
      check()
    },
    warned: (text) => until(() => warnings.some((w) => w.includes(text))),
    saw: (text) => until(() => seen.includes(text))
  }
})

/** Loads `extensions` (name + config, the fixture's modes) into one instance, in a scope the test closes. */
const load = (
  h: Effect.Effect.Success<typeof harness>,
  extensions: ReadonlyArray<{ readonly name: string; readonly config: Record<string, unknown> }>,
  options?: { readonly handlerTimeout?: Extension.LoadOptions["handlerTimeout"]; readonly maxEventChain?: number }
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-s16-ext-" })
    const state = yield* ExtensionState.make({ root })
    const pipeline = yield* Pipeline.make()
    const registry = yield* ToolRegistry.make
    const scope = yield* Scope.make()
    const env = yield* Extension.load({
      extensions: extensions.map((e) => ({ name: e.name, entry, config: { ...e.config, seen: h.record } })),
      instance,
      pipeline,
      registry,
      ...options
    }).pipe(Effect.provideService(ExtensionState.ExtensionState, state), Scope.extend(scope))
    return { env, pipeline, scope }
  })

/** One turn through the instance's pipeline: publishes its `turn.started` and `turn.completed`. */
const turn = (pipeline: Pipeline.Service) =>
  Effect.gen(function*() {
    const conversation = yield* Middleware.conversationInMemory()
    return yield* pipeline.runTurn(
      {
        agentName: instance.agentName,
        instanceKey: instance.instanceKey,
        turnId: "turn-1",
        conversation,
        inputEvent: { input: "hi" },
        metadata: {}
      },
      (ctx) => Effect.succeed({ turnId: ctx.turnId, finishReason: "text_response" as const })
    )
  })

const run = <A, E>(
  h: Effect.Effect.Success<typeof harness>,
  effect: Effect.Effect<A, E, EventBus.EventBus | FileSystem.FileSystem | Path.Path | Scope.Scope>
): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(EventBus.layer(), NodeContext.layer, Logger.replace(Logger.defaultLogger, h.logger)))
  )

// A real-time bound on a wait, so that a loop on the old code fails the test instead of hanging it.
const within = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: "20 seconds", onTimeout: () => new Error("the chain never ended") })

describe("s16 review: an extension event handler that emits its own event", () => {
  for (const mode of ["sync", "async", "effect"] as const) {
    it.live(
      `${mode}: the chain stops at 32 events with a warning naming the extension, the event and the chain`,
      () =>
        Effect.gen(function*() {
          const h = yield* harness
          yield* run(
            h,
            Effect.gen(function*() {
              const { env, scope } = yield* load(h, [{ name: "looper", config: { mode, on: "ping", emit: "ping" } }])
              yield* within(env.emit("ping"))
              yield* within(h.warned("event 'ping' dropped"))
              assert.strictEqual(h.seen.length, 32)
              assert.isTrue(h.seen.every((s) => s === "looper ping"))
              const [warning] = h.warnings.filter((w) => w.includes("dropped"))
              assert.include(warning, "extension looper: event 'ping' dropped")
              assert.include(warning, "event 33 of one chain of handlers (ping -> ping -> ping -> ... -> ping")
              assert.include(warning, "over the limit of 32")
              assert.include(warning, "(1 dropped in alpha@one so far)")
              // Later events are still delivered.
              yield* within(env.emit("ping"))
              yield* within(h.warned("(2 dropped in alpha@one so far)"))
              assert.strictEqual(h.seen.length, 64)
              yield* Scope.close(scope, Exit.void)
            })
          )
        }),
      30_000
    )
  }

  it.live(
    "a loop through two extensions started by a runtime event is bounded too (maxEventChain)",
    () =>
      Effect.gen(function*() {
        const h = yield* harness
        yield* run(
          h,
          Effect.gen(function*() {
            const { pipeline, scope } = yield* load(h, [
              { name: "starter", config: { mode: "sync", on: "turn.completed", emit: "a" } },
              { name: "ping", config: { mode: "async", on: "a", emit: "b" } },
              { name: "pong", config: { mode: "effect", on: "b", emit: "a" } }
            ], { maxEventChain: 5 })
            yield* turn(pipeline)
            yield* within(h.warned("dropped"))
            assert.deepStrictEqual(h.seen, [
              "starter turn.completed",
              "ping a",
              "pong b",
              "ping a",
              "pong b",
              "ping a"
            ])
            const [warning] = h.warnings.filter((w) => w.includes("dropped"))
            assert.include(warning, "extension ping: event 'b' dropped: it would be event 6")
            assert.include(warning, "(a -> b -> a -> b -> a -> b)")
            yield* Scope.close(scope, Exit.void)
          })
        )
      }),
    30_000
  )

  it.live(
    "a chain that ends by itself within the limit is delivered whole, without a warning",
    () =>
      Effect.gen(function*() {
        const h = yield* harness
        yield* run(
          h,
          Effect.gen(function*() {
            const { env, scope } = yield* load(h, [{
              name: "count",
              config: { mode: "countdown", on: "n", emit: "n" }
            }])
            yield* within(env.emit("n", 32))
            assert.strictEqual(h.seen.length, 32)
            assert.strictEqual(h.seen[31], "count 1")
            assert.deepStrictEqual(h.warnings, [])
            yield* Scope.close(scope, Exit.void)
          })
        )
      }),
    30_000
  )

  it.scoped("bad limits are a typed error naming the option", () =>
    Effect.gen(function*() {
      const h = yield* harness
      for (
        const [options, field] of [
          [{ maxEventChain: 0 }, "maxEventChain"],
          [{ maxEventChain: Number.NaN }, "maxEventChain"],
          [{ maxEventChain: 2.5 }, "maxEventChain"],
          [{ handlerTimeout: -1 }, "handlerTimeout"],
          [{ handlerTimeout: 0 }, "handlerTimeout"],
          [{ handlerTimeout: "soon" as never }, "handlerTimeout"]
        ] as const
      ) {
        const error = yield* run(h, Effect.scoped(Effect.flip(load(h, [], options))))
        assert.strictEqual(error._tag === "ExtensionLoadError" && error.code, "E_EXT_OPTIONS", field)
        assert.include(error.message, field)
      }
    }))
})

/** Waits until a handler's deadline is on the TestClock (handlers run in forked fibers). */
const deadlineScheduled = TestClock.sleeps().pipe(
  Effect.tap(() => Effect.yieldNow()),
  Effect.repeat({ until: (sleeps) => Chunk.isNonEmpty(sleeps) })
)

describe("s16 review: a handler that never settles", () => {
  for (const mode of ["hang", "hangEffect"] as const) {
    it.scoped(
      `${mode}: is left behind at 30 s (TestClock) with a warning; later events are delivered`,
      () =>
        Effect.gen(function*() {
          const h = yield* harness
          yield* run(
            h,
            Effect.gen(function*() {
              const { pipeline, scope } = yield* load(h, [
                { name: "stuck", config: { mode, on: "turn.started" } },
                { name: "rec", config: { mode: "record", on: ["turn.started", "turn.completed"] } }
              ])
              yield* turn(pipeline)
              yield* h.saw(`stuck start turn.started`)
              yield* deadlineScheduled
              yield* TestClock.adjust("29 seconds")
              assert.deepStrictEqual(h.seen, ["stuck start turn.started"])
              yield* TestClock.adjust("1 second")
              yield* h.saw("rec turn.completed")
              assert.deepStrictEqual(h.seen.filter((s) => !s.includes("interrupted")), [
                "stuck start turn.started",
                "rec turn.started",
                "rec turn.completed"
              ])
              if (mode === "hangEffect") assert.include(h.seen, "stuck interrupted turn.started")
              const warning = h.warnings.find((w) => w.includes("did not settle"))
              assert.include(warning, "extension stuck: handler of turn.started did not settle within 30s")
              yield* Scope.close(scope, Exit.void)
            })
          )
        }),
      30_000
    )
  }

  it.scoped(
    "the deadline is configurable per handler and per environment; a bad one throws at events.on",
    () =>
      Effect.gen(function*() {
        const h = yield* harness
        yield* run(
          h,
          Effect.gen(function*() {
            const { pipeline, scope } = yield* load(h, [
              { name: "stuck", config: { mode: "hang", on: "turn.started", timeout: "5 seconds" } },
              { name: "rec", config: { mode: "record", on: ["turn.completed"] } }
            ], { handlerTimeout: "1 hour" })
            yield* turn(pipeline)
            yield* h.saw("stuck start turn.started")
            yield* deadlineScheduled
            yield* TestClock.adjust("5 seconds")
            yield* h.saw("rec turn.completed")
            assert.isDefined(h.warnings.find((w) => w.includes("did not settle within 5s")))
            yield* Scope.close(scope, Exit.void)

            const error = yield* Effect.flip(
              load(h, [{ name: "bad", config: { mode: "hang", on: "turn.started", timeout: -5 } }])
            )
            assert.strictEqual(error._tag === "ExtensionLoadError" && error.code, "E_EXT_INIT")
            assert.include(error.message, "events.on(turn.started): timeout -5 is not a positive duration")
          })
        )
      }),
    30_000
  )
})
