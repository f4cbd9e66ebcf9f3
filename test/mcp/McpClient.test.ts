import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as McpClient from "../../src/mcp/McpClient.js"
import { canStillRun } from "../support/liveness.js"
import { fixtureDir, stdio, tools } from "./helpers.js"

describe("McpClient over stdio (the SDK fixture server as a child process)", () => {
  it.live("lists the server's tools into the catalog as {resource}__{tool}, names mapped, schemas kept", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio() })
      const { names, registry } = yield* tools(client)
      const listed = yield* names
      assert.includeMembers(listed, ["fx__echo", "fx__add", "fx__fail", "fx__read_x002efile", "fx__add_tool"])
      const echo = (yield* registry.catalog).find((i) => i.name === "fx__echo")!
      assert.strictEqual(echo.description, "Echoes its text")
      assert.deepStrictEqual((echo.parameters as any).required, ["text"])
      assert.deepStrictEqual(echo.source, { type: "mcp", name: "fx" })
    }).pipe(Effect.scoped))

  it.live("an allow-list registers only the named tools", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio() })
      const { names } = yield* tools(client, { allow: ["echo", "read.file"] })
      assert.deepStrictEqual(yield* names, ["fx__echo", "fx__read_x002efile"])
    }).pipe(Effect.scoped))

  it.live("calls: text, structured content, the mapped name; ajv refuses bad arguments before the server sees them", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio() })
      const { call } = yield* tools(client)
      const echo = yield* call("fx__echo", { text: "hi" })
      assert.strictEqual(echo.status, "ok")
      assert.strictEqual(echo.output, "echo: hi")
      const add = yield* call("fx__add", { a: 2, b: 40 })
      assert.deepStrictEqual(add.output, { text: "42", structuredContent: { sum: 42 } })
      assert.strictEqual((yield* call("fx__read_x002efile")).output, "dotted")
      const bad = yield* call("fx__add", { a: "2" })
      assert.strictEqual(bad.status, "error")
      assert.strictEqual(bad.error?.code, "E_TOOL_INVALID_ARGS")
      assert.match(bad.error!.message, /args\.b: required property is missing/)
    }).pipe(Effect.scoped))

  it.live("isError results become tool errors carrying the server's message", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio() })
      const { call } = yield* tools(client)
      const failed = yield* call("fx__fail", { message: "the disk is full" })
      assert.strictEqual(failed.status, "error")
      assert.strictEqual(failed.error?.code, "E_MCP_TOOL_ERROR")
      assert.strictEqual(failed.error?.message, "the disk is full")
    }).pipe(Effect.scoped))

  it.live("a server crashing mid-call: the call fails typed, the server is restarted and answers again", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio(), restartInitialDelay: "10 millis" })
      const { call } = yield* tools(client)
      const crashed = yield* call("fx__crash")
      assert.strictEqual(crashed.status, "error")
      assert.strictEqual(crashed.error?.code, "E_MCP_SERVER_CRASHED")
      assert.match(crashed.error!.message, /exit code 3/)
      const again = yield* call("fx__echo", { text: "back" })
      assert.strictEqual(again.output, "echo: back")
      assert.strictEqual(yield* client.restarts, 1)
    }).pipe(Effect.scoped))

  it.live("a server changing its tool list: the new tool is in the catalog when the call that added it returns", () =>
    Effect.gen(function*() {
      const client = yield* McpClient.make({ name: "fx", transport: stdio() })
      const { call, names } = yield* tools(client)
      assert.notInclude(yield* names, "fx__late")
      const added = yield* call("fx__add_tool", { name: "late" })
      assert.strictEqual(added.output, "added late")
      assert.include(yield* names, "fx__late")
      assert.strictEqual((yield* call("fx__late")).output, "late")
    }).pipe(Effect.scoped))

  it.live("the server's environment is the allow-list: PATH, HOME, TMPDIR and spec env, no host variable", () =>
    Effect.gen(function*() {
      process.env.HOST_SECRET = "s3cret"
      const client = yield* McpClient.make({ name: "fx", transport: stdio({ env: { GIVEN: "1" } }) })
      const { call } = yield* tools(client)
      assert.strictEqual((yield* call("fx__env")).output, "GIVEN,HOME,PATH,TMPDIR")
    }).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => delete process.env.HOST_SECRET))))

  it.live("spec.stdio.env cannot inject a loader: LD_PRELOAD and NODE_OPTIONS are refused before the server starts", () =>
    Effect.gen(function*() {
      for (const env of [{ LD_PRELOAD: "/tmp/evil.so" }, { NODE_OPTIONS: "--require /tmp/evil.js" }]) {
        const refused = yield* Effect.flip(McpClient.make({ name: "fx", transport: stdio({ env }) }))
        assert.strictEqual(refused._tag, "McpConnectError")
        assert.include(refused.message, "spec.stdio.env")
        assert.include(refused.message, Object.keys(env)[0]!)
      }
    }).pipe(Effect.scoped))

  it.live("closing the scope kills the server's whole process group, its own children included", () =>
    Effect.gen(function*() {
      const grandchild = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* McpClient.make({ name: "fx", transport: stdio() })
        const { call } = yield* tools(client)
        return Number((yield* call("fx__spawn_child")).output)
      }))
      assert.isTrue(grandchild > 0)
      // The group was killed and reaped before the scope closed; the grandchild got SIGKILL with it, so
      // it is gone, a zombie, exiting or has SIGKILL pending: it can never run again.
      assert.isFalse(canStillRun(grandchild))
    }))

  it.live("a server that cannot start fails make with a typed error naming the server", () =>
    Effect.gen(function*() {
      const error = yield* McpClient.make({
        name: "broken",
        transport: stdio({ args: ["-e", "process.stderr.write('no config'); process.exit(2)"], cwd: fixtureDir })
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "McpConnectError")
      assert.match(error.message, /McpServer\/broken: the MCP handshake failed.*exit code 2.*no config/)
    }).pipe(Effect.scoped))
})
