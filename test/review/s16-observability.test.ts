/**
 * Session 16 review of observability (issue 20) as an attacker and a new user: tool names the model makes
 * up became metric labels (one series per invented name), a model-chosen tool name of any length went
 * into every span, and a zero or negative metric interval crashed the layer instead of a typed error.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Layer } from "effect"
import { AgentInstance, EventBus, Scripted, Turn } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import { attrs, metricsOf, receiver, spansOf } from "../observability/otlp.js"

const ref = { workspaceId: "review", agentName: "liar", instanceKey: "1" }

describe("s16 review: observability", () => {
  it.scoped(
    "tool names the model invents do not become metric series, and a huge one is cut on the span",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const invented = Array.from({ length: 6 }, (_, i) => `made_up__tool_${i}_${"x".repeat(i * 5)}`)
        const huge = `huge__${"y".repeat(100_000)}`
        const model = yield* Scripted.make([
          { toolCalls: [...invented, huge].map((name) => ({ name, arguments: {} })) },
          { text: "done" }
        ], { model: "scripted-small" })
        const agent = yield* AgentInstance.makeInMemory({ ref, model }).pipe(Effect.provide(EventBus.layer()))
        yield* Effect.scoped(
          Turn.run(agent, "call tools that do not exist").pipe(
            Effect.provide(Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metricInterval: "1 hour" }))
          )
        )
        const metrics = metricsOf(otlp.bodies)
        const labels = (name: string) =>
          (metrics.find((m) => m.name === name)?.histogram?.dataPoints ??
            metrics.find((m) => m.name === name)?.sum?.dataPoints ?? [])
            .map((p) => attrs(p.attributes)["gen_ai.tool.name"])
        assert.deepStrictEqual(labels("effect_swarm.tool.duration"), ["_OTHER"])
        assert.deepStrictEqual(labels("effect_swarm.tool.errors"), ["_OTHER"])
        const tools = spansOf(otlp.bodies).filter((s) => s.name === "effect-swarm.tool")
        assert.strictEqual(tools.length, 7)
        for (const span of tools) {
          const name = attrs(span.attributes)["gen_ai.tool.name"] as string
          assert.isAtMost(name.length, 256 + 30, "a model-chosen tool name is cut")
        }
        assert.isAtMost(JSON.stringify(otlp.bodies.get("/v1/traces")).length, 60_000)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )

  it.scoped("a zero, negative or non-finite metric interval is a typed ConfigError, never a crash", () =>
    Effect.gen(function*() {
      for (const env of ["0", "-5", "Infinity"]) {
        const exit = yield* Effect.exit(
          Layer.build(Observability.layer({ endpoint: "http://127.0.0.1:9", traces: [] })).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_METRIC_EXPORT_INTERVAL", env]]))),
            Effect.scoped
          )
        )
        assert.isTrue(Exit.isFailure(exit), env)
        if (Exit.isFailure(exit)) {
          assert.strictEqual(exit.cause._tag, "Fail", `OTEL_METRIC_EXPORT_INTERVAL=${env}: ${String(exit.cause)}`)
          assert.include(String(exit.cause), "OTEL_METRIC_EXPORT_INTERVAL")
        }
      }
      for (const interval of ["0 seconds", -1000, Number.NaN] as const) {
        const exit = yield* Effect.exit(
          Layer.build(Observability.layer({ endpoint: "http://127.0.0.1:9", traces: [], metricInterval: interval }))
            .pipe(Effect.scoped)
        )
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `metricInterval ${String(interval)}`)
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), "metricInterval")
      }
    }))
})
