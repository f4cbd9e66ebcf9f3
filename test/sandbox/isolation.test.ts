/**
 * Choosing the isolation strategy (issue 13): `os` refuses to run without a working bubblewrap,
 * `auto` falls back to the runtime's flags with one warning per layer, `runtime` never uses it, and
 * `capabilities()` says which strategy holds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import type * as Permissions from "effect-swarm/config/Permissions"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as Sandbox from "effect-swarm/sandbox/Sandbox"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
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

describe("bubblewrap's mounts", () => {
  // Real paths: bubblewrapArgs binds only what exists.
  const root = fs.realpathSync(os.tmpdir())
  const privateDir = path.join(root, "es-mounts-private")
  const workerPath = path.join(privateDir, "worker", "worker.mjs")
  const mounts = (read: Permissions.Grant): Sandbox.Mounts => ({
    binary: process.execPath,
    workerPath,
    read,
    write: "none",
    implicitRead: [],
    network: false,
    scratchDir: path.join(privateDir, "calls", "c-1"),
    scratchBytes: 1 << 20,
    hide: [privateDir],
    files: [path.join(privateDir, "calls", "c-1.call")]
  })
  const indexOfPair = (args: ReadonlyArray<string>, flag: string, value: string) =>
    args.findIndex((arg, i) => arg === flag && args[i + 1] === value)

  it("hide the private directory under a read grant covering it, then bind the worker and the call's file", () => {
    const args = Sandbox.bubblewrapArgs(mounts([root]))
    const bound = indexOfPair(args, "--ro-bind", root)
    const hidden = indexOfPair(args, "--tmpfs", privateDir)
    assert.isAbove(bound, -1)
    // After the bind that exposes it (before, the bind would uncover it again).
    assert.isAbove(hidden, bound, args.join(" "))
    assert.isAbove(indexOfPair(args, "--ro-bind", workerPath), hidden)
    assert.isAbove(indexOfPair(args, "--ro-bind", path.join(privateDir, "calls", "c-1.call")), hidden)
  })

  it("hide it under read access to everything, and not where nothing covers it", () => {
    const all = Sandbox.bubblewrapArgs(mounts("all"))
    assert.isAbove(indexOfPair(all, "--tmpfs", privateDir), indexOfPair(all, "--ro-bind", "/"))
    assert.strictEqual(indexOfPair(Sandbox.bubblewrapArgs(mounts("none")), "--tmpfs", privateDir), -1)
  })
})
