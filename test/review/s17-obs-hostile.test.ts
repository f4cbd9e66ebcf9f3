/**
 * Session 17 review: extensions written by a hostile or careless author. A handler that throws a value that
 * is not an Error (one that cannot even be printed) or a huge one, an extension that emits in a loop faster
 * than its handlers finish, a state that is huge or grows without end: the instance's events keep flowing,
 * warnings stay readable and bounded, memory and the state file stay bounded. (A `register` that never
 * settles is refused at `registerTimeout`: test/extension/Extension.test.ts.)
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Logger, Option, Scope } from "effect"
import { EventBus, Extension, ExtensionState, Middleware, Pipeline, ToolRegistry } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/s17-obs/hostile.mjs")
const instance = { workspaceId: "ws", agentName: "alpha", instanceKey: "one" }

const harness = () => {
  const seen: Array<string> = []
  const warnings: Array<string> = []
  let onWarning: (() => void) | undefined
  return {
    seen,
    warnings,
    record: (text: string) => void seen.push(text),
    logger: Logger.make(({ logLevel, message }) => {
      if (logLevel._tag !== "Warning") return
      warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      onWarning?.()
    }),
    /** Done at the first warning containing `text`. */
    warned: (text: string) =>
      Effect.flatMap(Deferred.make<void>(), (d) => {
        const check = () => {
          if (warnings.some((w) => w.includes(text))) Deferred.unsafeDone(d, Exit.void)
        }
        onWarning = check
        check()
        return Deferred.await(d)
      })
  }
}

const load = (
  h: ReturnType<typeof harness>,
  config: Record<string, unknown>,
  options: { readonly maxPendingEvents?: number } = {}
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-s17-hostile-" })
    const state = yield* ExtensionState.make({ root })
    const pipeline = yield* Pipeline.make()
    const registry = yield* ToolRegistry.make
    const scope = yield* Scope.make()
    const env = yield* Extension.load({
      extensions: [{ name: "hostile", entry, config: { ...config, seen: h.record } }],
      instance,
      pipeline,
      registry,
      ...options
    }).pipe(Effect.provideService(ExtensionState.ExtensionState, state), Scope.extend(scope))
    return { env, scope, state, pipeline }
  })

const run = <A, E>(
  h: ReturnType<typeof harness>,
  effect: Effect.Effect<A, E, EventBus.EventBus | FileSystem.FileSystem | Scope.Scope>
) =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(EventBus.layer(), NodeContext.layer, Logger.replace(Logger.defaultLogger, h.logger)))
  )

const within = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: "15 seconds", onTimeout: () => new Error("never happened") })

describe("s17 review: hostile extensions", () => {
  it.live("handlers throwing values that are not Errors: a bounded warning each, later events delivered", () => {
    const h = harness()
    return run(
      h,
      Effect.gen(function*() {
        const { env, scope } = yield* load(h, { mode: "throws" })
        for (const kind of ["nullProto", "proxy", "messageGetter", "huge"]) {
          yield* within(env.emit("bad", kind))
          yield* within(env.emit("good", kind))
        }
        assert.deepStrictEqual(h.seen, ["good nullProto", "good proxy", "good messageGetter", "good huge"])
        const failures = h.warnings.filter((w) => w.includes("handler of bad failed"))
        assert.strictEqual(failures.length, 4, h.warnings.join("\n").slice(0, 2000))
        assert.include(failures[0], "(a thrown value that cannot be printed)")
        for (const w of failures) assert.isAtMost(w.length, 2_300)
        assert.include(failures[3], "(1000000 characters)")
        yield* Scope.close(scope, Exit.void)
      })
    )
  }, 30_000)

  it.live("an emit loop faster than its handlers: at most maxPendingEvents in delivery, the rest dropped", () => {
    const h = harness()
    return run(
      h,
      Effect.gen(function*() {
        const { env, scope } = yield* load(h, { mode: "flood", count: 5_000 }, { maxPendingEvents: 100 })
        yield* within(env.emit("go"))
        yield* within(h.warned("dropped so far"))
        // `go` and the first 99 `x` were in delivery at once (the `x` handler never settles); the rest dropped.
        yield* within(Effect.repeat(Effect.yieldNow(), { until: () => h.seen.length >= 99 }))
        const drops = h.warnings.filter((w) => w.includes("dropped"))
        assert.include(drops[0], "extension hostile: event 'x' dropped: 100 emitted events are still being delivered")
        assert.include(drops[0], "(1 dropped so far)")
        // 4,901 drops, warned at the 1st, 10th, 100th and 1,000th only.
        yield* within(h.warned("(1000 dropped so far)"))
        assert.strictEqual(h.warnings.filter((w) => w.includes("dropped")).length, 4)
        assert.strictEqual(h.seen.length, 99)
        yield* Scope.close(scope, Exit.void)
      })
    )
  }, 30_000)

  it.live("a huge state: refused at set with a RangeError naming the limit; grown in place, not saved", () => {
    const h = harness()
    return run(
      h,
      Effect.gen(function*() {
        const { env, scope, state } = yield* load(h, { mode: "bigState" })
        assert.match(h.seen[0]!, /^set: extension hostile: its state would be \d+ characters of JSON, over the limit/)
        assert.deepStrictEqual(yield* env.saveState, ["hostile"])
        yield* within(env.emit("grow"))
        assert.strictEqual(h.seen[1], "grown")
        assert.deepStrictEqual(yield* env.saveState, [])
        assert.isTrue(h.warnings.some((w) => w.includes("the state is not saved")))
        const stored = yield* state.get(instance, "hostile")
        assert.deepStrictEqual(Option.getOrUndefined(stored), { blob: "small" })
        yield* Scope.close(scope, Exit.void)
      })
    )
  }, 30_000)

  for (const style of ["effect", "promise"] as const) {
    it.live(`a ${style}-style middleware throwing a Proxy: the turn fails with a MiddlewareError naming it`, () => {
      const h = harness()
      return run(
        h,
        Effect.gen(function*() {
          const { pipeline, scope } = yield* load(h, { mode: "middlewareProxy", style })
          const conversation = yield* Middleware.conversationInMemory()
          const error = yield* within(Effect.flip(pipeline.runTurn(
            {
              agentName: instance.agentName,
              instanceKey: instance.instanceKey,
              turnId: "turn-1",
              conversation,
              inputEvent: { input: "hi" },
              metadata: {}
            },
            (ctx) => Effect.succeed({ turnId: ctx.turnId, finishReason: "text_response" as const })
          )))
          assert.strictEqual(error._tag, "MiddlewareError", String(error))
          assert.include(error.message, "turn middleware hostile/proxy: (a thrown value that cannot be printed)")
          yield* Scope.close(scope, Exit.void)
        })
      )
    }, 30_000)
  }
})
