import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Bundle, Model } from "effect-swarm"
import * as path from "node:path"

const dir = path.join(import.meta.dirname, "fixtures", "bundle")
const load = Bundle.load(dir).pipe(Effect.provide(NodeContext.layer))

describe("Model from a loaded Bundle", () => {
  it.effect("a scripted Model reads its validated script file", () =>
    Effect.gen(function*() {
      const bundle = yield* load
      const model = yield* Model.fromBundle(bundle, "demo")
      const first = yield* model.generate({ messages: [{ role: "user", content: "What's the weather?" }] })
      assert.deepStrictEqual(first.toolCalls, [{ id: "call_s0_0", name: "weather__get", arguments: { city: "Oslo" } }])
      const second = yield* model.generate({ messages: [{ role: "user", content: "What's the weather?" }] })
      assert.strictEqual(second.text, "It is sunny in Oslo.")
      assert.deepStrictEqual(second.usage, { inputTokens: 12, outputTokens: 6 })
    }))

  it.effect("an inline script, and the resource passed to Model.layer directly", () =>
    Effect.gen(function*() {
      const bundle = yield* load
      const entry = Bundle.find(bundle, "Model", "inline")!
      const model = yield* Model.make(entry.resource)
      assert.strictEqual(model.model, "inline-1")
      assert.strictEqual(
        (yield* model.generate({ messages: [{ role: "user", content: "Hi!" }] })).text,
        "Hello from the inline script."
      )
    }))

  it.effect("an HTTP model reads spec.options (timeout as 5s); an unknown name lists the known ones", () =>
    Effect.gen(function*() {
      const bundle = yield* load
      const local = yield* Model.fromBundle(bundle, "local")
      assert.strictEqual(local.provider, "openai-compatible")
      const error = yield* Effect.flip(Model.fromBundle(bundle, "nope"))
      assert.strictEqual(error.field, "metadata.name")
      assert.include(error.message, "demo, inline, local")
      const file = yield* Effect.flip(Model.make(Bundle.find(bundle, "Model", "demo")!.resource))
      assert.include(file.message, "Model.layerFromBundle")
    }))
})
