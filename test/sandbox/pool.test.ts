import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const tools = path.resolve(here, "..", "fixtures", "sandbox", "tools.mjs")

const isAlive = (pid: number): boolean => {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0]
    return state !== undefined && state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

const build = (runtimeType: string) =>
  Layer.build(
    ToolRuntime.layerWith({ killGrace: "500 millis" }).pipe(
      Layer.provide(RuntimeConfig.layer(runtimeType, RuntimeConfig.withEntrypointPath(tools)))
    )
  ).pipe(Effect.map(Context.get(ToolRuntime.ToolRuntime)))

type Count = { readonly count: number; readonly pid: number }

describe.each(["bun", "node"] as const)("WorkerPool on %s", (runtimeType) => {
  it.live("reuses a warm worker, keeps it after tool errors, recycles after maxCallsPerWorker", () =>
    Effect.gen(function*() {
      const runtime = yield* build(runtimeType)
      const pool = { size: 1, maxCallsPerWorker: 4 }
      const counter = () => runtime.execute({ toolId: "counter", input: null, pool }) as Effect.Effect<Count, never>
      const a = yield* counter()
      const b = yield* counter()
      const threw = yield* Effect.flip(runtime.execute({ toolId: "throws", input: null, pool }))
      assert.strictEqual(threw._tag, "ToolThrew")
      const c = yield* counter()
      assert.deepStrictEqual([a.count, b.count, c.count], [1, 2, 3])
      assert.strictEqual(new Set([a.pid, b.pid, c.pid]).size, 1)
      // 4 calls served: the next one runs on a fresh worker
      const d = yield* counter()
      assert.strictEqual(d.count, 1)
      assert.notStrictEqual(d.pid, a.pid)
      assert.isFalse(isAlive(a.pid))
    }).pipe(Effect.scoped))

  it.live("replaces a worker after a crash or a timeout", () =>
    Effect.gen(function*() {
      const runtime = yield* build(runtimeType)
      const pool = { size: 1 }
      const first = (yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count
      const crashed = yield* Effect.flip(runtime.execute({ toolId: "exits", input: null, pool }))
      assert.strictEqual(crashed._tag, "ToolCrashed")
      const second = (yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count
      assert.notStrictEqual(second.pid, first.pid)
      assert.strictEqual(second.count, 1)
      const timedOut = yield* Effect.flip(runtime.execute({ toolId: "loop", input: null, pool, timeout: "1 second" }))
      assert.strictEqual(timedOut._tag, "ToolTimeout")
      assert.isFalse(isAlive(second.pid))
      const third = (yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count
      assert.strictEqual(third.count, 1)
      assert.notStrictEqual(third.pid, second.pid)
    }).pipe(Effect.scoped))

  it.live("runs up to size calls at once and shuts every worker down with the scope", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const runtime = yield* build(runtimeType).pipe(Scope.extend(scope))
      const pool = { size: 2 }
      const results = (yield* Effect.all(
        Array.from({ length: 6 }, () => runtime.execute({ toolId: "counter", input: null, pool })),
        { concurrency: "unbounded" }
      )) as ReadonlyArray<Count>
      const pids = [...new Set(results.map((r) => r.pid))]
      assert.isAtMost(pids.length, 2)
      assert.deepStrictEqual(results.map((r) => r.count).reduce((a, b) => a + b, 0) >= 6, true)
      yield* Scope.close(scope, Exit.void)
      for (const pid of pids) assert.isFalse(isAlive(pid), `worker ${pid} survived the scope`)
    }))

  it.live("stops a worker idle for idleTimeout", () =>
    Effect.gen(function*() {
      const runtime = yield* build(runtimeType)
      const pool = { size: 1, idleTimeout: "300 millis" } as const
      const first = (yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count
      for (let i = 0; i < 100 && isAlive(first.pid); i++) yield* Effect.sleep("50 millis")
      assert.isFalse(isAlive(first.pid))
      const second = (yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count
      assert.strictEqual(second.count, 1)
    }).pipe(Effect.scoped))
})
