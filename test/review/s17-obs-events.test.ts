/**
 * Session 17 review of extension events: the chain bound (32 events, review 16) must hold however a handler
 * reaches its emit: after an await, from a promise inside an Effect handler, from an Effect it runs itself.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Logger, Scope } from "effect"
import { EventBus, Extension, ExtensionState, Pipeline, ToolRegistry } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/s17-obs/events.mjs")
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

const load = (h: ReturnType<typeof harness>, config: Record<string, unknown>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-s17-ext-" })
    const state = yield* ExtensionState.make({ root })
    const pipeline = yield* Pipeline.make()
    const registry = yield* ToolRegistry.make
    const scope = yield* Scope.make()
    const env = yield* Extension.load({
      extensions: [{ name: "looper", entry, config: { ...config, seen: h.record } }],
      instance,
      pipeline,
      registry
    }).pipe(Effect.provideService(ExtensionState.ExtensionState, state), Scope.extend(scope))
    return { env, scope }
  })

const run = <A, E>(
  h: ReturnType<typeof harness>,
  effect: Effect.Effect<A, E, EventBus.EventBus | FileSystem.FileSystem | Scope.Scope>
) =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(EventBus.layer(), NodeContext.layer, Logger.replace(Logger.defaultLogger, h.logger)))
  )

// Real time bounds a loop on the old code, so it fails instead of hanging.
const within = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: "15 seconds", onTimeout: () => new Error("the chain never ended") })

describe("s17 review: an event chain continues across awaits and Effects a handler starts", () => {
  for (const mode of ["awaitFile", "awaitTimer", "effectAsync", "runPromise", "runFork"] as const) {
    it.live(`${mode}: the chain stops at 32 events with a warning`, () => {
      const h = harness()
      return run(
        h,
        Effect.gen(function*() {
          const { env, scope } = yield* load(h, { mode })
          yield* env.emit("ping")
          yield* within(h.warned("event 'ping' dropped"))
          assert.strictEqual(h.seen.length, 32, `seen ${h.seen.length}`)
          assert.include(h.warnings.find((w) => w.includes("dropped")), "over the limit of 32")
          yield* Scope.close(scope, Exit.void)
        })
      )
    }, 30_000)
  }
})
