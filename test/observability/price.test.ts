import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { AgentInstance, Bundle, Turn } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import { agent, docs, swarm, writeBundle } from "../resource/helpers.js"
import { storesLayer } from "../support/stores.js"
import { attrs, metricsOf, receiver, spansOf } from "./otlp.js"

/** A bundle whose scripted Model `default` (model id `priced-small`) declares `price`. */
const pricedBundle = (price: string) =>
  writeBundle({
    "resources.yaml": docs(
      `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: default }
spec:
  provider: scripted
  model: priced-small
${price}
  script:
    - { text: "hello", usage: { inputTokens: 1000, outputTokens: 200 } }
`,
      agent(),
      swarm()
    )
  })

/** One turn of the bundle's agent (its model built from the Model resource) under the observability layer. */
const turnUnder = (dir: string, options: Observability.Options) =>
  Effect.gen(function*() {
    const otlp = yield* receiver
    const bundle = yield* Bundle.load(dir)
    const context = yield* Layer.build(storesLayer(dir))
    const instance = yield* AgentInstance.fromBundle(bundle, { agent: "assistant", instanceKey: "p" }).pipe(
      Effect.provide(context)
    )
    yield* Effect.scoped(
      Turn.run(instance, "hi").pipe(
        Effect.provide(
          Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metricInterval: "1 hour", ...options })
        )
      )
    )
    const chat = spansOf(otlp.bodies).find((s) => s.name === "chat priced-small")
    assert.isDefined(chat)
    const metric = metricsOf(otlp.bodies).find((m) => m.name === "effect_swarm.cost")
    return { chat: attrs(chat!.attributes), cost: metric?.sum?.dataPoints[0] }
  })

describe("Observability: the Model resource's price", () => {
  it.scoped(
    "a bundle Model with spec.price: the chat span carries the price and the cost, the cost metric adds it",
    () =>
      Effect.gen(function*() {
        const dir = yield* pricedBundle("  price: { inputPerMillion: 3, outputPerMillion: 15, currency: USD }")
        const { chat, cost } = yield* turnUnder(dir, {})
        assert.strictEqual(chat["effect_swarm.price.input_per_million"], 3)
        assert.strictEqual(chat["effect_swarm.price.output_per_million"], 15)
        // 1000 * 3 / 1e6 + 200 * 15 / 1e6 = 0.003 + 0.003
        assert.closeTo(chat["effect_swarm.cost.usd"] as number, 0.006, 1e-12)
        assert.isDefined(cost, "the effect_swarm.cost metric arrived")
        assert.closeTo(cost!.asDouble!, 0.006, 1e-12)
        assert.strictEqual(attrs(cost!.attributes)["gen_ai.request.model"], "priced-small")
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )

  it.scoped("the layer's prices table overrides the Model resource's price", () =>
    Effect.gen(function*() {
      const dir = yield* pricedBundle("  price: { inputPerMillion: 3, outputPerMillion: 15 }")
      const { chat, cost } = yield* turnUnder(dir, {
        prices: { "priced-small": { inputPerMillion: 1, outputPerMillion: 5 } }
      })
      // 1000 * 1 / 1e6 + 200 * 5 / 1e6
      assert.closeTo(chat["effect_swarm.cost.usd"] as number, 0.002, 1e-12)
      assert.closeTo(cost!.asDouble!, 0.002, 1e-12)
    }).pipe(Effect.provide(NodeContext.layer)), { timeout: Duration.toMillis("60 seconds") })

  it.scoped("no price anywhere: no cost attribute, no cost metric", () =>
    Effect.gen(function*() {
      const dir = yield* pricedBundle("")
      const { chat, cost } = yield* turnUnder(dir, {})
      assert.isUndefined(chat["effect_swarm.price.input_per_million"])
      assert.isUndefined(chat["effect_swarm.cost.usd"])
      assert.isUndefined(cost)
    }).pipe(Effect.provide(NodeContext.layer)), { timeout: Duration.toMillis("60 seconds") })
})
