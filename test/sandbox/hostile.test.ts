/**
 * The hostile tool suite (issue 6): real Bun, Node and Deno workers running
 * test/fixtures/hostile/tools.mjs. Every case must end with the right typed error (or refusal), with
 * no process left behind (process table: pid files, /proc cmdline scan, our own children), the call's
 * private scratch directory removed, and the layer's private directory removed when its scope closes.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  allBut,
  awaitDead,
  awaitDefined,
  awaitGone,
  awaitNamespaceEmpty,
  awaitNoChildren,
  awaitNoProcessMentioning,
  execute,
  fixture,
  hostEnv,
  hostileRuntime,
  isForeignNamespace,
  isGone,
  killQuietly,
  onHost,
  osIsolated,
  processesMentioning,
  readPidFile,
  runtimes,
  tcpServer,
  tempDir,
  uniqueMarker,
  workerPrivatePaths
} from "./helpers.js"

const hangOnImport = fixture("hostile", "hang-on-import.mjs")
const noisyImport = fixture("hostile", "noisy-import.mjs")

/** Timeout for the cases that never answer: long enough for a loaded machine to start the tool. */
const hangTimeout = "2 seconds"

const runtimeLayer = hostileRuntime

interface WhereAmI {
  readonly pid: number
  readonly pidns: string | null
  readonly argv: ReadonlyArray<string>
  readonly tmpdir: string
  readonly home: string | null
  readonly tmpdirEnv: string | null
  readonly envKeys: ReadonlyArray<string>
}

const whereami = execute({ toolId: "whereami", input: null }).pipe(Effect.map((info) => onHost(info as WhereAmI)))

/** The failure of `self`, dying with the value when it unexpectedly succeeded. */
const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.matchEffect({
      onSuccess: (value) =>
        Effect.dieMessage(`expected a failure, got success: ${JSON.stringify(value)?.slice(0, 300)}`),
      onFailure: Effect.succeed
    })
  )

/** Every worker is reaped (in the background, once its call returned): this process has no child left,
 * not even a zombie. */
const assertNoChildren = Effect.map(
  awaitNoChildren(),
  (left) => assert.deepStrictEqual(left, [], "a worker was left running or unreaped")
)

/**
 * After a hostile call: the pids it reported are dead (bounded wait for signal delivery; survivors
 * are killed so one failure does not cascade), its private TMPDIR is gone, and nothing is left
 * among our children.
 */
const assertCleanedUp = (pidFile: string, expected: ReadonlyArray<"worker" | "grandchild">) =>
  Effect.gen(function*() {
    const pids = readPidFile(pidFile)
    const known = expected.map((key) => pids[key])
    assert.isTrue(
      known.every((p) => typeof p === "number"),
      `the tool did not report its pids: ${JSON.stringify(pids)}`
    )
    const survivors = yield* awaitDead(known as Array<number>)
    killQuietly(survivors)
    assert.deepStrictEqual(survivors, [], "processes left behind")
    if (isForeignNamespace(pids.pidns)) {
      // Under the OS sandbox: the whole pid namespace is gone, whatever the tool started in it.
      const left = yield* awaitNamespaceEmpty(pids.pidns)
      killQuietly(left)
      assert.deepStrictEqual(left, [], "processes left in the call's pid namespace")
    }
    if (typeof pids.tmpdir === "string") {
      assert.isTrue(yield* awaitGone(pids.tmpdir), `call scratch left: ${pids.tmpdir}`)
    }
    yield* assertNoChildren
  })

const isPermissionError = (error: { readonly _tag: string }): boolean =>
  error instanceof ToolRuntime.ToolThrew &&
  (error.code === "ERR_ACCESS_DENIED" || error.name === "NotCapable" || error.name === "PermissionDenied" ||
    // Under the OS sandbox a path outside the grants is not mounted (ENOENT) or mounted read-only (EROFS).
    (osIsolated && (["ENOENT", "EROFS", "EACCES"].includes(error.code ?? "") ||
      ["NotFound", "ReadOnly", "ReadOnlyFileSystem"].includes(error.name) ||
      /read-only file system|no such file/i.test(error.message))))

describe.each(runtimes)("hostile tools on %s", (runtime) => {
  it.scopedLive("the layer's private directory and the worker are gone once the scope closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const pidFile = path.join(dir, "pids.json")
      const { error, info } = yield* Effect.gen(function*() {
        const info = yield* whereami
        // While the layer lives, its worker script and directories are private to this user.
        for (const p of workerPrivatePaths(info).filter((p) => fs.existsSync(p))) {
          const mode = fs.statSync(p).mode & 0o777
          assert.strictEqual(mode & 0o077, 0, `${p} is accessible to others (mode ${mode.toString(8)})`)
        }
        const error = yield* failureOf(execute({ toolId: "infiniteLoop", input: { pidFile }, timeout: hangTimeout }))
        return { info, error }
      }).pipe(Effect.provide(runtimeLayer(runtime)))
      assert.strictEqual(error._tag, "ToolTimeout")
      const privatePaths = workerPrivatePaths(info)
      assert.isAbove(privatePaths.length, 0, `the worker reported no private path: ${JSON.stringify(info)}`)
      for (const p of privatePaths) assert.isTrue(isGone(p), `worker temp path left behind: ${p}`)
      yield* assertCleanedUp(pidFile, ["worker"])
    }))

  it.scopedLive("a warm pool replaces a worker killed by a hostile call, and nothing outlives the scope", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const pidFile = path.join(dir, "pids.json")
      const leftoverPids = path.join(dir, "leftover.json")
      const marker = uniqueMarker("pool")
      const pool = { size: 1 }
      const seen = yield* Effect.gen(function*() {
        const first = yield* execute({ toolId: "whereami", input: null, pool }).pipe(
          Effect.map((i) => onHost(i as WhereAmI))
        )
        const again = yield* execute({ toolId: "whereami", input: null, pool }).pipe(
          Effect.map((i) => onHost(i as WhereAmI))
        )
        assert.strictEqual(again.pid, first.pid, "the pooled worker is reused")
        const error = yield* failureOf(
          execute({ toolId: "infiniteLoop", input: { pidFile }, timeout: hangTimeout, pool })
        )
        assert.strictEqual(error._tag, "ToolTimeout")
        const reported = readPidFile(pidFile)
        if (isForeignNamespace(first.pidns)) assert.strictEqual(reported.pidns, first.pidns)
        else assert.strictEqual(reported.worker, first.pid)
        const survivors = yield* awaitDead([first.pid])
        killQuietly(survivors)
        assert.deepStrictEqual(survivors, [], "the timed-out pooled worker is killed")
        const replacement = yield* execute({ toolId: "whereami", input: null, pool }).pipe(
          Effect.map((i) => onHost(i as WhereAmI))
        )
        assert.notStrictEqual(replacement.pid, first.pid, "a fresh worker replaces the killed one")
        // A grandchild left behind by a successful pooled call lives as long as its worker...
        yield* execute({ toolId: "forkGrandchild", input: { pidFile: leftoverPids, marker, thenReturn: true }, pool })
        return { replacement, leftover: readPidFile(leftoverPids) }
      }).pipe(Effect.provide(runtimeLayer(runtime)))
      // ...and both are gone once the layer's scope closes, with every private file.
      const survivors = yield* awaitDead([seen.replacement.pid, seen.leftover.grandchild ?? -1])
      killQuietly(survivors)
      assert.deepStrictEqual(survivors, [], "pooled worker or its grandchild outlived the scope")
      assert.deepStrictEqual(yield* awaitNoProcessMentioning(marker), [])
      for (const p of workerPrivatePaths(seen.replacement)) assert.isTrue(isGone(p), `left behind: ${p}`)
      yield* assertNoChildren
    }))

  layer(runtimeLayer(runtime), { excludeTestServices: true })((it) => {
    it.effect("the worker gets a private HOME and TMPDIR, not the host's", () =>
      Effect.gen(function*() {
        const info = yield* whereami
        assert.isString(info.home)
        assert.isString(info.tmpdirEnv)
        assert.notStrictEqual(info.home, process.env.HOME)
        assert.notStrictEqual(info.tmpdirEnv, process.env.TMPDIR ?? null)
        assert.strictEqual(info.home, info.tmpdirEnv)
        yield* assertNoChildren
      }))

    it.scoped("an infinite loop ends in ToolTimeout and the worker is dead", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const error = yield* failureOf(execute({ toolId: "infiniteLoop", input: { pidFile }, timeout: hangTimeout }))
        assert.strictEqual(error._tag, "ToolTimeout")
        if (error._tag === "ToolTimeout") {
          assert.strictEqual(error.toolId, "infiniteLoop")
          // Unlike the seed, the timeout keeps what the tool said last.
          assert.include(error.stderrTail, "last words before the infinite loop")
        }
        yield* assertCleanedUp(pidFile, ["worker"])
      }))

    it.scoped("a busy loop ignoring SIGTERM ends in ToolTimeout (SIGKILL after the grace)", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const error = yield* failureOf(execute({ toolId: "ignoreSigterm", input: { pidFile }, timeout: hangTimeout }))
        assert.strictEqual(error._tag, "ToolTimeout")
        yield* assertCleanedUp(pidFile, ["worker"])
      }))

    it.scoped("a forked long-lived grandchild (ignoring SIGTERM, holding stdout) dies with the worker", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const marker = uniqueMarker("grandchild")
        const error = yield* failureOf(
          execute({ toolId: "forkGrandchild", input: { pidFile, marker }, timeout: hangTimeout })
        )
        assert.strictEqual(error._tag, "ToolTimeout")
        yield* assertCleanedUp(pidFile, ["worker", "grandchild"])
        const survivors = yield* awaitNoProcessMentioning(marker)
        killQuietly(survivors)
        assert.deepStrictEqual(survivors, [], "no process mentioning the marker survives")
      }))

    it.scoped("a grandchild still running when the call succeeds is killed with the worker", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const marker = uniqueMarker("leftover")
        const result = yield* execute({ toolId: "forkGrandchild", input: { pidFile, marker, thenReturn: true } })
        assert.deepStrictEqual(result, { grandchild: JSON.parse(fs.readFileSync(pidFile, "utf8")).grandchild })
        yield* assertCleanedUp(pidFile, ["worker", "grandchild"])
        assert.deepStrictEqual(yield* awaitNoProcessMentioning(marker), [])
      }))

    // A grandchild that leaves the worker's process group (spawn({ detached: true }), i.e. setsid) is
    // still a descendant: the host kills every descendant it finds, not only the group. Host-side
    // logic, so one runtime is enough.
    if (runtime === "node") {
      it.scoped("a grandchild that escapes the process group (setsid) is killed on timeout", () =>
        Effect.gen(function*() {
          const pidFile = path.join(yield* tempDir(), "pids.json")
          const marker = uniqueMarker("detached")
          const error = yield* failureOf(
            execute({ toolId: "forkGrandchild", input: { pidFile, marker, detached: true }, timeout: hangTimeout })
          )
          assert.strictEqual(error._tag, "ToolTimeout")
          // Survivors are killed before failing, so a regression leaves nothing running on the machine.
          yield* assertCleanedUp(pidFile, ["worker", "grandchild"])
          killQuietly(processesMentioning(marker))
        }))
    }

    it.scoped("an entrypoint that never finishes loading ends in ToolTimeout and dies", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const error = yield* failureOf(execute({
          toolId: "never",
          input: null,
          timeout: hangTimeout,
          env: { ES_HOSTILE_PIDFILE: pidFile },
          runtime: [RuntimeConfig.withEntrypointPath(hangOnImport)]
        }))
        assert.strictEqual(error._tag, "ToolTimeout", JSON.stringify(error))
        yield* assertCleanedUp(pidFile, ["worker"])
      }))

    it.scoped("interrupting execute kills the worker and its grandchild like a timeout", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const marker = uniqueMarker("interrupt")
        const fiber = yield* Effect.fork(
          execute({ toolId: "forkGrandchild", input: { pidFile, marker }, timeout: "60 seconds" })
        )
        const started = yield* awaitDefined(() => readPidFile(pidFile).grandchild)
        assert.isDefined(started, "the tool started its grandchild")
        yield* Fiber.interrupt(fiber)
        yield* assertCleanedUp(pidFile, ["worker", "grandchild"])
        assert.deepStrictEqual(yield* awaitNoProcessMentioning(marker), [])
      }))

    it.scoped("allocating 2 GB under a 256 MB limit ends in ToolMemoryExceeded", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const error = yield* failureOf(execute({
          toolId: "allocate",
          input: { pidFile, mb: 2048, kind: "buffer" },
          timeout: "15 seconds",
          runtime: [RuntimeConfig.withMaxMemoryMB(256)]
        }))
        assert.strictEqual(error._tag, "ToolMemoryExceeded", JSON.stringify(error).slice(0, 500))
        if (error._tag === "ToolMemoryExceeded") {
          assert.strictEqual(error.limitMB, 256)
          assert.isAtLeast(error.peakMB, 256)
          assert.isBelow(error.peakMB, 2048, "killed well before the allocation completed")
        }
        yield* assertCleanedUp(pidFile, ["worker"])
      }))

    // 50 MB once (Node, whose pipe writes block when nobody drains); 10 MB elsewhere keeps the suite quick.
    const floodMB = runtime === "node" ? 50 : 10
    it.effect(`${floodMB} MB of stderr does not stall the call: the result still arrives`, () =>
      Effect.gen(function*() {
        const result = yield* execute({
          toolId: "stderrFlood",
          input: { mb: floodMB },
          timeout: "20 seconds",
          runtime: [RuntimeConfig.withMaxStderrCaptureSize(64 * 1024)]
        })
        assert.deepStrictEqual(result, { wroteMB: floodMB, marker: "after-flood" })
        yield* assertNoChildren
      }))

    it.effect("a single 5 MB stderr line does not stall the call", () =>
      Effect.gen(function*() {
        const result = yield* execute({
          toolId: "stderrLongLine",
          input: { mb: 5 },
          timeout: "20 seconds",
          runtime: [RuntimeConfig.withMaxStderrCaptureSize(64 * 1024)]
        })
        assert.deepStrictEqual(result, { longLineMB: 5 })
        yield* assertNoChildren
      }))

    it.effect("a crash after a 5 MB stderr line is ToolCrashed with a capped stderr tail", () =>
      Effect.gen(function*() {
        const cap = 64 * 1024
        const error = yield* failureOf(execute({
          toolId: "stderrLongLine",
          input: { mb: 5, then: "exit", exitCode: 7 },
          timeout: "20 seconds",
          runtime: [RuntimeConfig.withMaxStderrCaptureSize(cap)]
        }))
        assert.strictEqual(error._tag, "ToolCrashed", JSON.stringify(error).slice(0, 500))
        if (error._tag === "ToolCrashed") {
          assert.strictEqual(error.toolId, "stderrLongLine")
          assert.strictEqual(error.exitCode, 7)
          assert.include(error.stderrTail, "TAIL-MARKER")
          assert.isAtMost(error.stderrTail.length, cap, "the stderr tail is capped")
        }
        yield* assertNoChildren
      }))

    it.effect("process.exit(0) in the middle of a call is ToolCrashed, not a silent success", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(execute({ toolId: "exitZero", input: null }))
        assert.strictEqual(error._tag, "ToolCrashed", JSON.stringify(error).slice(0, 500))
        if (error._tag === "ToolCrashed") assert.strictEqual(error.exitCode, 0)
        yield* assertNoChildren
      }))

    it.effect("stdout garbage and forged protocol lines never corrupt the result", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* execute({ toolId: "stdoutGarbage", input: null }), { real: true })
        yield* assertNoChildren
      }))

    it.effect("a stdout flood and a long unterminated stdout line never delay or corrupt the result", () =>
      Effect.gen(function*() {
        const result = yield* execute({ toolId: "stdoutFlood", input: { mb: 8, lineMB: 2 }, timeout: "20 seconds" })
        assert.deepStrictEqual(result, { stdoutFlood: "survived" })
        yield* assertNoChildren
      }))

    it.effect("stdout the tool left pending is never flushed into the middle of a result, large or small", () =>
      Effect.gen(function*() {
        // Bun once wrote frames through its own sink while process.stdout still held the tool's output:
        // the two flushed alternately into the pipe and the result came back with the tool's bytes in it.
        // A small frame (up to PIPE_BUF bytes) goes through the sink again, queued behind the full pipe.
        for (const resultChars of [2 * 1024 * 1024, 1000, 2 * 1024 * 1024, 1000]) {
          const result = yield* execute({
            toolId: "stdoutPending",
            input: { mb: 4, resultMB: resultChars / (1024 * 1024) }
          })
          assert.isString(result)
          const text = result as string
          assert.strictEqual(text.length, resultChars)
          assert.isFalse(text.includes("Q"), "the tool's stdout ended up inside the result")
        }
        yield* assertNoChildren
      }))

    it.effect("booby-trapped errors and unserializable results are ToolThrew, never a crash or a hang", () =>
      Effect.gen(function*() {
        const kinds = ["throwingGetters", "throwNull", "cyclic", "bigint", "throwingToJSON"]
        const errors = yield* Effect.forEach(
          kinds,
          (kind) => failureOf(execute({ toolId: "nasty", input: { kind } })),
          { concurrency: 3 }
        )
        errors.forEach((error, i) => {
          assert.strictEqual(error._tag, "ToolThrew", `${kinds[i]}: ${JSON.stringify(error).slice(0, 300)}`)
          if (error._tag === "ToolThrew") assert.strictEqual(error.toolId, "nasty")
        })
        yield* assertNoChildren
      }))

    it.effect("an entrypoint flooding stdout and stderr at import does not stall a large request", () =>
      Effect.gen(function*() {
        const text = "x".repeat(3 * 1024 * 1024)
        const result = yield* execute({
          toolId: "length",
          input: { text },
          runtime: [RuntimeConfig.withEntrypointPath(noisyImport)]
        })
        assert.strictEqual(result, text.length)
        yield* assertNoChildren
      }))

    it.effect("an env that would change the runtime or break framing is refused before spawning", () =>
      Effect.gen(function*() {
        const bad: ReadonlyArray<readonly [string, string]> = [
          ["LD_PRELOAD", "/tmp/x.so"],
          ["NODE_OPTIONS", "--require /tmp/x.js"],
          ["DYLD_INSERT_LIBRARIES", "/tmp/x.dylib"],
          ["BUN_CONFIG_REGISTRY", "http://127.0.0.1:1"],
          ["OK_NAME", "bad\nvalue"],
          ["OK_NAME", "nul\u0000value"],
          ["BAD=NAME", "x"]
        ]
        for (const [name, value] of bad) {
          const error = yield* failureOf(execute({ toolId: "readEnv", input: { name: "X" }, env: { [name]: value } }))
          assert.strictEqual(error._tag, "InvalidToolEnv", `${name}: ${JSON.stringify(error)}`)
          if (error._tag === "InvalidToolEnv") assert.strictEqual(error.name, name)
        }
        yield* assertNoChildren
      }))

    it.effect("the call's env reaches the tool", () =>
      Effect.gen(function*() {
        const value = yield* execute({ toolId: "readEnv", input: { name: "ES_CALL_VAR" }, env: { ES_CALL_VAR: "v" } })
        assert.strictEqual(value, "v")
      }))

    it.scoped("a host secret env var is not visible when the permissions do not grant env", () =>
      Effect.gen(function*() {
        yield* hostEnv("ES_HOSTILE_SECRET_TOKEN", "host-secret-value")
        const outcome = yield* execute({
          toolId: "readEnv",
          input: { name: "ES_HOSTILE_SECRET_TOKEN" },
          runtime: [RuntimeConfig.withPermissions(allBut(runtime, "env"))]
        }).pipe(Effect.either)
        if (outcome._tag === "Right") assert.isNull(outcome.right)
        else if (runtime === "bun" && !osIsolated) {
          // Bun reads every /proc/<pid>/environ: without bubblewrap a withheld environment is refused.
          assert.strictEqual(outcome.left._tag, "PermissionUnenforceable", JSON.stringify(outcome.left))
        } else assert.isTrue(isPermissionError(outcome.left), JSON.stringify(outcome.left))
      }))

    it.scoped("--allow-env=NAME passes exactly that host variable", () =>
      Effect.gen(function*() {
        yield* hostEnv("ES_HOSTILE_SECRET_TOKEN", "host-secret-value")
        yield* hostEnv("ES_HOSTILE_OTHER_SECRET", "other-secret-value")
        const options = [RuntimeConfig.withPermissions(allBut(runtime, "env", "--allow-env=ES_HOSTILE_SECRET_TOKEN"))]
        if (runtime === "bun" && !osIsolated) {
          const refused = yield* execute({ toolId: "readEnv", input: { name: "PATH" }, runtime: options }).pipe(
            Effect.flip
          )
          assert.strictEqual(refused._tag, "PermissionUnenforceable", JSON.stringify(refused))
          return
        }
        const granted = yield* execute({
          toolId: "readEnv",
          input: { name: "ES_HOSTILE_SECRET_TOKEN" },
          runtime: options
        })
        assert.strictEqual(granted, "host-secret-value")
        const other = yield* execute({
          toolId: "readEnv",
          input: { name: "ES_HOSTILE_OTHER_SECRET" },
          runtime: options
        })
          .pipe(Effect.either)
        if (other._tag === "Right") assert.isNull(other.right)
        else assert.isTrue(isPermissionError(other.left), JSON.stringify(other.left))
      }))

    it.scoped("even --allow-env never forwards host variables that change how the runtime loads code", () =>
      Effect.gen(function*() {
        const blocked = ["NODE_OPTIONS", "LD_PRELOAD", "BUN_CONFIG_VERBOSE_FETCH", "DYLD_INSERT_LIBRARIES"]
        yield* hostEnv("NODE_OPTIONS", "--max-old-space-size=3000")
        yield* hostEnv("LD_PRELOAD", "/nonexistent/es-sandbox-test.so")
        yield* hostEnv("BUN_CONFIG_VERBOSE_FETCH", "1")
        yield* hostEnv("DYLD_INSERT_LIBRARIES", "/nonexistent/es.dylib")
        yield* hostEnv("ES_HOSTILE_ORDINARY", "ordinary")
        const runtimeOptions = [RuntimeConfig.withPermissions(["--allow-all", "--allow-env"])]
        const visible = yield* execute({
          toolId: "readEnv",
          input: { name: "ES_HOSTILE_ORDINARY" },
          runtime: runtimeOptions
        })
        assert.strictEqual(visible, "ordinary", "a bare --allow-env forwards ordinary host variables")
        const values = yield* Effect.forEach(
          blocked,
          (name) => execute({ toolId: "readEnv", input: { name }, runtime: runtimeOptions }),
          { concurrency: 2 }
        )
        values.forEach((value, i) => assert.isNull(value, `${blocked[i]} reached the tool`))
      }))

    // Issue 6, "Host secrets never leak by default": the default permissions are `--allow-all`, and
    // that must not forward the host environment (only an explicit `--allow-env[=NAMES]` does).
    it.scoped("a host secret env var is not visible with the default config", () =>
      Effect.gen(function*() {
        yield* hostEnv("ES_HOSTILE_SECRET_TOKEN", "host-secret-value")
        const value = yield* execute({ toolId: "readEnv", input: { name: "ES_HOSTILE_SECRET_TOKEN" } })
        assert.isNull(value)
        const info = yield* whereami
        assert.notInclude(info.envKeys, "ES_HOSTILE_SECRET_TOKEN")
      }))

    // Forbidden actions outside the allowed paths / hosts: enforced inside the tool where the runtime
    // can (Deno flags, Node's permission model), refused up front where it cannot (Bun; network on
    // Node < 25). The refusal happens before any process starts.
    const expectEnforcedOrRefused = (error: { readonly _tag: string }, enforced: boolean, permission: string) =>
      Effect.gen(function*() {
        if (enforced) {
          assert.isTrue(
            isPermissionError(error),
            `${runtime} must deny ${permission} inside the tool: ${JSON.stringify(error)}`
          )
        } else {
          assert.strictEqual(error._tag, "PermissionUnenforceable", JSON.stringify(error))
          if (error instanceof ToolRuntime.PermissionUnenforceable) {
            assert.strictEqual(error.runtimeType, runtime)
            assert.strictEqual(error.permission, permission)
          }
        }
        yield* assertNoChildren
      })

    it.scoped("reading a secret file outside the allowed paths", () =>
      Effect.gen(function*() {
        const allowed = yield* tempDir("es-allowed-")
        const secret = path.join(yield* tempDir("es-secret-"), "shadow")
        fs.writeFileSync(secret, "root:$6$not-a-real-hash:19000:0:99999:7:::\n")
        const error = yield* failureOf(execute({
          toolId: "readFile",
          input: { path: secret },
          runtime: [RuntimeConfig.withPermissions(allBut(runtime, "read", `--allow-read=${allowed}`))]
        }))
        // Bun has no permission model: only the OS sandbox restricts what it reads.
        yield* expectEnforcedOrRefused(error, runtime !== "bun" || osIsolated, "read")
      }))

    it.scoped("writing outside the allowed paths", () =>
      Effect.gen(function*() {
        const allowed = yield* tempDir("es-allowed-")
        const target = path.join(yield* tempDir("es-outside-"), "pwned.txt")
        const error = yield* failureOf(execute({
          toolId: "writeFile",
          input: { path: target },
          runtime: [RuntimeConfig.withPermissions(allBut(runtime, "write", `--allow-write=${allowed}`))]
        }))
        yield* expectEnforcedOrRefused(error, runtime !== "bun" || osIsolated, "write")
        assert.isTrue(isGone(target), "nothing was written outside the allowed paths")
      }))

    it.effect("spawning a child process without --allow-run", () =>
      Effect.gen(function*() {
        const error = yield* failureOf(
          execute({
            toolId: "spawnChild",
            input: null,
            runtime: [RuntimeConfig.withPermissions(allBut(runtime, "run"))]
          })
        )
        yield* expectEnforcedOrRefused(error, runtime !== "bun", "run")
      }))

    it.scoped("a TCP connection to a loopback port not in the allowed hosts", () =>
      Effect.gen(function*() {
        const server = yield* tcpServer
        const other = yield* tcpServer
        const error = yield* failureOf(execute({
          toolId: "connect",
          input: { host: "127.0.0.1", port: server.port },
          runtime: [RuntimeConfig.withPermissions(allBut(runtime, "net", `--allow-net=127.0.0.1:${other.port}`))]
        }))
        // Node >= 25 has --allow-net but only all-or-nothing: a host scope is refused there too.
        yield* expectEnforcedOrRefused(error, runtime === "deno", "net")
        assert.strictEqual(server.connections(), 0, "the forbidden port never saw a connection")
      }))
  })
})
