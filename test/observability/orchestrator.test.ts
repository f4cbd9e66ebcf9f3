// The orchestrator's metrics (active instances, mailbox depth, restarts): their values while a swarm runs
// (Metric.value) and as exported over OTLP/HTTP by Observability.layer to the loopback receiver. The only
// test in its file: the metrics live in Effect's global registry, and the exported values are absolute.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Metric, Scope } from "effect"
import { Orchestrator } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as OrchestratorMetrics from "../../src/orchestrator/internal/metrics.js"
import { durableContext, echoModel, loadBundle } from "../orchestrator/helpers.js"
import { attrs, metricsOf, receiver } from "./otlp.js"

const active = Metric.value(Metric.tagged(OrchestratorMetrics.activeInstances, "effect_swarm.swarm", "default"))
const crashRestarts = Metric.value(
  Metric.tagged(
    Metric.tagged(OrchestratorMetrics.restarts, "gen_ai.agent.name", "alpha"),
    "effect_swarm.restart.reason",
    "crash"
  )
)

describe("Orchestrator metrics", () => {
  it.scoped(
    "two instances started -> active 2; one released -> 1; a crash restart -> restarts 1 (by agent and reason); mailbox depth per message; all exported over OTLP",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const { context } = yield* durableContext("es-otel-orch-")
        const bundle = yield* loadBundle
        let crashed = false
        // The first "boom" kills its instance (a defect in the model call: the host crashes).
        const model = echoModel((text) =>
          text === "boom" && !crashed
            ? Effect.suspend(() => (crashed = true, Effect.die(new Error("boom"))))
            : Effect.void
        )
        // The orchestrator outlives the observability layer: the final export sees its instances still open.
        const orchestratorScope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(orchestratorScope, Exit.void))

        yield* Effect.scoped(
          Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.make(bundle, "default", {
              models: { alpha: model.service, beta: model.service }
            }).pipe(Effect.provide(context), Scope.extend(orchestratorScope))
            assert.strictEqual((yield* active).value, 0)
            yield* orchestrator.request("alpha@one", "hello")
            yield* orchestrator.request("alpha@two", "hello")
            assert.strictEqual((yield* active).value, 2)
            assert.isTrue(yield* orchestrator.release("alpha@two"))
            assert.strictEqual((yield* active).value, 1)
            assert.strictEqual((yield* crashRestarts).count, 0)
            // Crashes, restarts at once, and the restarted instance answers.
            const result = yield* orchestrator.request("alpha@one", "boom")
            assert.isDefined(result.responseMessage)
            assert.strictEqual((yield* crashRestarts).count, 1)
            assert.strictEqual((yield* active).value, 1)
          }).pipe(Effect.provide(Observability.layer({ endpoint: otlp.url, traces: [], metricInterval: "1 hour" })))
        )

        const metrics = metricsOf(otlp.bodies)
        const metric = (name: string) => metrics.find((m) => m.name === name)
        const gauge = metric("effect_swarm.orchestrator.active_instances")?.gauge?.dataPoints
        assert.isDefined(gauge, `metrics: ${metrics.map((m) => m.name)}`)
        const point = gauge!.find((p) => attrs(p.attributes)["effect_swarm.swarm"] === "default")
        assert.strictEqual(point?.asDouble ?? Number(point?.asInt), 1)
        const restarts = metric("effect_swarm.orchestrator.restarts")!.sum!.dataPoints
        assert.deepStrictEqual(
          restarts.map((p) => [attrs(p.attributes), p.asDouble ?? Number(p.asInt)]),
          [[{ "gen_ai.agent.name": "alpha", "effect_swarm.restart.reason": "crash" }, 1]]
        )
        const depth = metric("effect_swarm.orchestrator.mailbox_depth")!.histogram!.dataPoints
        const alpha = depth.find((p) => attrs(p.attributes)["gen_ai.agent.name"] === "alpha")
        assert.strictEqual(Number(alpha?.count), 3, "one value per accepted message")
        assert.strictEqual(alpha?.sum, 3, "each found an empty mailbox: depth 1 (itself)")
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )
})
