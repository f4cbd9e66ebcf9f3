/**
 * The escapes of issue 13, each tried as an attacker would: tool code of its own, on every runtime,
 * through the public ToolRuntime. Under bubblewrap (`isolation` os or auto where it works) each one
 * must be closed. Under the runtime-flags strategy (CI runs this file again with
 * ES_TEST_ISOLATION=runtime) each one either passes too (E4-E8, E10, E9 for the child the watchdog
 * sees) or the configs that depend on what only bubblewrap keeps are refused up front with
 * PermissionUnenforceable (E1, E2, E3, E9 for a restricted tool), as docs/tools-and-sandbox.md's table says.
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
  hostileEntrypoint,
  hostileRuntime,
  hostPid,
  killQuietly,
  osIsolated,
  processesMentioning,
  readPidFile,
  runtimes,
  tempDir,
  testIsolation,
  uniqueMarker
} from "./helpers.js"
import { fixture } from "./helpers.js"

const getterExport = fixture("hostile", "getter-export.mjs")

/** A process started with `env` (and nothing else) for the scope: what /proc/<pid>/environ shows. */
const decoyWithEnv = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => ChildProcess.spawn("/bin/sh", ["-c", "sleep 60"], { env: { PATH: "/usr/bin:/bin", ...env } })),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** Subprocesses are confined under bubblewrap (so granting them is harmless there, and Bun cannot
 * withhold them); under runtime flags a restricted tool with --allow-run is refused. */
const runUnderOs: ReadonlyArray<string> = osIsolated ? ["--allow-run"] : []

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
    it.scoped("E1: the host's environment cannot be read through /proc/<pid>/environ", () =>
      Effect.gen(function*() {
        // /proc/<pid>/environ holds a process's environment as it was started: a decoy started with the
        // secret stands for the host (or another tool's worker) holding one.
        const secret = `es-e1-secret-${Date.now()}`
        yield* decoyWithEnv({ ES_E1_SECRET: secret })
        // (under bubblewrap subprocesses are confined too, so --allow-run, which Bun cannot withhold, is fine)
        const readAll = [RuntimeConfig.withPermissions(["--allow-read", "--allow-net", ...runUnderOs])]
        const caps = yield* capabilities(runtime)
        if (!osIsolated) {
          assert.strictEqual(caps.processes.status, "unenforceable")
          // Read access to /proc and a withheld environment cannot both hold: refused up front.
          const refused = yield* failureOf(
            execute({ toolId: "procEnviron", input: { needle: secret }, runtime: readAll })
          )
          assert.strictEqual(refused._tag, "PermissionUnenforceable", JSON.stringify(refused).slice(0, 400))
          if (refused._tag === "PermissionUnenforceable") {
            if (runtime !== "bun") assert.strictEqual(refused.permission, "env")
            assert.include(refused.message, "bubblewrap")
          }
          if (runtime === "bun") return // Bun enforces no read limit at all: refused above
          // A read grant that leaves /proc out keeps the environment out too.
          const scoped = (yield* execute({
            toolId: "procEnviron",
            input: { needle: secret },
            runtime: [RuntimeConfig.withPermissions([`--allow-read=${yield* tempDir()}`, "--allow-net"])]
          })) as { readonly found: ReadonlyArray<number> }
          assert.deepStrictEqual(scoped.found, [], "a host process's environment was readable")
          return
        }
        assert.strictEqual(caps.processes.status, "enforced")
        for (const runtimeOptions of [[], readAll]) {
          const seen =
            (yield* execute({ toolId: "procEnviron", input: { needle: secret }, runtime: runtimeOptions })) as {
              readonly found: ReadonlyArray<number>
            }
          assert.deepStrictEqual(seen.found, [], "a host process's environment was readable")
        }
      }))

    it.scoped("E9: a detached child (setsid, unref) dies with the call that started it", () =>
      Effect.gen(function*() {
        const caps = yield* capabilities(runtime)
        const marker = uniqueMarker("e9")
        const pidFile = path.join(yield* tempDir(), "pids.json")
        const input = { pidFile, marker, detached: true, thenReturn: true }
        if (!osIsolated) {
          assert.strictEqual(caps.processes.status, "unenforceable")
          // A restricted tool may not start processes the runtime's flags cannot follow: refused up front.
          const refused = yield* failureOf(execute({
            toolId: "forkGrandchild",
            input,
            runtime: [RuntimeConfig.withPermissions(["--allow-read", "--allow-write", "--allow-net", "--allow-run"])]
          }))
          assert.strictEqual(refused._tag, "PermissionUnenforceable", JSON.stringify(refused).slice(0, 400))
          assert.deepStrictEqual(processesMentioning(marker), [], "the refused call started nothing")
        }
        // With --allow-all (or under bubblewrap) it runs, and the detached child still dies with the call.
        yield* execute({ toolId: "forkGrandchild", input })
        const survivors = yield* awaitNoProcessMentioning(marker)
        killQuietly(survivors)
        assert.deepStrictEqual(survivors, [], "a detached descendant outlived its call")
      }))

    it.effect("E10: scratch space is limited, and filling it is ToolScratchExceeded", () =>
      Effect.gen(function*() {
        const caps = yield* capabilities(runtime)
        // Under bubblewrap a tmpfs of maxMemoryMB; under runtime flags the watchdog measures the directory.
        assert.strictEqual(caps.scratch.status, "enforced")
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
        if (!osIsolated) {
          // A write grant covering the sandbox's private directory next to any restriction: refused up front.
          const refused = yield* failureOf(execute({
            toolId: "overwriteWorker",
            input: null,
            runtime: [RuntimeConfig.withPermissions(["--allow-read=/nonexistent-es", "--allow-write", "--allow-net"])]
          }))
          assert.strictEqual(refused._tag, "PermissionUnenforceable", JSON.stringify(refused).slice(0, 400))
          if (refused._tag === "PermissionUnenforceable" && runtime !== "bun") {
            assert.strictEqual(refused.permission, "write")
            assert.include(refused.reason, "worker script")
          }
          return
        }
        const outcome = yield* execute({ toolId: "overwriteWorker", input: null }).pipe(Effect.either)
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
            RuntimeConfig.withPermissions(["--allow-read=" + toolDir, "--allow-env", "--allow-net", ...runUnderOs])
          ]
        }).pipe(Effect.either)
        if (!osIsolated) {
          // Node and Deno would follow the link (the entry's directory is read implicitly): refused up
          // front, naming the link; Bun enforces no read limit at all and is refused for that.
          assert.isTrue(
            outcome._tag === "Left" && outcome.left._tag === "PermissionUnenforceable",
            JSON.stringify(outcome)
          )
          if (outcome._tag === "Left" && outcome.left._tag === "PermissionUnenforceable" && runtime !== "bun") {
            assert.include(outcome.left.reason, path.join(toolDir, "link.txt"))
          }
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

  it.scoped("another call's files are out of reach of a read grant covering the private directory", () =>
    Effect.gen(function*() {
      // A cold Bun call's input, environment and token wait in a file in the layer's private directory
      // (next to the scratch directories), so a grant of the temporary root must not reach them.
      const root = yield* tempDir("es-private-root-")
      const toolDir = yield* tempDir("es-private-tool-")
      const entry = path.join(toolDir, "tools.mjs")
      fs.writeFileSync(
        entry,
        `import * as fs from "node:fs"\n` +
          `import * as path from "node:path"\n` +
          // HOME is the call's scratch directory, next to the other calls' ones.
          `export const listCalls = () => {\n` +
          `  const home = process.env.HOME\n` +
          `  return { home, calls: fs.readdirSync(path.dirname(home)) }\n` +
          `}\n`
      )
      const outcome = yield* execute({ toolId: "listCalls", input: null }).pipe(
        Effect.either,
        Effect.provide(
          ToolRuntime.layerWith({ tempRoot: root }).pipe(
            Layer.provide(
              RuntimeConfig.layer(
                runtime,
                RuntimeConfig.withEntrypointPath(entry),
                RuntimeConfig.withPermissions(["--allow-read=" + root, "--allow-env", "--allow-net", ...runUnderOs]),
                RuntimeConfig.withIsolation(testIsolation),
                RuntimeConfig.withPrespawn(0)
              )
            ),
            Layer.orDie
          )
        )
      )
      if (!osIsolated) {
        // The runtime's flags would let the tool read the whole directory: refused up front (Bun
        // enforces no read limit at all and is refused for that).
        assert.isTrue(
          outcome._tag === "Left" && outcome.left._tag === "PermissionUnenforceable",
          JSON.stringify(outcome)
        )
        if (outcome._tag === "Left" && outcome.left._tag === "PermissionUnenforceable" && runtime !== "bun") {
          assert.strictEqual(outcome.left.permission, "read")
          assert.include(outcome.left.reason, "private directory")
        }
        return
      }
      assert.isTrue(outcome._tag === "Right", JSON.stringify(outcome))
      const { calls, home } = (outcome._tag === "Right" ? outcome.right : {}) as { calls: Array<string>; home: string }
      // Only its own scratch directory (and its own call file on Bun); not the spare one made for the next call.
      const own = path.basename(home)
      assert.deepStrictEqual([...calls].sort(), runtime === "bun" ? [own, own + ".call"] : [own])
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
                  RuntimeConfig.withIsolation(testIsolation),
                  RuntimeConfig.withPrespawn(0)
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
