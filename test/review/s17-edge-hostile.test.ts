/**
 * Review of the MCP client (session 17, "edge"): a stdio server that attacks its client (test/fixtures/mcp/
 * hostile.mjs writes raw JSON-RPC). Real processes; nothing here depends on time.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Metric, RuntimeFlags, RuntimeFlagsPatch } from "effect"
import * as McpClient from "../../src/mcp/McpClient.js"
import { stdio, tools } from "../mcp/helpers.js"

const hostile = (env: Record<string, string> = {}) =>
  McpClient.make({ name: "hostile", transport: stdio({ args: ["hostile.mjs"], env }), timeout: "30 seconds" })

describe("review s17: a hostile stdio MCP server", () => {
  it.live(
    "a line of more than 10 MiB on stdout fails the call typed and restarts the server (the host crashed)",
    () =>
      Effect.gen(function*() {
        const client = yield* hostile()
        const { call } = yield* tools(client)
        const result = yield* call("hostile__huge")
        assert.strictEqual(result.status, "error")
        assert.strictEqual(result.error?.code, "E_MCP_SERVER_CRASHED")
        assert.include(result.error?.message, "more than 10 MiB")
        // Restarted (the call waits for the next connection), it answers again.
        assert.strictEqual((yield* call("hostile__echo", { text: "again" })).output, "echo: again")
        assert.strictEqual(yield* client.restarts, 1)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a line that is not JSON, a response to an unknown id and a second response to the same id are ignored",
    () =>
      Effect.gen(function*() {
        const client = yield* hostile()
        const { call } = yield* tools(client)
        const result = yield* call("hostile__noise")
        assert.strictEqual(result.output, "first answer")
        assert.strictEqual((yield* call("hostile__echo", { text: "still" })).output, "echo: still")
        assert.strictEqual(yield* client.restarts, 0)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "Unicode tool names are mapped reversibly, each to its own catalog name, and callable",
    () =>
      Effect.gen(function*() {
        const client = yield* hostile()
        const { call, names } = yield* tools(client)
        const listed = (yield* names).filter((n) => !/^hostile__(echo|huge|noise|flood|deep|stats|bad_schema)$/.test(n))
        assert.strictEqual(listed.length, 5)
        for (const name of listed) {
          assert.match(name, /^[A-Za-z0-9_-]{1,64}$/)
          assert.strictEqual((yield* call(name)).status, "ok", name)
        }
        assert.strictEqual((yield* call("hostile__caf_x00e9")).output, "café")
        assert.strictEqual((yield* call("hostile__evil_x202etxt_x002eexe")).output, "evil\u202etxt.exe")
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a tool whose input schema cannot compile: the error names the server and tool and says what to do",
    () =>
      Effect.gen(function*() {
        const client = yield* hostile()
        const { call } = yield* tools(client)
        const result = yield* call("hostile__bad_schema", { a: 1 })
        assert.strictEqual(result.status, "error")
        assert.strictEqual(result.error?.code, "E_TOOL_INVALID_SCHEMA")
        const text = `${result.error?.message} ${result.error?.suggestion}`
        assert.include(text, "McpServer/hostile")
        assert.include(text, "\"bad_schema\"")
        assert.notInclude(text, "bundle")
        assert.include(result.error?.suggestion, "allow")
      }).pipe(Effect.scoped),
    60_000
  )
  it.live(
    "a flood of 50,000 list_changed notifications is coalesced: a few fibers and listings, not one each",
    () =>
      Effect.gen(function*() {
        // Fibers are counted (runtime metrics on): one settling fiber per notification was 50,000 fibers queued on
        // one lock, seconds of a host blocked in quadratic time.
        yield* Effect.withRuntimeFlagsPatchScoped(RuntimeFlagsPatch.enable(RuntimeFlags.RuntimeMetrics))
        const client = yield* hostile()
        const { call } = yield* tools(client)
        const before = (yield* Metric.value(Metric.fiberStarted)).count
        assert.strictEqual((yield* call("hostile__flood")).output, "flooded")
        const started = (yield* Metric.value(Metric.fiberStarted)).count - before
        assert.isBelow(started, 1000)
        const lists = Number((yield* call("hostile__stats")).output)
        assert.isAtLeast(lists, 2)
        assert.isAtMost(lists, 10)
        assert.strictEqual((yield* call("hostile__echo", { text: "calm" })).output, "echo: calm")
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a result nested 200,000 levels deep is a tool error naming the server, not a defect that kills the turn",
    () =>
      Effect.gen(function*() {
        const client = yield* hostile()
        const { call } = yield* tools(client)
        const result = yield* call("hostile__deep")
        assert.strictEqual(result.status, "error")
        assert.strictEqual(result.error?.code, "E_MCP_PROTOCOL")
        assert.include(
          result.error?.message,
          "McpServer/hostile tool \"deep\" returned a result that cannot be serialised"
        )
        assert.strictEqual((yield* call("hostile__echo", { text: "on" })).output, "echo: on")
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a server listing 20,000 tools fails the start typed instead of filling the catalog",
    () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(hostile({ HOSTILE_EXTRA_TOOLS: "20000" }))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.toString() : ""
        assert.include(error, "McpServer/hostile: listing its tools failed")
        assert.include(error, "10000 tools")
      }).pipe(Effect.scoped),
    60_000
  )
})
