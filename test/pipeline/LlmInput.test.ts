import { assert, describe, it } from "@effect/vitest"
import { LlmInput } from "effect-swarm"
import type { Message } from "effect-swarm"

let n = 0
const msg = (data: Message.MessageData): Message.Message => ({
  id: `m${n++}`,
  data,
  metadata: {},
  createdAt: new Date(0),
  source: { type: "user" }
})

describe("LlmInput (reference E4, P11)", () => {
  it("keeps plain text verbatim and caps long text at 2000 chars + '...'", () => {
    const [short, long] = LlmInput.summarize([
      msg({ role: "user", content: "hi" }),
      msg({ role: "assistant", content: "x".repeat(2500) })
    ])!
    assert.deepStrictEqual(short, {
      role: "user",
      content: "hi",
      contentSource: "verbatim",
      parts: [{ type: "text", text: "hi" }]
    })
    assert.strictEqual(long!.content.length, 2003)
    assert.isTrue(long!.content.endsWith("..."))
    assert.strictEqual(long!.contentSource, "summary")
    assert.deepStrictEqual(long!.parts![0], { type: "text", text: "x".repeat(2000) + "...", truncated: true })
  })

  it("summarises tool calls and results with JSON inputs and outputs", () => {
    const [assistant, tool] = LlmInput.summarize([
      msg({
        role: "assistant",
        content: [{ type: "text", text: "Let me look." }, {
          type: "tool-call",
          toolCallId: "tc-1",
          toolName: "fs__read",
          input: { path: "a.txt" }
        }]
      }),
      msg({
        role: "tool",
        content: [{ type: "tool-result", toolCallId: "tc-1", toolName: "fs__read", output: { ok: true } }]
      })
    ])!
    assert.deepStrictEqual(assistant, {
      role: "assistant",
      content: "Let me look.\n[tool-call:fs__read] {\"path\":\"a.txt\"}",
      contentSource: "summary",
      parts: [
        { type: "text", text: "Let me look." },
        { type: "tool-call", toolCallId: "tc-1", toolName: "fs__read", input: "{\"path\":\"a.txt\"}" }
      ]
    })
    assert.deepStrictEqual(tool, {
      role: "tool",
      content: "[tool-result:fs__read] {\"ok\":true}",
      contentSource: "summary",
      parts: [{ type: "tool-result", toolCallId: "tc-1", toolName: "fs__read", output: "{\"ok\":true}" }]
    })
  })

  it("includes OpenAI-style toolCalls and marks non-text parts", () => {
    const [a, b] = LlmInput.summarize([
      msg({ role: "assistant", content: "", toolCalls: [{ id: "c1", name: "x__y", arguments: { q: 1 } }] }),
      msg({ role: "user", content: [{ type: "image", image: "https://example.com/a.png" }] })
    ])!
    assert.deepStrictEqual(a!.parts, [{ type: "tool-call", toolCallId: "c1", toolName: "x__y", input: "{\"q\":1}" }])
    assert.strictEqual(b!.content, "[image]")
    assert.strictEqual(b!.contentSource, "summary")
  })

  it("keeps the last 64 messages; nothing gives undefined", () => {
    const messages = Array.from({ length: 70 }, (_, i) => msg({ role: "user", content: `m${i}` }))
    const out = LlmInput.summarize(messages)!
    assert.strictEqual(out.length, 64)
    assert.strictEqual(out[0]!.content, "m6")
    assert.strictEqual(out[63]!.content, "m69")
    assert.isUndefined(LlmInput.summarize([]))
  })

  it("sanitises supplied summaries like the reference", () => {
    assert.deepStrictEqual(
      LlmInput.sanitize([
        { role: "user", content: "hi", contentSource: "bogus" },
        { role: 1, content: "x" },
        {
          role: "tool",
          content: "r",
          parts: [{ type: "tool-result", toolCallId: "a", toolName: "b", output: 1 }, {
            type: "text",
            text: "ok",
            truncated: true
          }]
        }
      ]),
      [{ role: "user", content: "hi" }, {
        role: "tool",
        content: "r",
        parts: [{ type: "text", text: "ok", truncated: true }]
      }]
    )
    assert.isUndefined(LlmInput.sanitize([]))
    assert.isUndefined(LlmInput.sanitize("nope"))
  })
})
