/**
 * Choosing the isolation strategy (issue 13): `os` refuses to run without a working bubblewrap,
 * `auto` falls back to the runtime's flags with one warning per layer, `runtime` never uses it, and
 * `capabilities()` says which strategy holds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as Sandbox from "effect-swarm/sandbox/Sandbox"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import { awaitNoChildren, hostileEntrypoint } from "./helpers.js"

const missing = Sandbox.layerBubblewrap("/nonexistent/es-test/bwrap")

const runtimeWith = (sandbox: Layer.Layer<Sandbox.Sandbox>, isolation: RuntimeConfig.Isolation) =>
  ToolRuntime.layer.pipe(
    Layer.provide(sandbox),
    Layer.provide(
      RuntimeConfig.layer(
        "node",
        RuntimeConfig.withEntrypointPath(hostileEntrypoint),
        RuntimeConfig.withIsolation(isolation)
      )
    ),
    Layer.orDie
  )

const warningsOf = <A, E, R>(self: Effect.Effect<A, E, R>) => {
  const warnings: Array<string> = []
  const capture = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return self.pipe(
    Effect.map((value) => ({ value, warnings })),
    Effect.provide(Logger.replace(Logger.defaultLogger, capture))
  )
}

const call = Effect.flatMap(
  ToolRuntime.ToolRuntime,
  (runtime) => runtime.execute({ toolId: "readEnv", input: { name: "ES_NOTHING" } })
)

describe("isolation strategy", () => {
  it.live("os without a working bubblewrap is IsolationUnavailable, with the install hint, before spawning", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(call)
      assert.strictEqual(error._tag, "IsolationUnavailable", JSON.stringify(error))
      if (error._tag === "IsolationUnavailable") {
        assert.strictEqual(error.strategy, "bubblewrap")
        assert.include(error.suggestion, "apt-get install bubblewrap")
        assert.include(error.message, "isolation \"runtime\"")
      }
      assert.deepStrictEqual(yield* awaitNoChildren(), [], "no worker left behind")
    }).pipe(Effect.provide(runtimeWith(missing, "os"))))

  it.live("auto without bubblewrap runs under the runtime's flags and warns once per layer", () =>
    Effect.gen(function*() {
      const { value, warnings } = yield* warningsOf(Effect.zip(call, call))
      assert.deepStrictEqual(value, [null, null])
      assert.strictEqual(warnings.length, 1, JSON.stringify(warnings))
      assert.include(warnings[0]!, "without OS isolation")
      assert.include(warnings[0]!, "apt-get install bubblewrap")
      const caps = (yield* ToolRuntime.ToolRuntime).capabilities("bun")
      assert.strictEqual(caps.isolation, "none")
      assert.strictEqual(caps.read.status, "unenforceable")
      assert.strictEqual(caps.processes.status, "unenforceable")
    }).pipe(Effect.provide(runtimeWith(missing, "auto"))))

  it.live("runtime never probes or warns, and reports the runtime's own capabilities", () =>
    Effect.gen(function*() {
      const { value, warnings } = yield* warningsOf(call)
      assert.isNull(value)
      assert.deepStrictEqual(warnings, [])
      assert.strictEqual((yield* ToolRuntime.ToolRuntime).capabilities("node").isolation, "none")
    }).pipe(Effect.provide(runtimeWith(missing, "runtime"))))

  const works = Sandbox.bubblewrap().probe()._tag === "Available"
  it.live.skipIf(!works)(
    "auto with a working bubblewrap isolates, and capabilities say so for every runtime",
    () =>
      Effect.gen(function*() {
        const { value, warnings } = yield* warningsOf(call)
        assert.isNull(value)
        assert.deepStrictEqual(warnings, [])
        const runtime = yield* ToolRuntime.ToolRuntime
        for (const type of RuntimeConfig.runtimeTypes) {
          const caps = runtime.capabilities(type)
          assert.strictEqual(caps.isolation, "bubblewrap")
          for (const kind of ["read", "write", "net", "env", "processes", "scratch"] as const) {
            assert.strictEqual(caps[kind].status, "enforced", `${type} ${kind}`)
          }
        }
      }).pipe(Effect.provide(runtimeWith(Sandbox.layerBubblewrap(), "auto")))
  )
})
