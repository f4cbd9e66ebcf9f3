import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { Model } from "effect-swarm"

const user = (content: string): Model.Request => ({ messages: [{ role: "user", content }] })

describe("scripted model", () => {
  it.effect("steps in order; match is a case-insensitive substring or /regex/flags of the last user message", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const first = yield* model.generate(user("What is the WEATHER in Oslo?"))
      assert.deepStrictEqual(first.message, {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "call_s1_0", name: "weather__get", arguments: { city: "Oslo" } }]
      })
      assert.strictEqual(first.finishReason, "tool-calls")
      // the regex step is skipped (no match), the plain step answers
      const second = yield* model.generate(user("thanks"))
      assert.strictEqual(second.text, "You are welcome.")
      assert.strictEqual(second.finishReason, "stop")
      const third = yield* model.generate(user("Order #42 please"))
      assert.strictEqual(third.text, "Order found.")
      assert.deepStrictEqual(third.usage, { inputTokens: 3, outputTokens: 2 })
      const error = yield* Effect.flip(model.generate(user("again")))
      assert.strictEqual(error._tag, "ModelProtocolError")
      assert.include(error.message, "no script step left for the last user message \"again\"")
    }).pipe(Effect.provide(Model.scripted([
      { match: "/order #\\d+/i", text: "Order found.", usage: { inputTokens: 3, outputTokens: 2 } },
      { match: "weather", toolCalls: [{ name: "weather__get", arguments: { city: "Oslo" } }] },
      { text: "You are welcome." }
    ]))))

  it.effect("raw string arguments stay raw when they are not a JSON object; ids can be given", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const r = yield* model.generate(user("go"))
      assert.deepStrictEqual(r.toolCalls, [
        { id: "c-1", name: "a__b", arguments: "{\"broken\": " },
        { id: "call_s0_1", name: "a__c", arguments: { ok: true } }
      ])
    }).pipe(Effect.provide(Model.scripted([{
      toolCalls: [{ name: "a__b", id: "c-1", arguments: "{\"broken\": " }, { name: "a__c", arguments: "{\"ok\":true}" }]
    }]))))

  it.effect("stream gives the text, the calls and Finish with the same response", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(model.stream(user("hi"))))
      assert.deepStrictEqual(parts.map((p) => p._tag), ["TextDelta", "ToolCallStart", "ToolCallDelta", "Finish"])
      const last = parts[3]!
      assert.strictEqual(last._tag === "Finish" && last.response.text, "Looking.")
    }).pipe(Effect.provide(Model.scripted([{ text: "Looking.", toolCalls: [{ name: "x__y" }] }]))))

  it.effect("text quotes the latest tool results: {{tool.path}} (tool-result parts and tool messages)", () =>
    Effect.gen(function*() {
      const model = yield* Model.Model
      const r = yield* model.generate({
        messages: [
          { role: "user", content: "what do you remember?" },
          {
            role: "tool",
            content: [{ type: "tool-result", toolCallId: "a", toolName: "notes__list", output: { notes: ["old"] } }]
          },
          {
            role: "tool",
            content: [{
              type: "tool-result",
              toolCallId: "b",
              toolName: "notes__list",
              output: { notes: ["the demo ran"] }
            }]
          },
          { role: "tool", content: "{\"iso\":\"2026-01-01T00:00:00Z\"}", toolCallId: "c", toolName: "clock__now" }
        ]
      })
      assert.strictEqual(
        r.text,
        "I remember \"the demo ran\" (noted at 2026-01-01T00:00:00Z); all: [\"the demo ran\"]; missing: ."
      )
    }).pipe(Effect.provide(Model.scripted([{
      text:
        "I remember \"{{notes__list.notes.0}}\" (noted at {{ clock__now.iso }}); all: {{notes__list.notes}}; missing: {{x__y.z}}."
    }]))))

  it.effect("a bad regex fails when the layer is built, naming the step", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(Model.scripted([{ text: "a" }, { match: "/(/", text: "b" }])).pipe(
          Effect.scoped
        )
      )
      assert.strictEqual(error._tag, "ModelConfigError")
      assert.strictEqual(error.field, "spec.script[1].match")
    }))

  it.effect("Model.layer builds a scripted model from a resource with a script", () =>
    Effect.gen(function*() {
      const model = yield* Model.make({ metadata: { name: "demo" }, spec: { provider: "scripted", model: "demo-1" } }, {
        script: [{ text: "hello" }]
      })
      assert.strictEqual(model.provider, "scripted")
      assert.strictEqual((yield* model.generate(user("hi"))).text, "hello")
    }))
})
