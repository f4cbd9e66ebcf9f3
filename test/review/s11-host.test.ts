// Second hostile review of the child-process host (issue 16, session 11): children whose entry speaks the
// protocol wrongly. Public API only (`AgentHost.childProcess({ entry })`), real child processes, the
// TestClock for the host's timers (the children themselves need real time to run).
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option, TestClock, TestServices } from "effect"
import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { onTestClock } from "../orchestrator/helpers.js"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/host-agents")

/**
 * The request's exit on a host whose children start from `entry`, driving the TestClock to each pending
 * timer between short real waits (the child runs in real time), for at most `rounds` rounds.
 */
const outcome = (entry: string, home: string, rounds = 150) =>
  Effect.gen(function*() {
    const bundle = yield* Bundle.load(bundleDir)
    return yield* Effect.gen(function*() {
      const orchestrator = yield* Orchestrator.makeOnHost(bundle, "team")
      const reply = yield* Effect.fork(Effect.either(orchestrator.request("researcher@main", "research: effect")))
      // The child runs in real time: let it start and answer the handshake before any timer is moved.
      const files = yield* FileSystem.FileSystem
      for (let i = 0; i < 500 && !(yield* files.exists(path.join(home, "pids"))); i++) {
        yield* TestServices.provideLive(Effect.sleep("20 millis"))
      }
      yield* TestServices.provideLive(Effect.sleep("1 second"))
      for (let i = 0; i < rounds; i++) {
        if (Option.isSome(yield* Fiber.poll(reply))) break
        yield* TestServices.provideLive(Effect.sleep("20 millis"))
        const now = yield* TestClock.currentTimeMillis
        const next = Chunk.reduce(yield* TestClock.sleeps(), Infinity, (min, at) => Math.min(min, at))
        if (next !== Infinity && next > now) yield* TestClock.setTime(next)
      }
      const done = Option.map(yield* Fiber.poll(reply), (exit) => Exit.getOrElse(exit, () => undefined))
      const listed = yield* orchestrator.list
      if (Option.isNone(done)) yield* Fiber.interrupt(reply)
      return { done, listed }
    }).pipe(
      onTestClock,
      Effect.provide(AgentHost.childProcess({ stateRoot: home, entry, readyTimeout: "7 seconds" }))
    )
  })

describe("review s11: child-process host protocol", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "a child that answers the handshake with another generation is not taken as ready (typed failure, no hang)",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-review-s11-host-" })
          const entry = path.join(home, "stale.mjs")
          yield* files.writeFileString(
            entry,
            [
              "import * as fs from 'node:fs'",
              `fs.appendFileSync(${JSON.stringify(path.join(home, "pids"))}, process.pid + '\\n')`,
              "process.on('message', (m) => process.send({ _tag: 'Ready', generation: 1000 + (m.generation ?? 0), pid: process.pid }))",
              "setInterval(() => {}, 1000)",
              ""
            ].join("\n")
          )
          const { done, listed } = yield* outcome(entry, home)
          assert.isTrue(Option.isSome(done), `the request still waits: ${JSON.stringify(listed)}`)
          const result = Option.getOrThrow(done)
          assert.strictEqual(result?._tag, "Left", JSON.stringify(result).slice(0, 400))
          // Not the handshake's timeout: the mismatch is seen when the answer comes.
          assert.notInclude(JSON.stringify(result), "HostReadyTimeout")
        }),
      { timeout: 180_000 }
    )
  })
})
