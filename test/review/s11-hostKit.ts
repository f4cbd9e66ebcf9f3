// The child-process host kit of the session-11 review tests: a request on a host whose children start from
// a hand-written entry, with the TestClock moved to each pending timer while the child runs in real time.
import { FileSystem } from "@effect/platform"
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
export const outcome = (entry: string, home: string, rounds = 150) =>
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
