/**
 * Review of the MCP client (session 17, "edge"): a restarted server that lies, hostile stdio output, and the
 * error a bad tool schema gets. Real server processes on stdio; TestClock drives our timers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as McpClient from "../../src/mcp/McpClient.js"
import { stdio } from "../mcp/helpers.js"

/** Lets the event loop run the real I/O (the server process, its pipes) for a moment; no TestClock time passes. */
const io = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))

/** How many timers are pending on the TestClock (an interrupted one stays listed until its time passes). */
const pending = Effect.map(TestClock.sleeps(), Chunk.size)

/** Waits (real I/O turns, bounded) until more than `before` timers are pending on the TestClock. */
const untilSleeping = (before: number, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000; i++) {
      if ((yield* pending) > before) return
      yield* io
    }
    return yield* Effect.die(new Error(`no timer: ${what}`))
  })

/** The fiber's exit, waiting real I/O turns (bounded): a fiber that never ends fails the test, not hangs it. */
const settled = <A, E>(fiber: Fiber.Fiber<A, E>, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000; i++) {
      const polled = yield* Fiber.poll(fiber)
      if (polled._tag === "Some") return polled.value
      yield* io
    }
    return yield* Effect.die(new Error(`hung: ${what}`))
  })

const markFile = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-s17-edge-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => path.join(dir, "started")))

/** A client of `relapse.mjs`: fine at first, broken (`mode`) once restarted after `crash`. */
const relapsing = (mode: "silent" | "nolist") =>
  Effect.gen(function*() {
    const mark = yield* markFile
    const client = yield* McpClient.make({
      name: "relapse",
      transport: stdio({ args: ["relapse.mjs"], env: { RELAPSE_MARK: mark, RELAPSE_MODE: mode } }),
      timeout: "5 seconds",
      restartInitialDelay: "100 millis"
    })
    const crashed = yield* Effect.flip(client.call("crash", {}))
    assert.strictEqual(crashed.code, "E_MCP_SERVER_CRASHED")
    // The supervisor's backoff before the restart (moved past by the tests).
    yield* untilSleeping(0, "the restart's backoff")
    return client
  })

describe("review s17: a restarted MCP server that never comes back", () => {
  it.scoped("one that never answers initialize after a restart fails the restart typed after the timeout", () =>
    Effect.gen(function*() {
      const client = yield* relapsing("silent")
      const before = yield* pending
      yield* TestClock.adjust("100 millis")
      const waiting = yield* Effect.fork(Effect.flip(client.call("echo", {}, { timeout: "8 seconds" })))
      // The backoff's timer is gone; two new ones: the restarted server's handshake (before: none, it waited
      // without a bound) and the call's.
      yield* untilSleeping(before, "the restarted server's handshake waits without a bound")
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("3 seconds")
      const exit = yield* settled(waiting, "the call waiting for the restart")
      assert.isTrue(Exit.isSuccess(exit))
      const error = Exit.isSuccess(exit) ? exit.value : undefined
      assert.strictEqual(error?.code, "E_MCP_UNAVAILABLE")
      // The call says why: the restart's typed error, with the first start's message and suggestion.
      assert.include(error?.message, "no answer to the MCP handshake (initialize) within 5s")
      assert.include(error?.message, "spec.timeout")
      assert.strictEqual(yield* client.restarts, 0)
    }))

  it.scoped("one whose tools/list never answers after a restart does not hang the calls that finish meanwhile", () =>
    Effect.gen(function*() {
      const client = yield* relapsing("nolist")
      yield* TestClock.adjust("100 millis")
      // Restarted: the handshake answers, then the tool list is asked for and never comes.
      for (let i = 0; i < 10_000 && (yield* client.restarts) === 0; i++) yield* io
      assert.strictEqual(yield* client.restarts, 1)
      const before = yield* pending
      const call = yield* Effect.fork(client.call("echo", {}))
      yield* untilSleeping(before + 1, "the call's timeout")
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("5 seconds")
      // Before: the call got its result, then waited for the hung listing's lock forever.
      const exit = yield* settled(call, "a call after the restart")
      assert.isTrue(Exit.isSuccess(exit), String(exit))
    }))
})
