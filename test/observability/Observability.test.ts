import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { AgentInstance, Bundle, Model, RuntimeConfig, Scripted, ToolRuntime, Turn } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Server from "../model/server.js"
import { durableStores } from "../support/stores.js"
import { attrs, durationMs, metricsOf, type OtlpSpan, receiver, spansOf } from "./otlp.js"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/agent")

const stores = Effect.map(durableStores("es-otel-"), (s) => s.context)

/** The `sandboxed` agent of the fixture bundle (a node-sandboxed `calc__add`) on the given model. */
const sandboxedAgent = (model: Model.Service) =>
  Effect.gen(function*() {
    const context = yield* stores
    const bundle = yield* Bundle.load(bundleDir)
    const runtime = yield* Layer.build(ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node"))))
    return yield* AgentInstance.fromBundle(bundle, { agent: "sandboxed", instanceKey: "o", model }).pipe(
      Effect.provide(context),
      Effect.provide(runtime)
    )
  })

const addScript = Scripted.make([
  { toolCalls: [{ name: "calc__add", arguments: { a: 2, b: 3 } }], usage: { inputTokens: 100, outputTokens: 20 } },
  { text: "five", usage: { inputTokens: 150, outputTokens: 5 } }
], { model: "scripted-small" })

describe("Observability", () => {
  it.scoped(
    "one turn with a sandboxed tool: the span tree over OTLP/HTTP with GenAI attributes, no content, metrics with the values",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const context = yield* stores
        const bundle = yield* Bundle.load(bundleDir)
        const model = yield* Scripted.make([
          {
            toolCalls: [{ name: "calc__add", arguments: { a: 2, b: 3 } }],
            usage: { inputTokens: 100, outputTokens: 20 }
          },
          { text: "five", usage: { inputTokens: 150, outputTokens: 5 } }
        ], { model: "scripted-small" })
        const runtime = yield* Layer.build(ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node"))))
        const agent = yield* AgentInstance.fromBundle(bundle, { agent: "sandboxed", instanceKey: "o", model }).pipe(
          Effect.provide(context),
          Effect.provide(runtime)
        )
        yield* Effect.scoped(
          Turn.run(agent, "add 2 and 3").pipe(
            Effect.provide(Observability.layer({
              endpoint: otlp.url,
              traces: ["otlp"],
              metricInterval: "1 hour",
              prices: { "scripted-small": { inputPerMillion: 2, outputPerMillion: 8 } }
            }))
          )
        )

        const spans: Array<OtlpSpan> = spansOf(otlp.bodies)
        const byName = (name: string) => spans.filter((s) => s.name === name)
        const [turn] = byName("invoke_agent sandboxed")
        assert.isDefined(turn, `spans: ${spans.map((s) => s.name)}`)
        assert.strictEqual(new Set(spans.map((s) => s.traceId)).size, 1, "one trace")
        const steps = byName("effect-swarm.step")
        assert.strictEqual(steps.length, 2)
        for (const step of steps) assert.strictEqual(step.parentSpanId, turn!.spanId)
        const chats = byName("chat scripted-small")
        assert.strictEqual(chats.length, 2)
        assert.deepStrictEqual(chats.map((c) => c.parentSpanId).sort(), steps.map((s) => s.spanId).sort())
        const [tool] = byName("execute_tool calc__add")
        assert.strictEqual(
          tool!.parentSpanId,
          steps.find((s) => attrs(s.attributes)["effect_swarm.step.index"] === 0)!.spanId
        )
        const [sandbox] = byName("effect-swarm.sandbox")
        assert.strictEqual(sandbox!.parentSpanId, tool!.spanId, "the host's sandbox work is a child of the tool span")
        // The worker's own span: parented by the traceparent the worker got, timed by the worker.
        const [worker] = byName("effect-swarm.sandbox.worker")
        assert.isDefined(worker, `spans: ${spans.map((s) => s.name)}`)
        assert.strictEqual(worker!.traceId, tool!.traceId)
        assert.strictEqual(worker!.parentSpanId, tool!.spanId, "the subprocess's work is a child of the tool span")
        assert.deepStrictEqual(attrs(worker!.attributes), {
          "effect_swarm.sandbox.export": "add",
          "process.runtime.name": "node"
        })
        assert.isAtLeast(durationMs(worker!), 0)

        const turnAttrs = attrs(turn!.attributes)
        assert.strictEqual(turnAttrs["gen_ai.operation.name"], "invoke_agent")
        assert.strictEqual(turnAttrs["gen_ai.agent.name"], "sandboxed")
        assert.strictEqual(turnAttrs["effect_swarm.turn.finish_reason"], "text_response")
        assert.strictEqual(turnAttrs["gen_ai.usage.input_tokens"], 250)
        assert.strictEqual(turnAttrs["gen_ai.usage.output_tokens"], 25)
        const chat = attrs(chats[0]!.attributes)
        assert.strictEqual(chat["gen_ai.operation.name"], "chat")
        assert.strictEqual(chat["gen_ai.request.model"], "scripted-small")
        assert.strictEqual(chat["gen_ai.provider.name"], "scripted")
        const costs = chats.map((c) => attrs(c.attributes)["effect_swarm.cost.usd"] as number).sort()
        assert.deepStrictEqual(costs.map((c) => c.toFixed(6)), ["0.000340", "0.000360"])
        const toolAttrs = attrs(tool!.attributes)
        assert.strictEqual(toolAttrs["gen_ai.operation.name"], "execute_tool")
        assert.strictEqual(toolAttrs["gen_ai.tool.name"], "calc__add")
        assert.isString(toolAttrs["gen_ai.tool.call.id"])
        assert.strictEqual(toolAttrs["effect_swarm.tool.status"], "ok")
        // No message content anywhere: neither the prompt nor the answer nor the tool's arguments.
        const exported = JSON.stringify(spans)
        for (const content of ["add 2 and 3", "five", "\"a\":2"]) assert.notInclude(exported, content)

        const metrics = metricsOf(otlp.bodies)
        const metric = (name: string) => metrics.find((m) => m.name === name)
        const tokens = metric("gen_ai.client.token.usage")!.histogram!.dataPoints
        const sumOf = (type: string) =>
          tokens.filter((p) => attrs(p.attributes)["gen_ai.token.type"] === type).reduce((n, p) => n + p.sum!, 0)
        assert.strictEqual(sumOf("input"), 250)
        assert.strictEqual(sumOf("output"), 25)
        assert.strictEqual(attrs(tokens[0]!.attributes)["gen_ai.request.model"], "scripted-small")
        assert.strictEqual(Number(metric("effect_swarm.turn.duration")!.histogram!.dataPoints[0]!.count), 1)
        assert.strictEqual(Number(metric("effect_swarm.step.duration")!.histogram!.dataPoints[0]!.count), 2)
        const toolPoint = metric("effect_swarm.tool.duration")!.histogram!.dataPoints[0]!
        assert.strictEqual(attrs(toolPoint.attributes)["gen_ai.tool.name"], "calc__add")
        assert.strictEqual(Number(toolPoint.count), 1)
        // The conventions' duration metrics of the agent invocation and the tool execution.
        const agentPoint = metric("gen_ai.invoke_agent.duration")!.histogram!.dataPoints[0]!
        assert.deepStrictEqual(attrs(agentPoint.attributes), {
          "gen_ai.operation.name": "invoke_agent",
          "gen_ai.agent.name": "sandboxed"
        })
        assert.strictEqual(Number(agentPoint.count), 1)
        const executePoint = metric("gen_ai.execute_tool.duration")!.histogram!.dataPoints[0]!
        assert.deepStrictEqual(attrs(executePoint.attributes), {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": "calc__add"
        })
        assert.strictEqual(Number(executePoint.count), 1)
        const cost = metric("effect_swarm.cost")!.sum!.dataPoints[0]!
        assert.closeTo(cost.asDouble!, 0.0007, 1e-9)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("90 seconds") }
  )

  it.scoped(
    "streamed turn with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: contents on the spans, time to first chunk as attribute and histogram",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const agent = yield* sandboxedAgent(yield* addScript)
        const env = ConfigProvider.fromMap(new Map([["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"]]))
        const events = yield* Effect.scoped(
          Turn.stream(agent, "add 2 and 3").pipe(
            Stream.runCollect,
            Effect.provide(
              Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metricInterval: "1 hour" }).pipe(
                Layer.provide(Layer.setConfigProvider(env))
              )
            )
          )
        )
        assert.isTrue(Chunk.some(events, (e) => e._tag === "Delta"), "the turn streamed")

        const spans = spansOf(otlp.bodies)
        const chats = spans.filter((s) => s.name === "chat scripted-small").map((c) => attrs(c.attributes))
        assert.strictEqual(chats.length, 2)
        for (const chat of chats) {
          assert.isAtLeast(chat["gen_ai.response.time_to_first_chunk"] as number, 0)
          assert.include(chat["gen_ai.input.messages"] as string, "add 2 and 3")
        }
        assert.isTrue(chats.some((c) => (c["gen_ai.output.messages"] as string).includes("five")))
        const tool = attrs(spans.find((s) => s.name === "execute_tool calc__add")!.attributes)
        assert.deepStrictEqual(JSON.parse(tool["gen_ai.tool.call.arguments"] as string), { a: 2, b: 3 })
        assert.deepStrictEqual(JSON.parse(tool["gen_ai.tool.call.result"] as string), { sum: 5 })

        const ttfc = metricsOf(otlp.bodies).find((m) => m.name === "gen_ai.client.operation.time_to_first_chunk")
        assert.strictEqual(Number(ttfc!.histogram!.dataPoints[0]!.count), 2)
        assert.strictEqual(attrs(ttfc!.histogram!.dataPoints[0]!.attributes)["gen_ai.request.model"], "scripted-small")
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("90 seconds") }
  )

  it.scoped(
    "a model call retried over HTTP (429, then 200): a retry event on the model-call span and the http_retries metric; no content without the opt-in",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const server = yield* Server.make(
          Server.json("openai-compatible", "error-429.json", 429, { "retry-after": "2" }),
          Server.json("openai-compatible", "text.json")
        )
        const model = yield* Model.make({
          metadata: { name: "local" },
          spec: { provider: "openai-compatible", model: "llama3.1", endpoint: server.url }
        })
        const agent = yield* sandboxedAgent(model)
        const fiber = yield* Effect.fork(Effect.scoped(
          Turn.run(agent, "say hello").pipe(
            Effect.provide(Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metricInterval: "1 hour" }))
          )
        ))
        yield* Server.sleepingFor(2000)
        yield* TestClock.adjust("2 seconds")
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.finishReason, "text_response")
        assert.strictEqual(server.requests.length, 2)

        const spans = spansOf(otlp.bodies)
        const [chat] = spans.filter((s) => s.name === "chat llama3.1")
        // On the model call's own span (the provider's `Model.generate`, a child of the chat span).
        const holders = spans.filter((s) => (s.events ?? []).some((e) => e.name === "effect_swarm.model.retry"))
        assert.strictEqual(holders.length, 1)
        assert.isTrue(holders[0]!.spanId === chat!.spanId || holders[0]!.parentSpanId === chat!.spanId)
        const retries = holders[0]!.events!.filter((e) => e.name === "effect_swarm.model.retry")
        assert.strictEqual(retries.length, 1)
        assert.strictEqual(attrs(retries[0]!.attributes)["http.response.status_code"], "429")
        assert.strictEqual(attrs(retries[0]!.attributes)["effect_swarm.retry.wait_ms"], 2000)
        const exported = JSON.stringify(spans)
        for (const key of ["gen_ai.input.messages", "gen_ai.output.messages", "say hello"]) {
          assert.notInclude(exported, key)
        }

        const metric = metricsOf(otlp.bodies).find((m) => m.name === "effect_swarm.model.http_retries")
        const point = metric!.sum!.dataPoints[0]!
        assert.strictEqual(Number(point.asInt ?? point.asDouble), 1)
        assert.deepStrictEqual(attrs(point.attributes), {
          "gen_ai.provider.name": "openai-compatible",
          "http.response.status_code": "429",
          "error.type": "ModelRateLimited"
        })
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("90 seconds") }
  )
})
