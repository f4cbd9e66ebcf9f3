import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { ToolName } from "effect-swarm"
import * as McpName from "../../src/mcp/McpName.js"

const samples = [
  "echo",
  "get_weather",
  "read.file",
  "a__b",
  "a___b",
  "_lead",
  "trail_",
  "x_x",
  "_x0041",
  "ns/tool name",
  "emoji-🙂",
  "ünïcode",
  "__",
  "-_-"
]

describe("McpName: the reversible mapping of MCP tool names", () => {
  it("keeps names our tool names accept and escapes the rest", () => {
    assert.strictEqual(McpName.encode("get_weather"), "get_weather")
    assert.strictEqual(McpName.encode("get-weather"), "get-weather")
    assert.strictEqual(McpName.encode("read.file"), "read_x002efile")
    assert.strictEqual(McpName.encode("a__b"), "a_x005f_b")
    assert.strictEqual(McpName.encode("x_x"), "x_x005fx")
  })

  it("decode(encode(name)) is the name, and every result is a valid, unambiguous tool name", () => {
    for (const name of samples) {
      const encoded = McpName.encode(name)
      assert.strictEqual(McpName.decode(encoded), name, name)
      assert.notInclude(encoded, "__", name)
      assert.match(encoded, /^[A-Za-z0-9_-]+$/, name)
      const full = Either.getOrThrow(McpName.toolName("srv", name))
      const parts = ToolName.parse(full)
      assert.isTrue(
        parts._tag === "Some" && parts.value.resourceName === "srv" && McpName.decode(parts.value.exportName) === name
      )
    }
    assert.strictEqual(new Set(samples.map(McpName.encode)).size, samples.length)
  })

  it("refuses names longer than models accept and empty names, never truncates", () => {
    assert.match(
      Either.getLeft(McpName.toolName("srv", "x".repeat(70))).pipe((o) => o._tag === "Some" ? o.value : ""),
      /at most 64/
    )
    assert.isTrue(Either.isLeft(McpName.toolName("srv", "")))
  })
})
