import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as ChildProcess from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const tools = path.resolve(here, "..", "fixtures", "sandbox", "tools.mjs")

/**
 * A spawner that fails its first `failures` attempts (synchronously, like EAGAIN, or with a worker
 * that dies before the handshake), then spawns for real. `attempts` counts every call.
 */
const flakySpawner = (failures: number, how: "throw" | "die") => {
  const state = { attempts: 0 }
  const spawner = (command: string, args: ReadonlyArray<string>, options: ChildProcess.SpawnOptions) => {
    state.attempts++
    if (state.attempts <= failures) {
      if (how === "throw") throw new Error("spawn EAGAIN (injected)")
      return ChildProcess.spawn("/bin/sh", ["-c", "echo dying early >&2; exit 3"], options)
    }
    return ChildProcess.spawn(command, [...args], options)
  }
  return { state, spawner }
}

const runtimeLayer = (spawner: ToolRuntime.Options["spawner"], ...options: ReadonlyArray<RuntimeConfig.Option>) =>
  ToolRuntime.layerWith({ ...(spawner !== undefined ? { spawner } : {}) }).pipe(
    Layer.provide(
      RuntimeConfig.layer(
        "bun",
        RuntimeConfig.withEntrypointPath(tools),
        RuntimeConfig.withBackoffInitialInterval("100 millis"),
        RuntimeConfig.withBackoffMaxInterval("400 millis"),
        RuntimeConfig.withBackoffMaxElapsedTime("2 seconds"),
        // The spawns are counted: none ahead of a call.
        RuntimeConfig.withPrespawn(0),
        ...options
      )
    )
  )

describe("ToolRuntime backoff (TestClock)", () => {
  it.scoped("retries spawn failures at +100, +200, +400 ms, then succeeds", () =>
    Effect.gen(function*() {
      const { spawner, state } = flakySpawner(3, "throw")
      const runtime = yield* Layer.build(runtimeLayer(spawner)).pipe(Effect.map(Context.get(ToolRuntime.ToolRuntime)))
      const fiber = yield* Effect.fork(runtime.execute({ toolId: "num", input: null }))
      yield* TestClock.adjust("99 millis")
      assert.strictEqual(state.attempts, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(state.attempts, 2)
      yield* TestClock.adjust("199 millis")
      assert.strictEqual(state.attempts, 2)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(state.attempts, 3)
      yield* TestClock.adjust("400 millis")
      assert.strictEqual(state.attempts, 4)
      assert.strictEqual(yield* Fiber.join(fiber), 42)
    }))

  it.scoped("caps the delay at backoffMaxInterval and gives up after backoffMaxElapsedTime", () =>
    Effect.gen(function*() {
      const { spawner, state } = flakySpawner(1_000, "throw")
      const runtime = yield* Layer.build(runtimeLayer(spawner)).pipe(Effect.map(Context.get(ToolRuntime.ToolRuntime)))
      const fiber = yield* Effect.fork(runtime.execute({ toolId: "num", input: null }))
      const seen: Array<number> = []
      for (let t = 100; t <= 3000; t += 100) {
        yield* TestClock.adjust("100 millis")
        seen.push(state.attempts)
      }
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(exit.cause.error._tag, "SpawnFailed")
      } else assert.fail(`expected SpawnFailed, got ${String(exit)}`)
      // Attempts at 0, 100, 300, 700, 1100, 1500, 1900 and 2300 ms: the retry decided at 1900 ms is the
      // last one scheduled within the 2 s budget (as in the seed's backoff: elapsed is checked per retry).
      assert.deepStrictEqual(seen.slice(0, 11), [2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5])
      assert.strictEqual(state.attempts, 8)
      assert.strictEqual(seen[seen.length - 1], 8)
    }))

  it.scoped("retries a worker that dies before its handshake", () =>
    Effect.gen(function*() {
      const { spawner, state } = flakySpawner(1, "die")
      const runtime = yield* Layer.build(runtimeLayer(spawner)).pipe(Effect.map(Context.get(ToolRuntime.ToolRuntime)))
      const fiber = yield* Effect.fork(runtime.execute({ toolId: "num", input: null }))
      // The early death is real I/O: wait (bounded) for the retry to be scheduled, then release it.
      for (let i = 0; i < 400 && state.attempts < 2; i++) {
        yield* TestClock.adjust("100 millis")
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
      }
      assert.strictEqual(state.attempts, 2)
      assert.strictEqual(yield* Fiber.join(fiber), 42)
    }))

  it.scoped("never retries tool errors", () =>
    Effect.gen(function*() {
      const { spawner, state } = flakySpawner(0, "throw")
      const runtime = yield* Layer.build(runtimeLayer(spawner)).pipe(Effect.map(Context.get(ToolRuntime.ToolRuntime)))
      const threw = yield* Effect.flip(runtime.execute({ toolId: "throws", input: null }))
      assert.strictEqual(threw._tag, "ToolThrew")
      const crashed = yield* Effect.flip(runtime.execute({ toolId: "exits", input: null }))
      assert.strictEqual(crashed._tag, "ToolCrashed")
      assert.strictEqual(state.attempts, 2)
    }))

  it.scoped("the call timeout runs on the Clock: nothing at timeout - 1 ms, ToolTimeout and a dead worker at timeout", () =>
    Effect.gen(function*() {
      const pids: Array<number> = []
      const spawner: ToolRuntime.Options["spawner"] = (command, args, options) => {
        const child = ChildProcess.spawn(command, [...args], options)
        if (child.pid !== undefined) pids.push(child.pid)
        return child
      }
      const runtime = yield* Layer.build(runtimeLayer(spawner)).pipe(Effect.map(Context.get(ToolRuntime.ToolRuntime)))
      const fiber = yield* Effect.fork(
        runtime.execute({ toolId: "sleep", input: { ms: 600_000 }, timeout: "5 seconds" })
      )
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "ToolTimeout")
      assert.strictEqual(pids.length, 1)
      let alive = true
      try {
        process.kill(pids[0]!, 0)
      } catch {
        alive = false
      }
      assert.isFalse(alive, "the timed-out worker was reaped")
    }))
})
