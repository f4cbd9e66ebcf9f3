/**
 * The escapes of issue 13, each tried as an attacker would: tool code of its own, on every runtime,
 * through the public ToolRuntime. Under bubblewrap (`isolation` os or auto where it works) each one
 * must be closed. Under the runtime-flags strategy the cases bubblewrap alone closes are not
 * enforced, and `capabilities()` must say so (`processes`, `scratch`: unenforceable); the cases
 * closed for both strategies are checked under both.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import {
  awaitDead,
  awaitDefined,
  awaitNoProcessMentioning,
  execute,
  guard,
  hostEnv,
  hostileEntrypoint,
  hostileRuntime,
  hostPid,
  killQuietly,
  osIsolated,
  readPidFile,
  runtimes,
  tempDir,
  testIsolation,
  uniqueMarker
} from "./helpers.js"
import { fixture } from "./helpers.js"

const getterExport = fixture("hostile", "getter-export.mjs")

const capabilities = (runtime: RuntimeConfig.RuntimeType) =>
  Effect.map(ToolRuntime.ToolRuntime, (service) => service.capabilities(runtime))

/** The failure of `self`, dying with the value when it unexpectedly succeeded. */
const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.matchEffect({
      onSuccess: (value) =>
        Effect.dieMessage(`expected a failure, got success: ${JSON.stringify(value)?.slice(0, 300)}`),
      onFailure: Effect.succeed
    })
  )

describe.each(runtimes)("escapes on %s", (runtime) => {
  layer(hostileRuntime(runtime), { excludeTestServices: true })((it) => {
    it.scoped("E1: the host's environment cannot be read through /proc/<ppid>/environ", () =>
      Effect.gen(function*() {
        const secret = `es-e1-secret-${Date.now()}`
        yield* hostEnv("ES_E1_SECRET", secret)
        const caps = yield* capabilities(runtime)
        if (!osIsolated) {
          // Documented: without bubblewrap nothing keeps a tool out of other processes' /proc entries.
          assert.strictEqual(caps.processes.status, "unenforceable")
          return
        }
        assert.strictEqual(caps.processes.status, "enforced")
        const seen = (yield* execute({ toolId: "procEnviron", input: { needle: secret } })) as {
          readonly found: ReadonlyArray<number>
        }
        assert.deepStrictEqual(seen.found, [], "a host process's environment was readable")
      }))

    it.scoped("E9: a detached child (setsid, unref) dies with the call that started it", () =>
      Effect.gen(function*() {
        const caps = yield* capabilities(runtime)
        if (!osIsolated) {
          assert.strictEqual(caps.processes.status, "unenforceable")
          return
        }
        const marker = uniqueMarker("e9")
        const pidFile = path.join(yield* tempDir(), "pids.json")
        yield* execute({ toolId: "forkGrandchild", input: { pidFile, marker, detached: true, thenReturn: true } })
        const survivors = yield* awaitNoProcessMentioning(marker)
        killQuietly(survivors)
        assert.deepStrictEqual(survivors, [], "a detached descendant outlived its call")
      }))

    it.effect("E10: scratch space is limited, and filling it is ToolScratchExceeded", () =>
      Effect.gen(function*() {
        const caps = yield* capabilities(runtime)
        if (!osIsolated) {
          // Documented: without bubblewrap the scratch directory is on the host's temp file system.
          assert.strictEqual(caps.scratch.status, "unenforceable")
          return
        }
        const error = yield* failureOf(execute({
          toolId: "fillScratch",
          input: { mb: 400 },
          runtime: [RuntimeConfig.withMaxMemoryMB(128)]
        }))
        assert.strictEqual(error._tag, "ToolScratchExceeded", JSON.stringify(error).slice(0, 400))
        if (error._tag === "ToolScratchExceeded") assert.strictEqual(error.limitMB, 128)
      }))

    it.effect("E3: a tool cannot rewrite the worker script the next call runs", () =>
      Effect.gen(function*() {
        const outcome = yield* execute({ toolId: "overwriteWorker", input: null }).pipe(Effect.either)
        if (!osIsolated) {
          // Documented: under runtime flags a tool granted write access to the temp root can.
          return
        }
        assert.isTrue(outcome._tag === "Left" && outcome.left._tag === "ToolThrew", JSON.stringify(outcome))
        // and the next call still runs the real worker
        assert.strictEqual(yield* execute({ toolId: "readEnv", input: { name: "ES_NOTHING" } }), null)
      }))

    it.effect("E5: blank lines survive in captured stdout, and a flood of short lines still ends on time", () =>
      Effect.gen(function*() {
        const runtime = yield* ToolRuntime.ToolRuntime
        const detailed = yield* runtime.executeDetailed({
          toolId: "stdoutLines",
          input: { prefix: "x\n\n\ny\n\n", lines: 0 }
        }).pipe(guard("30 seconds"))
        assert.strictEqual(detailed.stdout, "x\n\n\ny\n\n")
        // 2 MB of two-byte lines, then a spin: the 2 s timeout must still be what ends the call (the
        // guard fails the test if the host is frozen parsing lines instead).
        const error = yield* failureOf(execute({
          toolId: "stdoutLines",
          input: { lines: 1024 * 1024, spin: true },
          timeout: "2 seconds"
        }))
        assert.strictEqual(error._tag, "ToolTimeout")
      }))

    it.scoped("E6: an interrupted pooled call kills its worker, and the next call gets a fresh one", () =>
      Effect.gen(function*() {
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const pool = { size: 1 }
        const first = (yield* execute({ toolId: "whereami", input: null, pool })) as {
          readonly pid: number
          readonly pidns: string | null
        }
        const host = hostPid(first.pid, first.pidns)
        const fiber = yield* Effect.fork(execute({ toolId: "spin", input: { pidFile }, pool, timeout: "60 seconds" }))
        const started = yield* awaitDefined(() => readPidFile(pidFile).worker)
        assert.isDefined(started, "the tool started spinning")
        yield* Fiber.interrupt(fiber)
        const survivors = yield* awaitDead([host])
        killQuietly(survivors)
        assert.deepStrictEqual(survivors, [], "the interrupted worker is killed")
        // Back in the pool, the spinning worker would time this call out.
        const next = (yield* execute({ toolId: "whereami", input: null, pool, timeout: "10 seconds" })) as {
          readonly pid: number
          readonly pidns: string | null
        }
        assert.notStrictEqual(`${next.pidns}|${next.pid}`, `${first.pidns}|${first.pid}`)
      }))

    it.effect("E7: bytes a grandchild writes into a large result are a ProtocolError, never data", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) {
          const outcome = yield* execute({ toolId: "interleaved", input: { mb: 8 }, timeout: "20 seconds" }).pipe(
            Effect.either
          )
          if (outcome._tag === "Right") {
            assert.isTrue(
              typeof outcome.right === "string" && outcome.right.length === 8 * 1024 * 1024 &&
                !outcome.right.includes("G"),
              "a corrupted result came back as data"
            )
          } else assert.strictEqual(outcome.left._tag, "ProtocolError", JSON.stringify(outcome.left).slice(0, 300))
        }
      }))

    it.effect("E8: a tool that sees the token cannot answer the next call on its pooled worker", () =>
      Effect.gen(function*() {
        const pool = { size: 1 }
        assert.strictEqual(yield* execute({ toolId: "forgeAhead", input: null, pool }), "watching")
        for (let i = 0; i < 3; i++) {
          assert.strictEqual(yield* execute({ toolId: "readEnv", input: { name: "ES_NOTHING" }, pool }), null)
        }
      }))

    it.scoped("E2: a symlink in the tool's directory does not reach outside the read grant", () =>
      Effect.gen(function*() {
        const secretDir = yield* tempDir("es-e2-secret-")
        const toolDir = yield* tempDir("es-e2-tool-")
        const secret = path.join(secretDir, "secret.txt")
        fs.writeFileSync(secret, "e2-secret")
        fs.symlinkSync(secret, path.join(toolDir, "link.txt"))
        const entry = path.join(toolDir, "tools.mjs")
        fs.writeFileSync(
          entry,
          `import * as fs from "node:fs"\n` +
            `export const readLink = () => fs.readFileSync(new URL("./link.txt", import.meta.url), "utf8")\n`
        )
        const outcome = yield* execute({
          toolId: "readLink",
          input: null,
          runtime: [
            RuntimeConfig.withEntrypointPath(entry),
            RuntimeConfig.withPermissions(["--allow-read=" + toolDir, "--allow-env", "--allow-run"])
          ]
        }).pipe(Effect.either)
        if (!osIsolated) {
          // Documented: Node and Deno follow the link (the entry's directory is granted); Bun is refused.
          if (runtime === "bun") assert.isTrue(outcome._tag === "Left", JSON.stringify(outcome))
          return
        }
        assert.isTrue(outcome._tag === "Left" && outcome.left._tag === "ToolThrew", JSON.stringify(outcome))
      }))
  })

  it.scoped("E4: a deno.json (or bunfig.toml) in the temporary root does not redirect a call", () =>
    Effect.gen(function*() {
      const root = yield* tempDir("es-e4-root-")
      const evil = path.join(root, "evil.mjs")
      fs.writeFileSync(evil, `export const readEnv = () => "redirected"\n`)
      // What a tool granted write access to the temp root would plant for the next call.
      const imports = { [pathToFileURL(hostileEntrypoint).href]: pathToFileURL(evil).href }
      fs.writeFileSync(path.join(root, "deno.json"), JSON.stringify({ imports }))
      fs.writeFileSync(path.join(root, "bunfig.toml"), `preload = ["${evil}"]\n`)
      const result = yield* execute({ toolId: "readEnv", input: { name: "ES_NOTHING" } }).pipe(
        Effect.provide(
          ToolRuntime.layerWith({ tempRoot: root }).pipe(
            Layer.provide(
              RuntimeConfig.layer(
                runtime,
                RuntimeConfig.withEntrypointPath(hostileEntrypoint),
                RuntimeConfig.withIsolation(testIsolation)
              )
            ),
            Layer.orDie
          )
        )
      )
      assert.strictEqual(result, null)
    }))

  it.effect("an export whose getter throws is ToolThrew, not ToolCrashed", () =>
    Effect.gen(function*() {
      const error = yield* failureOf(execute({
        toolId: "boom",
        input: null,
        runtime: [RuntimeConfig.withEntrypointPath(getterExport)]
      }))
      assert.strictEqual(error._tag, "ToolThrew", JSON.stringify(error).slice(0, 300))
      if (error._tag === "ToolThrew") assert.include(error.message, "getter exploded")
      const fine = yield* execute({
        toolId: "fine",
        input: null,
        runtime: [RuntimeConfig.withEntrypointPath(getterExport)]
      })
      assert.strictEqual(fine, "fine")
    }).pipe(Effect.provide(hostileRuntime(runtime))))
})

describe("start-up failures", () => {
  it.live("a bad Node option fails at once, without retrying what cannot succeed", () =>
    Effect.gen(function*() {
      let attempts = 0
      const spawner: ToolRuntime.Options["spawner"] = (command, args, options) => {
        attempts++
        return ChildProcess.spawn(command, [...args], options)
      }
      const error = yield* failureOf(
        execute({ toolId: "readEnv", input: { name: "X" } }).pipe(
          Effect.provide(
            ToolRuntime.layerWith({ spawner: spawner! }).pipe(
              Layer.provide(
                RuntimeConfig.layer(
                  "node",
                  RuntimeConfig.withEntrypointPath(hostileEntrypoint),
                  RuntimeConfig.withNodeOptions(["--no-such-option-es-test"]),
                  RuntimeConfig.withIsolation(testIsolation)
                )
              ),
              Layer.orDie
            )
          )
        )
      )
      assert.strictEqual(error._tag, "ToolCrashed", JSON.stringify(error).slice(0, 300))
      if (error._tag === "ToolCrashed") assert.include(error.stderrTail, "--no-such-option-es-test")
      assert.strictEqual(attempts, 1, "a command line the runtime rejects is not retried")
    }))
})
