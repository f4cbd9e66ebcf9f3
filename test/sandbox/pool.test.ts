import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { hostPid } from "./helpers.js"

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

/** `pid` as the tool reports it, in its pid namespace (under the OS sandbox each worker has its own). */
type Count = { readonly count: number; readonly pid: number; readonly pidns: string | null }

/** A worker's identity (`id`) and its host pid while it is alive (`host`, resolved right away). */
const located = (count: Count) => ({
  ...count,
  id: `${count.pidns}|${count.pid}`,
  host: hostPid(count.pid, count.pidns)
})

describe.each(["bun", "node"] as const)("WorkerPool on %s", (runtimeType) => {
  it.live("reuses a warm worker, keeps it after tool errors, recycles after maxCallsPerWorker", () =>
    Effect.gen(function*() {
      const runtime = yield* build(runtimeType)
      const pool = { size: 1, maxCallsPerWorker: 4 }
      const counter = () =>
        (runtime.execute({ toolId: "counter", input: null, pool }) as Effect.Effect<Count, never>).pipe(
          Effect.map(located)
        )
      const a = yield* counter()
      const b = yield* counter()
      const threw = yield* Effect.flip(runtime.execute({ toolId: "throws", input: null, pool }))
      assert.strictEqual(threw._tag, "ToolThrew")
      const c = yield* counter()
      assert.deepStrictEqual([a.count, b.count, c.count], [1, 2, 3])
      assert.strictEqual(new Set([a.id, b.id, c.id]).size, 1, JSON.stringify([a, b, c]))
      // 4 calls served: the next one runs on a fresh worker
      const d = yield* counter()
      assert.strictEqual(d.count, 1)
      assert.notStrictEqual(d.id, a.id)
      assert.isFalse(isAlive(a.host))
    }).pipe(Effect.scoped))

  it.live("replaces a worker after a crash or a timeout", () =>
    Effect.gen(function*() {
      const runtime = yield* build(runtimeType)
      const pool = { size: 1 }
      const first = located((yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count)
      const crashed = yield* Effect.flip(runtime.execute({ toolId: "exits", input: null, pool }))
      assert.strictEqual(crashed._tag, "ToolCrashed")
      const second = located((yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count)
      assert.notStrictEqual(second.id, first.id)
      assert.strictEqual(second.count, 1)
      const timedOut = yield* Effect.flip(runtime.execute({ toolId: "loop", input: null, pool, timeout: "1 second" }))
      assert.strictEqual(timedOut._tag, "ToolTimeout")
      assert.isFalse(isAlive(second.host))
      const third = located((yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count)
      assert.strictEqual(third.count, 1)
      assert.notStrictEqual(third.id, second.id)
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
      const workers = results.map(located)
      const pids = [...new Set(workers.map((r) => r.host))]
      assert.isAtMost(new Set(workers.map((r) => r.id)).size, 2)
      assert.isAtMost(pids.length, 2)
      assert.deepStrictEqual(results.map((r) => r.count).reduce((a, b) => a + b, 0) >= 6, true)
      yield* Scope.close(scope, Exit.void)
      for (const pid of pids) assert.isFalse(isAlive(pid), `worker ${pid} survived the scope`)
    }))

  it.live("stops a worker idle for idleTimeout", () =>
    Effect.gen(function*() {
      const runtime = yield* build(runtimeType)
      const pool = { size: 1, idleTimeout: "300 millis" } as const
      const first = located((yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count)
      for (let i = 0; i < 100 && isAlive(first.host); i++) yield* Effect.sleep("50 millis")
      assert.isFalse(isAlive(first.host))
      const second = located((yield* runtime.execute({ toolId: "counter", input: null, pool })) as Count)
      assert.strictEqual(second.count, 1)
    }).pipe(Effect.scoped))
})
