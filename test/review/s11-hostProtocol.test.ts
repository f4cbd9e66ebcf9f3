// Second hostile review of the child-process host (issue 16, session 11): children whose entry speaks the
// protocol wrongly. Public API only (`AgentHost.childProcess({ entry })`), real child processes, the
// TestClock for the host's timers (the children themselves need real time to run).
// Failed on main until fixed in session 11 (hostChild: the protocol violation, not the kill signal, is reported).
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option, TestClock, TestServices } from "effect"
import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { onTestClock } from "../orchestrator/helpers.js"
import { alive } from "../orchestrator/hostKit.js"

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
      "a child whose handshake does not decode fails the request typed (HostProtocolError naming the field); the child is killed",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-review-s11-host-" })
          const entry = path.join(home, "garbage.mjs")
          yield* files.writeFileString(
            entry,
            [
              "import * as fs from 'node:fs'",
              `fs.appendFileSync(${JSON.stringify(path.join(home, "pids"))}, process.pid + '\\n')`,
              "process.on('message', () => process.send({ _tag: 'Ready', generation: 'one', pid: 'me' }))",
              "setInterval(() => {}, 1000)",
              ""
            ].join("\n")
          )
          const { done, listed } = yield* outcome(entry, home)
          const pids = (yield* files.readFileString(path.join(home, "pids"))).trim().split("\n").map(Number)
          assert.isTrue(Option.isSome(done), `the request still waits: ${JSON.stringify(listed)}`)
          const result = Option.getOrThrow(done)!
          assert.isTrue(result._tag === "Left", "a child that speaks garbage answered the request")
          const error = result._tag === "Left" ? result.left : undefined
          assert.strictEqual(error?._tag === "AgentTurnFailed" ? error.errorTag : error?._tag, "HostProtocolError")
          assert.include(error?.message ?? "", "generation")
          for (const pid of pids) assert.isFalse(alive(pid), `child ${pid} is still alive`)
        }),
      { timeout: 180_000 }
    )
  })
})
