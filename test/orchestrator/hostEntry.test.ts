/**
 * `AgentHost.childProcess({ entry })`: a bundled app's own child entry (a module that calls
 * `AgentHost.childMain()`), built here with esbuild and forked with plain Node flags; and what a bad entry
 * gets (missing, exits at once, never answers the handshake): a typed error naming the path, no hang, no
 * child left.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Fiber, TestClock, TestServices } from "effect"
import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { buildFixture } from "../support/process.js"
import { info, onTestClock, text } from "./helpers.js"
import { alive, findFiles } from "./hostKit.js"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/host-agents")

/**
 * Waits until a fiber sleeps until `at` on the TestClock (the handshake's deadline). The child is forked
 * and its entry checked on real I/O first: between looks this yields real time (5 ms) instead of spinning
 * on the scheduler, which would hold back the very I/O it waits for. It waits for the event, not a duration.
 */
const handshakeWaits = (at: number) =>
  Effect.gen(function*() {
    while (!Chunk.some(yield* TestClock.sleeps(), (t) => t === at)) {
      yield* TestServices.provideLive(Effect.sleep("5 millis"))
    }
  })

/** The request's failure on a host whose children start from `entry`. */
const startFailure = (entry: string, home: string, drive?: (start: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const bundle = yield* Bundle.load(bundleDir)
    return yield* Effect.gen(function*() {
      const orchestrator = yield* Orchestrator.makeOnHost(bundle, "team")
      // The clock of this test (earlier tests of the file may have moved it).
      const start = yield* TestClock.currentTimeMillis
      const reply = yield* Effect.fork(Effect.flip(orchestrator.request("researcher@main", "research: effect")))
      if (drive !== undefined) yield* drive(start)
      return yield* Fiber.join(reply)
    }).pipe(
      onTestClock,
      Effect.provide(AgentHost.childProcess({ stateRoot: home, entry, readyTimeout: "7 seconds" }))
    )
  })

describe("AgentHost.childProcess({ entry })", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "a child started from an esbuild bundle whose entry calls AgentHost.childMain() answers a request, without tsx",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-host-entry-" })
          const entry = yield* buildFixture("child-entry", "orchestrator")
          const bundle = yield* Bundle.load(bundleDir)
          const pid = yield* Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.makeOnHost(bundle, "team")
            const result = yield* orchestrator.request("researcher@main", "research: effect")
            assert.strictEqual(text(result), "effect is a library")
            const instance = yield* info(orchestrator, "researcher@main")
            assert.isDefined(instance.pid)
            // The bundled entry under plain node: no tsx loader among the child's arguments.
            const cmdline = fs.readFileSync(`/proc/${instance.pid}/cmdline`, "utf8").split("\0")
            assert.include(cmdline, entry)
            assert.isFalse(cmdline.some((arg) => arg.includes("tsx")), cmdline.join(" "))
            return instance.pid!
          }).pipe(Effect.scoped, Effect.provide(AgentHost.childProcess({ stateRoot: home, entry })))
          assert.isFalse(alive(pid), "the child was reaped with the scope")
          // The child wrote the instance's conversation (the parent never does).
          const logs = yield* findFiles(home, "events.jsonl")
          const all = (yield* Effect.forEach(logs, (f) => files.readFileString(f))).join("\n")
          assert.include(all, "effect is a library")
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "a missing entry is HostEntryNotFound naming the path, before anything is forked",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-host-entry-" })
          const missing = path.join(home, "dist", "child.mjs")
          const error = yield* startFailure(missing, home)
          assert.strictEqual(error._tag, "AgentTurnFailed")
          assert.strictEqual(error._tag === "AgentTurnFailed" ? error.errorTag : "", "HostEntryNotFound")
          assert.include(error.message, missing)
          assert.include(error.message, "AgentHost.childMain()")
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "an entry that exits at once is HostStartFailed naming the path and asking for AgentHost.childMain()",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-host-entry-" })
          const entry = path.join(home, "empty.mjs")
          yield* files.writeFileString(entry, "// does not call AgentHost.childMain()\n")
          const error = yield* startFailure(entry, home)
          assert.strictEqual(error._tag === "AgentTurnFailed" ? error.errorTag : "", "HostStartFailed")
          assert.include(error.message, `entry ${entry}`)
          assert.include(error.message, "exited with code 0")
          assert.include(error.message, "AgentHost.childMain()")
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "an entry that never answers the handshake is HostReadyTimeout on the Clock, naming the path; the child is reaped",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-host-entry-" })
          const entry = path.join(home, "silent.mjs")
          yield* files.writeFileString(entry, "// never calls AgentHost.childMain()\nsetInterval(() => {}, 1000)\n")
          // The handshake waits 7 s on the TestClock (7 s is no other timer's): once it sleeps, 7 s pass.
          const error = yield* startFailure(
            entry,
            home,
            (start) => Effect.zipRight(handshakeWaits(start + 7000), TestClock.adjust("7 seconds"))
          )
          assert.strictEqual(error._tag === "AgentTurnFailed" ? error.errorTag : "", "HostReadyTimeout")
          assert.include(error.message, `entry ${entry}`)
          assert.include(error.message, "was not ready within 7s")
          // The scope closed (its grace periods driven on the clock): the silent child was killed and reaped.
          const pid = Number(/\(pid (\d+)\)/.exec(error.message)?.[1])
          assert.isAbove(pid, 0)
          assert.isFalse(alive(pid))
        }),
      { timeout: 180_000 }
    )
  })
})
