import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Effect, Fiber, TestClock } from "effect"
import * as McpClient from "../../src/mcp/McpClient.js"
import { stdio, tools } from "./helpers.js"

/** Lets the event loop run the real I/O (the server process, its pipes); no time passes. */
const io = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Waits until at least `n` fibers sleep on the TestClock (the timers we are about to move past). */
const untilSleeping = (n: number) =>
  Effect.gen(function*() {
    while (Chunk.size(yield* TestClock.sleeps()) < n) yield* io
  })

describe("McpClient timeouts (TestClock drives our timers; the server is a real process)", () => {
  it.scoped("a hung call fails with E_TOOL_TIMEOUT; a server that still answers pings is kept", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio(), timeout: "5 seconds" })
      const { call } = yield* tools(client)
      const fiber = yield* Effect.fork(call("fx__hang"))
      // Two timers: ours (5 s) and the executor's (one second later, so ours decides).
      yield* untilSleeping(2)
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "error")
      assert.strictEqual(result.error?.code, "E_TOOL_TIMEOUT")
      assert.match(result.error!.message, /no result within 5s; the call was cancelled/)
      assert.strictEqual((yield* call("fx__echo", { text: "still here" })).output, "echo: still here")
      assert.strictEqual(yield* client.restarts, 0)
    }))

  it.scoped("a server that stops answering is restarted after the call times out and a ping goes unanswered", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({
        name: "fx",
        transport: stdio(),
        timeout: "5 seconds",
        pingTimeout: "2 seconds",
        restartInitialDelay: "100 millis"
      })
      const { call } = yield* tools(client)
      const fiber = yield* Effect.fork(call("fx__block"))
      yield* untilSleeping(2)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* Fiber.join(fiber)).error?.code, "E_TOOL_TIMEOUT")
      // Then the ping's 2 s and the restart's backoff: move the clock in small steps until the restarted
      // server's handshake is under way (its 5 s bound is pending; the blocked server cannot answer, so no step
      // races a real reply), then only let the real I/O run: moving the clock on would time the handshake out.
      const handshaking = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        return Chunk.some(yield* TestClock.sleeps(), (at) => at - now > 4_000)
      })
      while (!(yield* handshaking)) {
        yield* TestClock.adjust("100 millis")
        yield* io
      }
      while ((yield* client.restarts) === 0) yield* io
      const after = yield* call("fx__echo", { text: "restarted" })
      assert.strictEqual(after.output, "echo: restarted")
      assert.strictEqual(yield* client.restarts, 1)
    }))
})
