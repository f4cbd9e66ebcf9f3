import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const tools = path.resolve(here, "..", "fixtures", "sandbox", "tools.mjs")

const runtimes = ["bun", "node", "deno"] as const

const provide = (runtimeType: string, ...options: ReadonlyArray<RuntimeConfig.Option>) =>
  Effect.provide(
    ToolRuntime.layerWith({ killGrace: "500 millis" }).pipe(
      Layer.provide(RuntimeConfig.layer(runtimeType, RuntimeConfig.withEntrypointPath(tools), ...options))
    )
  )

/** The mode of `file`, or undefined once it is gone (a reaped call's scratch is removed in the background). */
const attemptStat = (file: string): number | undefined => {
  try {
    return fs.statSync(file).mode
  } catch {
    return undefined
  }
}

const isAlive = (pid: number): boolean => {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0]
    return state !== undefined && state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** Live workers started by this test process (other suites may run workers concurrently). */
const workerPids = (): Array<number> =>
  fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1])
      return ppid === process.pid && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("effect-swarm-") &&
        isAlive(pid)
    } catch {
      return false
    }
  })

describe.each(runtimes)("ToolRuntime on %s", (runtimeType) => {
  it.live("round-trips values, module shapes and own-property lookup", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const run = (toolId: string, input: unknown = {}, config?: unknown) =>
        runtime.execute({ toolId, input, ...(config !== undefined ? { config } : {}) }).pipe(Effect.either)
      const results = yield* Effect.all({
        echo: run("echo", { a: [1, "ü"] }, { k: true }),
        echoNoConfig: run("echo", 5),
        undef: run("undef"),
        nul: run("nul"),
        num: run("num"),
        str: run("str"),
        bool: run("bool"),
        arr: run("arr"),
        named: run("named", "n"),
        handlers: run("fromHandlers", 1),
        ctor: run("constructor"),
        toString: run("toString"),
        missing: run("missing")
      }, { concurrency: 4 })
      assert.deepStrictEqual(
        results.echo,
        Either.right({ input: { a: [1, "ü"] }, config: { k: true }, toolId: "echo" })
      )
      assert.deepStrictEqual(results.echoNoConfig, Either.right({ input: 5, config: "<undefined>", toolId: "echo" }))
      assert.isTrue(Either.isRight(results.undef))
      assert.strictEqual(Either.getOrThrow(results.undef), undefined)
      assert.deepStrictEqual(results.nul, Either.right(null))
      assert.deepStrictEqual(results.num, Either.right(42))
      assert.deepStrictEqual(results.str, Either.right("héllo ✓ 🚀"))
      assert.deepStrictEqual(results.bool, Either.right(false))
      assert.deepStrictEqual(results.arr, Either.right([1, "two", { three: 3 }]))
      assert.deepStrictEqual(results.named, Either.right({ named: "n" }))
      assert.deepStrictEqual(results.handlers, Either.right({ handlers: 1 }))
      for (const key of ["ctor", "toString", "missing"] as const) {
        const r = results[key]
        assert.isTrue(Either.isLeft(r) && r.left._tag === "ToolNotFound", key)
        if (Either.isLeft(r) && r.left._tag === "ToolNotFound") {
          assert.include(r.left.available, "echo")
          assert.include(r.left.available, "named")
          assert.include(r.left.available, "fromHandlers")
          assert.notInclude(r.left.available, "handlers")
        }
      }
    }).pipe(provide(runtimeType)))

  it.live("keeps console output out of the result and returns it as logs", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const detailed = yield* runtime.executeDetailed({ toolId: "noisy", input: null })
      assert.deepStrictEqual(detailed.result, { ok: true })
      assert.include(detailed.stdout, "a log line")
      assert.include(detailed.stdout, "garbage without newline")
      assert.include(detailed.stderr, "to stderr")
      const big = yield* runtime.execute({ toolId: "big", input: { size: 3 * 1024 * 1024 } })
      assert.strictEqual((big as string).length, 3 * 1024 * 1024)
    }).pipe(provide(runtimeType)))

  it.live("reports throws, exits and unserialisable results as typed errors", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const threw = yield* Effect.flip(runtime.execute({ toolId: "throws", input: 1 }))
      assert.strictEqual(threw._tag, "ToolThrew")
      if (threw._tag === "ToolThrew") {
        assert.strictEqual(threw.name, "TypeError")
        assert.strictEqual(threw.message, "bad input")
        assert.strictEqual(threw.code, "E_BAD")
        assert.strictEqual(threw.suggestion, "pass a number")
        assert.strictEqual(threw.helpUrl, "https://example.com/help")
        assert.include(threw.stack ?? "", "bad input")
      }
      const plain = yield* Effect.flip(runtime.execute({ toolId: "rejectsString", input: 1 }))
      assert.isTrue(plain._tag === "ToolThrew" && plain.message === "plain string")
      const exited = yield* Effect.flip(runtime.execute({ toolId: "exits", input: 1 }))
      assert.isTrue(exited._tag === "ToolCrashed" && exited.exitCode === 7, JSON.stringify(exited))
      const bigint = yield* Effect.flip(runtime.execute({ toolId: "bigint", input: 1 }))
      assert.isTrue(bigint._tag === "ToolThrew" && bigint.name === "TypeError")
    }).pipe(provide(runtimeType)))

  it.live("builds the child environment from an allowlist", () =>
    Effect.gen(function*() {
      process.env.EFFECT_SWARM_TEST_SECRET = "hunter2"
      process.env.EFFECT_SWARM_TEST_GRANTED = "granted"
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          delete process.env.EFFECT_SWARM_TEST_SECRET
          delete process.env.EFFECT_SWARM_TEST_GRANTED
        })
      )
      const runtime = yield* ToolRuntime.ToolRuntime
      const names = ["CALL_VAR", "EFFECT_SWARM_TEST_GRANTED", "EFFECT_SWARM_TEST_SECRET", "PATH", "HOME", "TMPDIR"]
      const seen = (yield* runtime.execute({ toolId: "env", input: { names }, env: { CALL_VAR: "v" } })) as {
        callEnv: Record<string, string>
        process: Record<string, string>
      }
      assert.deepStrictEqual(seen.callEnv, { CALL_VAR: "v" })
      assert.strictEqual(seen.process.CALL_VAR, "v")
      assert.strictEqual(seen.process.EFFECT_SWARM_TEST_GRANTED, "granted")
      assert.include(["<unset>", "<denied>"], seen.process.EFFECT_SWARM_TEST_SECRET)
      assert.notInclude(["<unset>", "<denied>"], seen.process.PATH)
      assert.notStrictEqual(seen.process.HOME, process.env.HOME)
      assert.strictEqual(seen.process.HOME, seen.process.TMPDIR)
      // Pooled workers see a call's variables in process.env / Deno.env for that call only, on every
      // runtime (Deno pools are started with --allow-env for the call's names).
      const pool = { size: 1 }
      const pooled = (yield* runtime.execute({
        toolId: "env",
        input: { names: ["CALL_VAR"] },
        env: { CALL_VAR: "pooled" },
        pool
      })) as { callEnv: Record<string, string>; process: Record<string, string> }
      assert.deepStrictEqual(pooled.callEnv, { CALL_VAR: "pooled" })
      assert.strictEqual(pooled.process.CALL_VAR, "pooled")
      const next = (yield* runtime.execute({
        toolId: "env",
        input: { names: ["CALL_VAR"] },
        env: { CALL_VAR: "again" },
        pool
      })) as { process: Record<string, string> }
      assert.strictEqual(next.process.CALL_VAR, "again")
      const without = (yield* runtime.execute({ toolId: "env", input: { names: ["CALL_VAR"] }, pool })) as {
        process: Record<string, string>
      }
      assert.include(["<unset>", "<denied>"], without.process.CALL_VAR)
      const blocked = yield* Effect.flip(runtime.execute({ toolId: "env", input: null, env: { LD_PRELOAD: "/x.so" } }))
      assert.strictEqual(blocked._tag, "InvalidToolEnv")
      const newline = yield* Effect.flip(runtime.execute({ toolId: "env", input: null, env: { OK: "a\nb" } }))
      assert.strictEqual(newline._tag, "InvalidToolEnv")
      const badName = yield* Effect.flip(runtime.execute({ toolId: "env", input: null, env: { "A-B": "x" } }))
      assert.strictEqual(badName._tag, "InvalidToolEnv")
    }).pipe(
      provide(
        runtimeType,
        RuntimeConfig.withPermissions([
          "--allow-read",
          "--allow-write",
          "--allow-net",
          "--allow-run",
          "--allow-env=EFFECT_SWARM_TEST_GRANTED,PATH,HOME,TMPDIR"
        ])
      ),
      Effect.scoped
    ))

  it.live("kills and reaps the process group on timeout", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const before = new Set(workerPids())
      const error = yield* Effect.flip(runtime.execute({ toolId: "loop", input: null, timeout: "1500 millis" }))
      assert.strictEqual(error._tag, "ToolTimeout")
      const leftovers = workerPids().filter((pid) => !before.has(pid))
      assert.deepStrictEqual(leftovers, [])
    }).pipe(provide(runtimeType)))

  it.live("interrupting execute kills the worker", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const before = new Set(workerPids())
      const fiber = yield* Effect.fork(runtime.execute({ toolId: "sleep", input: { ms: 60_000 } }))
      // Wait (bounded) until the worker exists, then interrupt.
      for (let i = 0; i < 200 && workerPids().every((pid) => before.has(pid)); i++) yield* Effect.sleep("25 millis")
      const exit = yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(workerPids().filter((pid) => !before.has(pid)), [])
    }).pipe(provide(runtimeType)))
})

describe("ToolRuntime limits", () => {
  it.live("the RSS watchdog kills a tool over maxMemoryMB (bun, node off-heap)", () =>
    Effect.gen(function*() {
      for (const runtimeType of ["bun", "node"] as const) {
        const error = yield* Effect.flip(
          Effect.flatMap(ToolRuntime.ToolRuntime, (r) => r.execute({ toolId: "alloc", input: { mb: 600 } })).pipe(
            provide(runtimeType, RuntimeConfig.withMaxMemoryMB(160))
          )
        )
        assert.strictEqual(error._tag, "ToolMemoryExceeded", runtimeType)
        if (error._tag === "ToolMemoryExceeded") {
          assert.strictEqual(error.limitMB, 160)
          assert.isAtLeast(error.peakMB, 1)
        }
      }
    }))

  it.live("refuses unenforceable permissions, or warns and runs with permissionPolicy warn (runtime isolation)", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(
        Effect.flatMap(ToolRuntime.ToolRuntime, (r) => r.execute({ toolId: "num", input: null })).pipe(
          provide("bun", RuntimeConfig.withPermissions(["--allow-read=/tmp"]), RuntimeConfig.withIsolation("runtime"))
        )
      )
      assert.isTrue(refused._tag === "PermissionUnenforceable" && refused.permission === "read")
      const nodeNet = yield* Effect.flip(
        Effect.flatMap(ToolRuntime.ToolRuntime, (r) => r.execute({ toolId: "num", input: null })).pipe(
          provide(
            "node",
            RuntimeConfig.withPermissions(["--allow-read", "--allow-write", "--allow-run", "--allow-env"]),
            RuntimeConfig.withIsolation("runtime")
          )
        )
      )
      assert.isTrue(nodeNet._tag === "PermissionUnenforceable" && nodeNet.permission === "net")
      const warned = yield* Effect.flatMap(ToolRuntime.ToolRuntime, (r) => r.execute({ toolId: "num", input: null }))
        .pipe(
          provide(
            "bun",
            RuntimeConfig.withPermissions(["--allow-read=/tmp"]),
            RuntimeConfig.withPermissionPolicy("warn"),
            RuntimeConfig.withIsolation("runtime")
          )
        )
      assert.strictEqual(warned, 42)
    }))

  it.live("per-call runtime overrides are applied and re-validated", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const onDeno = yield* runtime.execute({
        toolId: "num",
        input: null,
        runtime: [RuntimeConfig.withRuntimeType("deno")]
      })
      assert.strictEqual(onDeno, 42)
      const invalid = yield* Effect.flip(
        runtime.execute({ toolId: "num", input: null, runtime: [RuntimeConfig.withMaxMemoryMB(-1)] })
      )
      assert.strictEqual(invalid._tag, "InvalidRuntimeConfig")
      const empty = yield* Effect.flip(
        runtime.execute({ toolId: "num", input: null, runtime: [RuntimeConfig.withEntrypointPath("")] })
      )
      assert.isTrue(empty._tag === "ToolNotFound" && empty.available.length === 0)
    }).pipe(provide("node")))

  it.live("a broken entrypoint is EntrypointLoadFailed, not retried", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "es-rt-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const entry = path.join(dir, "broken.mjs")
      fs.writeFileSync(entry, "export const x = () => 1\nthrow new SyntaxError('top-level boom')\n")
      const error = yield* Effect.flip(
        Effect.flatMap(ToolRuntime.ToolRuntime, (r) => r.execute({ toolId: "x", input: null })).pipe(
          provide("node", RuntimeConfig.withEntrypointPath(entry))
        )
      )
      assert.isTrue(error._tag === "EntrypointLoadFailed" && error.message === "top-level boom", JSON.stringify(error))
    }).pipe(Effect.scoped))

  it.live("the private directory is 0700, the worker file has workerFilePerm, both vanish with the scope", () =>
    Effect.gen(function*() {
      const before = new Set(fs.readdirSync(fs.realpathSync(process.env.TMPDIR ?? "/tmp")))
      let dirs: Array<string> = []
      yield* Effect.gen(function*() {
        const runtime = yield* ToolRuntime.ToolRuntime
        yield* runtime.execute({ toolId: "num", input: null })
        const tmp = fs.realpathSync(process.env.TMPDIR ?? "/tmp")
        // Only this process's directories: other test files (and other users of the machine) create theirs.
        const ours = (dir: string) => {
          try {
            return fs.readFileSync(path.join(dir, "owner"), "utf8").startsWith(`${process.pid} `)
          } catch {
            return false
          }
        }
        dirs = fs.readdirSync(tmp).filter((n) => n.startsWith("effect-swarm-") && !before.has(n)).map((n) =>
          path.join(tmp, n)
        ).filter(ours)
        assert.strictEqual(dirs.length, 1)
        assert.strictEqual(fs.statSync(dirs[0]!).mode & 0o777, 0o700)
        assert.strictEqual(fs.statSync(path.join(dirs[0]!, "worker", "worker.mjs")).mode & 0o777, 0o640)
        // Scratch directories of live workers (a pre-started one, a call still being reaped) are private
        // too, and so are the files a cold Bun call's init and call came in.
        for (const scratch of fs.readdirSync(path.join(dirs[0]!, "calls"))) {
          const mode = attemptStat(path.join(dirs[0]!, "calls", scratch))
          if (mode !== undefined) assert.strictEqual(mode & 0o777, scratch.endsWith(".call") ? 0o600 : 0o700)
        }
      }).pipe(provide("bun", RuntimeConfig.withWorkerFilePerm(0o640)))
      for (const dir of dirs) assert.isFalse(fs.existsSync(dir))
    }))

  it.live("a new layer removes the private directories of dead processes, and only those", () =>
    Effect.gen(function*() {
      const tmp = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? "/tmp"), "es-sweep-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(tmp, { recursive: true, force: true })))
      // A pid that certainly belonged to a process that is gone now.
      const dead = spawnSync(process.execPath, ["-e", ""]).pid!
      const startTime = fs.readFileSync(`/proc/${process.pid}/stat`, "latin1").split(") ")[1]!.split(" ")[19]!
      const leave = (name: string, owner: string | undefined, ageMs = 0) => {
        const dir = path.join(tmp, name)
        fs.mkdirSync(path.join(dir, "worker"), { recursive: true })
        if (owner !== undefined) fs.writeFileSync(path.join(dir, "owner"), owner)
        const when = new Date(Date.now() - ageMs)
        fs.utimesSync(dir, when, when)
        return dir
      }
      const gone = leave("effect-swarm-dead01", `${dead} 123\n`)
      const reused = leave("effect-swarm-reused", `${process.pid} ${Number(startTime) + 1}\n`) // pid reused
      const mine = leave("effect-swarm-mine01", `${process.pid} ${startTime}\n`)
      const parent = leave("effect-swarm-parent", `${process.ppid}\n`)
      const fresh = leave("effect-swarm-fresh1", undefined)
      const old = leave("effect-swarm-old001", undefined, 2 * 24 * 3600 * 1000)
      const other = leave("not-ours-dead01", `${dead}\n`)
      yield* Effect.gen(function*() {
        yield* ToolRuntime.ToolRuntime
        const ours = fs.readdirSync(tmp).filter((n) => n.startsWith("effect-swarm-"))
        // The layer's own directory, plus the ones whose owner may still be alive.
        assert.strictEqual(ours.length, 4)
        for (const dir of [gone, reused, old]) assert.isFalse(fs.existsSync(dir), dir)
        for (const dir of [mine, parent, fresh, other]) assert.isTrue(fs.existsSync(dir), dir)
        const own = ours.map((n) => path.join(tmp, n)).find((d) => ![mine, parent, fresh].includes(d))!
        assert.match(fs.readFileSync(path.join(own, "owner"), "utf8"), new RegExp(`^${process.pid} ${startTime}\\n$`))
      }).pipe(
        Effect.provide(
          ToolRuntime.layerWith({ tempRoot: tmp }).pipe(
            Layer.provide(RuntimeConfig.layer("node", RuntimeConfig.withEntrypointPath(tools)))
          )
        )
      )
    }).pipe(Effect.scoped))
})
