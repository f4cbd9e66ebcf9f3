import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as path from "node:path"
import * as Models from "../../src/cli/internal/models.js"
import * as Bundle from "../../src/resource/Bundle.js"
import type * as Resource from "../../src/resource/Resource.js"
import { repo } from "./bin.js"

const multiAgent = path.join(repo, "examples/bundles/multi-agent")

/** The multi-agent bundle's agents, with only `env` as the environment. */
const choose = (env: Record<string, string>, fallback: string | undefined) =>
  Effect.gen(function*() {
    const bundle = yield* Bundle.load(multiAgent)
    const agents = ["coordinator", "researcher"].map((n) =>
      Bundle.find(bundle, "Agent", n)! as Bundle.Entry<Resource.AgentResource>
    )
    return yield* Models.choose(bundle, agents, fallback)
  }).pipe(
    Effect.provide(
      Layer.merge(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))), NodeContext.layer)
    )
  )

describe("run: which model each agent gets", () => {
  it.effect("an agent whose key is set keeps its provider; only the others get the fallback", () =>
    Effect.gen(function*() {
      const { choices, models } = yield* choose({ ANTHROPIC_API_KEY: "sk-ant-test" }, "offline")
      assert.deepStrictEqual(choices, [
        { agentName: "coordinator", own: "Model/smart (anthropic claude-sonnet-4-5)" },
        {
          agentName: "researcher",
          own: "Model/fast (openai gpt-4.1-mini)",
          fallback: { tried: ["OPENAI_API_KEY"], model: "Model/offline (scripted)" }
        }
      ])
      assert.deepStrictEqual(Object.keys(models), ["researcher"])
    }))

  it.effect("both keys set: nothing is replaced, the fallback is unused", () =>
    Effect.gen(function*() {
      const { choices, models } = yield* choose({ ANTHROPIC_API_KEY: "a", OPENAI_API_KEY: "b" }, "offline")
      assert.isTrue(choices.every((c) => c.fallback === undefined))
      assert.deepStrictEqual(Object.keys(models), [])
    }))

  it.effect("a blank key counts as missing", () =>
    Effect.gen(function*() {
      const { models } = yield* choose({ ANTHROPIC_API_KEY: "  ", OPENAI_API_KEY: "b" }, "offline")
      assert.deepStrictEqual(Object.keys(models), ["coordinator"])
    }))

  it.effect("a missing key without --fallback-model is an error naming the agent, Model and variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(choose({ OPENAI_API_KEY: "b" }, undefined))
      assert.strictEqual(error._tag, "MissingModelKey")
      assert.include(error.message, "agent coordinator: Model/smart (anthropic claude-sonnet-4-5) has no API key")
      assert.include(error.message, "export ANTHROPIC_API_KEY=..., or pass --fallback-model")
    }))

  it.effect("--fallback-model naming no Model of the bundle lists the Models", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(choose({}, "ofline"))
      assert.strictEqual(error._tag, "UnknownFallbackModel")
      assert.include(error.message, "no Model/ofline; its Models: fast, smart, offline")
    }))
})
