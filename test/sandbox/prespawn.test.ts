/**
 * Pre-started single-use workers (`RuntimeConfig.withPrespawn`, default 1): the next cold call is
 * served by a worker started ahead of it, each worker serves one call, idle ones stop after
 * `prespawnIdleTimeout` on the Clock, and nothing outlives the layer's scope.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Context, Duration, Effect, Exit, Layer, Queue, Scope, TestClock } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  awaitNoProcessMentioning,
  fixture,
  hostileEntrypoint,
  isAlive,
  isInProcessTable,
  processesMentioning,
  tempDir,
  testIsolation,
  uniqueMarker
} from "./helpers.js"

const tools = fixture("sandbox", "tools.mjs")

type Count = { readonly count: number }

const hasExited = (child: ChildProcess.ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

/** Resolves once `child` has exited (at once if it has). */
const exitOf = (child: ChildProcess.ChildProcess): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (hasExited(child)) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
  })

/** The signal `child` died of, once it has exited. */
const killedBy = (child: ChildProcess.ChildProcess): Effect.Effect<string | null> =>
  Effect.map(exitOf(child), () => child.signalCode)

/** A runtime layer whose spawner records every process it starts, in order. */
const recording = (
  runtimeType: RuntimeConfig.RuntimeType,
  options: Omit<ToolRuntime.Options, "spawner">,
  ...config: ReadonlyArray<RuntimeConfig.Option>
) =>
  Effect.gen(function*() {
    const spawned: Array<ChildProcess.ChildProcess> = []
    const starts = yield* Queue.unbounded<ChildProcess.ChildProcess>()
    const layer = ToolRuntime.layerWith({
      ...options,
      spawner: (command, args, spawnOptions) => {
        const child = ChildProcess.spawn(command, args, spawnOptions)
        spawned.push(child)
        Queue.unsafeOffer(starts, child)
        return child
      }
    }).pipe(
      Layer.provide(
        RuntimeConfig.layer(
          runtimeType,
          RuntimeConfig.withEntrypointPath(tools),
          RuntimeConfig.withIsolation(testIsolation),
          ...config
        )
      )
    )
    const scope = yield* Scope.make()
    const runtime = Context.get(yield* Layer.buildWithScope(layer, scope), ToolRuntime.ToolRuntime)
    return { runtime, scope, spawned, nextStart: Queue.take(starts) }
  })

const counter = (runtime: ToolRuntime.Service) =>
  runtime.execute({ toolId: "counter", input: null }) as Effect.Effect<Count, ToolRuntime.ToolRuntimeError>

describe.each(["node", "bun"] as const)("pre-started workers on %s", (runtimeType) => {
  it.live("the next call runs on a worker started ahead of it, used once; nothing is left when the scope closes", () =>
    Effect.gen(function*() {
      const { nextStart, runtime, scope, spawned } = yield* recording(runtimeType, {})
      const first = yield* counter(runtime)
      assert.strictEqual(first.count, 1)
      yield* nextStart // the first call's own worker
      const prestarted = yield* nextStart // started once the first call's worker is reaped, for the next one
      assert.strictEqual(spawned.length, 2)
      assert.strictEqual(
        yield* killedBy(spawned[0]!),
        "SIGKILL",
        "the first call's worker was killed, not left to exit"
      )
      assert.isFalse(hasExited(prestarted), "the pre-started worker waits")

      const second = yield* counter(runtime)
      // Served by the pre-started worker: a fresh module (count 1), and that worker has exited by now.
      assert.strictEqual(second.count, 1)
      assert.strictEqual(
        yield* killedBy(prestarted),
        "SIGKILL",
        "the pre-started worker served the call and was killed"
      )
      assert.isAtMost(spawned.length, 3, "no worker was started for the second call itself")
      const third = yield* counter(runtime)
      assert.strictEqual(third.count, 1, "every call gets a process no other call touched")

      yield* Scope.close(scope, Exit.void)
      for (const child of spawned) {
        assert.isTrue(hasExited(child), `worker ${child.pid} outlived the layer`)
        assert.isFalse(isAlive(child.pid!), `worker ${child.pid} is still in the process table`)
      }
    }))

  it.live("prespawn 0 starts a worker per call and none ahead", () =>
    Effect.gen(function*() {
      const { runtime, scope, spawned } = yield* recording(runtimeType, {}, RuntimeConfig.withPrespawn(0))
      yield* counter(runtime)
      yield* counter(runtime)
      assert.strictEqual(spawned.length, 2)
      assert.deepStrictEqual(yield* Effect.forEach(spawned, killedBy), ["SIGKILL", "SIGKILL"])
      yield* Scope.close(scope, Exit.void)
    }))

  it.live("a pooled call does not pre-start single-use workers", () =>
    Effect.gen(function*() {
      const { runtime, scope, spawned } = yield* recording(runtimeType, {})
      yield* runtime.execute({ toolId: "counter", input: null, pool: { size: 1 } })
      yield* runtime.execute({ toolId: "counter", input: null, pool: { size: 1 } })
      assert.strictEqual(spawned.length, 1)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(spawned.every(hasExited))
    }))
})

describe("pre-started workers: idle timeout", () => {
  it.effect("an idle pre-started worker is stopped after prespawnIdleTimeout on the Clock, not before", () =>
    Effect.gen(function*() {
      const { nextStart, runtime, scope } = yield* recording("node", {
        prespawnIdleTimeout: "10 seconds",
        // Keeps the watchdog's sleeps far from the idle timer's (it samples on the Clock too).
        memorySampleInterval: "1 hour"
      })
      yield* counter(runtime)
      yield* nextStart
      const prestarted = yield* nextStart
      // The idle timer is armed once the worker is registered: wait (fiber scheduling only) for a
      // sleep that ends within the timeout.
      const now = yield* Clock.currentTimeMillis
      let armed = false
      for (let i = 0; i < 10_000 && !armed; i++) {
        armed = Chunk.some(yield* TestClock.sleeps(), (at) => at <= now + 10_000)
        if (!armed) yield* Effect.yieldNow()
      }
      assert.isTrue(armed, "the idle timer was never armed")
      yield* TestClock.adjust(Duration.seconds(9))
      assert.isFalse(hasExited(prestarted), "stopped before its idle timeout")
      yield* TestClock.adjust(Duration.seconds(2))
      yield* exitOf(prestarted)
      assert.isFalse(isAlive(prestarted.pid!))
      yield* Scope.close(scope, Exit.void)
    }))
})

describe("pre-started workers: hostile tools", () => {
  const hostile = [
    RuntimeConfig.withEntrypointPath(hostileEntrypoint),
    RuntimeConfig.withToolExecutionTimeout("20 seconds")
  ]

  it.live("a grandchild a pre-started call leaves running is killed with its worker", () =>
    Effect.gen(function*() {
      const { nextStart, runtime, scope } = yield* recording("node", {}, ...hostile)
      yield* runtime.execute({ toolId: "readEnv", input: { name: "HOME" } })
      yield* nextStart
      yield* nextStart // the pre-started worker the next call runs on
      const pidFile = path.join(yield* tempDir(), "pids.json")
      const marker = uniqueMarker("prestarted")
      yield* runtime.execute({ toolId: "forkGrandchild", input: { pidFile, marker, thenReturn: true } })
      assert.deepStrictEqual(yield* awaitNoProcessMentioning(marker), [])
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.scoped))

  it.live("when execute returns every process of the call was sent SIGKILL; reaping ends before the scope closes", () =>
    Effect.gen(function*() {
      const { nextStart, runtime, scope, spawned } = yield* recording("node", {}, ...hostile)
      yield* runtime.execute({ toolId: "readEnv", input: { name: "HOME" } })
      yield* nextStart
      yield* nextStart
      const file = path.join(yield* tempDir(), "heartbeat")
      const marker = uniqueMarker("heartbeat")
      // The tool returns while a detached grandchild (its own session) appends to `file` in a tight loop.
      yield* runtime.execute({ toolId: "heartbeat", input: { file, marker } })
      const atReturn = fs.statSync(file).size
      // Closing the scope waits for every background reap: then nothing of any call is left.
      yield* Scope.close(scope, Exit.void)
      const afterClose = fs.statSync(file).size
      // At most the one append in flight when the signal landed; a live grandchild appends thousands.
      assert.isAtMost(afterClose - atReturn, 1, "a process of the call ran on after execute returned")
      assert.deepStrictEqual(processesMentioning(marker), [])
      for (const child of spawned) assert.isFalse(isInProcessTable(child.pid!), `worker ${child.pid} not reaped`)
    }).pipe(Effect.scoped))

  it.live("a call's env reaches its pre-started worker, and not the worker of the next call", () =>
    Effect.gen(function*() {
      const { nextStart, runtime, scope } = yield* recording("node", {}, ...hostile)
      yield* runtime.execute({ toolId: "readEnv", input: { name: "HOME" } })
      yield* nextStart
      yield* nextStart
      const withEnv = yield* runtime.execute({
        toolId: "readEnv",
        input: { name: "ES_PRESTART_CALL_VAR" },
        env: { ES_PRESTART_CALL_VAR: "only-this-call" }
      })
      assert.strictEqual(withEnv, "only-this-call")
      yield* nextStart
      const next = yield* runtime.execute({ toolId: "readEnv", input: { name: "ES_PRESTART_CALL_VAR" } })
      assert.isNull(next)
      yield* Scope.close(scope, Exit.void)
    }))

  it.live("a pre-started worker that times out is killed; the next call still works", () =>
    Effect.gen(function*() {
      const { nextStart, runtime, scope, spawned } = yield* recording("node", {}, ...hostile)
      yield* runtime.execute({ toolId: "readEnv", input: { name: "HOME" } })
      yield* nextStart
      const prestarted = yield* nextStart
      const error = yield* Effect.flip(runtime.execute({ toolId: "infiniteLoop", input: null, timeout: "1500 millis" }))
      assert.strictEqual(error._tag, "ToolTimeout")
      assert.isTrue(hasExited(prestarted))
      assert.strictEqual(yield* runtime.execute({ toolId: "readEnv", input: { name: "ES_NOT_SET_ANYWHERE" } }), null)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(spawned.every(hasExited))
    }))
})
