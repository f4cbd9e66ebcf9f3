/**
 * Pre-started single-use workers (`RuntimeConfig.withPrespawn`, default 1): the next cold call is
 * served by a worker started ahead of it, each worker serves one call, idle ones stop after
 * `prespawnIdleTimeout` on the Clock, and nothing outlives the layer's scope.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Context, Duration, Effect, Exit, Fiber, Layer, Queue, Scope, TestClock } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  awaitDefined,
  awaitNoProcessMentioning,
  fixture,
  hostileEntrypoint,
  isAlive,
  isFrozenOrGone,
  isInProcessTable,
  osIsolated,
  processesMentioning,
  readPidFile,
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

  it.live("when execute returns every process of the call is stopped; killing and reaping end before the scope closes", () =>
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
      // Frozen (SIGSTOP) or already gone: SIGKILL and its teardown come after the caller has the result.
      for (const pid of processesMentioning(marker)) {
        assert.isTrue(isFrozenOrGone(pid), `process ${pid} of the call can still run after execute returned`)
      }
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

/**
 * E1, E3 and E6 of issue 13 with `prespawn: 1` (the hostile suites pin 0), under both isolation
 * strategies where they work here: each call below is served by a worker started ahead of it.
 */
describe.each(osIsolated ? ["runtime", "os"] as const : ["runtime"] as const)(
  "pre-started workers: escapes under isolation %s",
  (isolation) => {
    const hostile = [
      RuntimeConfig.withEntrypointPath(hostileEntrypoint),
      RuntimeConfig.withToolExecutionTimeout("20 seconds"),
      RuntimeConfig.withIsolation(isolation),
      RuntimeConfig.withPrespawn(1)
    ]
    /** A layer whose next call is served by a pre-started worker (returned, once it has been spawned). */
    const prestartedLayer = Effect.gen(function*() {
      const recorded = yield* recording("node", {}, ...hostile)
      yield* recorded.runtime.execute({ toolId: "readEnv", input: { name: "HOME" } })
      yield* recorded.nextStart // that call's own worker
      const prestarted = yield* recorded.nextStart // started ahead, for the next call
      return { ...recorded, prestarted }
    })

    it.live("E1: a call's env never reaches any /proc/<pid>/environ, nor does the host's", () =>
      Effect.gen(function*() {
        const { runtime, scope } = yield* prestartedLayer
        const secret = `es-e1-prestart-${Date.now()}`
        const pidFile = path.join(yield* tempDir(), "pids.json")
        // The pre-started worker gets the secret with its call (not in its environment) and keeps running.
        const holder = yield* Effect.fork(runtime.execute({
          toolId: "spin",
          input: { pidFile },
          env: { ES_E1_PRESTART_SECRET: secret },
          timeout: "60 seconds"
        }))
        assert.isDefined(yield* awaitDefined(() => readPidFile(pidFile).worker), "the holder started")
        const seen = (yield* runtime.execute({ toolId: "procEnviron", input: { needle: secret } })) as {
          readonly found: ReadonlyArray<number>
        }
        assert.deepStrictEqual(seen.found, [], "a call's env was readable in another process's environ")
        yield* Fiber.interrupt(holder)
        if (isolation === "os") {
          // The host's own environment (a decoy started with a secret stands for it) is out of sight too.
          const hostSecret = `es-e1-host-${Date.now()}`
          const decoy = ChildProcess.spawn("/bin/sh", ["-c", "sleep 60"], {
            env: { PATH: "/usr/bin:/bin", ES_E1_HOST_SECRET: hostSecret }
          })
          yield* Effect.addFinalizer(() => Effect.sync(() => decoy.kill("SIGKILL")))
          const host = (yield* runtime.execute({ toolId: "procEnviron", input: { needle: hostSecret } })) as {
            readonly found: ReadonlyArray<number>
          }
          assert.deepStrictEqual(host.found, [], "the host's environment was readable")
        } else {
          // Read access to /proc next to a withheld environment cannot hold: refused up front, workers waiting or not.
          const refused = yield* Effect.flip(runtime.execute({
            toolId: "procEnviron",
            input: { needle: secret },
            runtime: [RuntimeConfig.withPermissions(["--allow-read", "--allow-net"])]
          }))
          assert.strictEqual(refused._tag, "PermissionUnenforceable")
        }
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.scoped))

    it.live("E3: a tool cannot rewrite the worker script the next pre-started worker runs", () =>
      Effect.gen(function*() {
        const { nextStart, runtime, scope } = yield* prestartedLayer
        if (isolation === "runtime") {
          // A write grant covering the sandbox's private directory next to a restriction: refused up front.
          const refused = yield* Effect.flip(runtime.execute({
            toolId: "overwriteWorker",
            input: null,
            runtime: [RuntimeConfig.withPermissions(["--allow-read=/nonexistent-es", "--allow-write", "--allow-net"])]
          }))
          assert.strictEqual(refused._tag, "PermissionUnenforceable")
        } else {
          const outcome = yield* Effect.either(runtime.execute({ toolId: "overwriteWorker", input: null }))
          assert.isTrue(outcome._tag === "Left" && outcome.left._tag === "ToolThrew", JSON.stringify(outcome))
          yield* nextStart // the next worker, started after the tampering attempt
        }
        // The next call, on a worker started ahead of it, still runs the real worker script.
        assert.strictEqual(yield* runtime.execute({ toolId: "readEnv", input: { name: "ES_NOTHING" } }), null)
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.scoped))

    it.live("E6: an interrupted pre-started call kills its worker, and the next call gets a fresh one", () =>
      Effect.gen(function*() {
        const { prestarted, runtime, scope } = yield* prestartedLayer
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const fiber = yield* Effect.fork(runtime.execute({ toolId: "spin", input: { pidFile }, timeout: "60 seconds" }))
        const spinning = yield* awaitDefined(() => readPidFile(pidFile).worker)
        assert.isDefined(spinning, "the tool started spinning")
        yield* Fiber.interrupt(fiber)
        assert.isTrue(hasExited(prestarted), "the interrupted call returned before its worker was reaped")
        assert.strictEqual(prestarted.signalCode, "SIGKILL")
        // Served by another process (that one is dead): back in service, it would time this call out.
        const next = (yield* runtime.execute({ toolId: "whereami", input: null, timeout: "15 seconds" })) as {
          readonly pid: number
        }
        assert.isNumber(next.pid)
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.scoped))
  }
)
