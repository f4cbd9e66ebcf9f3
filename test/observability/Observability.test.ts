import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import {
  AgentInstance,
  Bundle,
  EventBus,
  ExtensionState,
  Instances,
  MessageStore,
  RuntimeConfig,
  RuntimeEventLog,
  Scripted,
  ToolRuntime,
  Turn
} from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/agent")

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
  readonly arrayValue?: { readonly values: ReadonlyArray<OtlpValue> }
}
interface OtlpAttribute {
  readonly key: string
  readonly value: OtlpValue
}
interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<OtlpAttribute>
}
interface OtlpPoint {
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly count?: string | number
  readonly sum?: number
  readonly asDouble?: number
  readonly asInt?: string | number
}
interface OtlpMetric {
  readonly name: string
  readonly histogram?: { readonly dataPoints: ReadonlyArray<OtlpPoint> }
  readonly sum?: { readonly dataPoints: ReadonlyArray<OtlpPoint> }
}

const valueOf = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ??
    v.arrayValue?.values.map(valueOf)
const attrs = (list: ReadonlyArray<OtlpAttribute>): Record<string, unknown> =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]))

/** A loopback OTLP/HTTP receiver (JSON protocol): keeps every decoded payload by path. */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly bodies: Map<string, Array<unknown>>; readonly server: http.Server }>(
    (resume) => {
      const bodies = new Map<string, Array<unknown>>()
      const server = http.createServer((req, res) => {
        let text = ""
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => (text += chunk))
        req.on("end", () => {
          const list = bodies.get(req.url ?? "") ?? []
          list.push(JSON.parse(text))
          bodies.set(req.url ?? "", list)
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

const stores = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const root = yield* fs.makeTempDirectoryScoped({ prefix: "es-otel-" })
  return yield* Layer.build(
    Layer.mergeAll(
      MessageStore.layer({ root }),
      RuntimeEventLog.layer({ root }),
      Instances.layer({ root }),
      ExtensionState.layer({ root }),
      EventBus.layer()
    ).pipe(Layer.provideMerge(NodeContext.layer))
  )
})

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

        const spans: Array<OtlpSpan> = (otlp.bodies.get("/v1/traces") ?? []).flatMap((body) =>
          (body as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }).resourceSpans
            .flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
        )
        const byName = (name: string) => spans.filter((s) => s.name === name)
        const [turn] = byName("effect-swarm.turn")
        assert.isDefined(turn, `spans: ${spans.map((s) => s.name)}`)
        assert.strictEqual(new Set(spans.map((s) => s.traceId)).size, 1, "one trace")
        const steps = byName("effect-swarm.step")
        assert.strictEqual(steps.length, 2)
        for (const step of steps) assert.strictEqual(step.parentSpanId, turn!.spanId)
        const chats = byName("chat scripted-small")
        assert.strictEqual(chats.length, 2)
        assert.deepStrictEqual(chats.map((c) => c.parentSpanId).sort(), steps.map((s) => s.spanId).sort())
        const [tool] = byName("effect-swarm.tool")
        assert.strictEqual(
          tool!.parentSpanId,
          steps.find((s) => attrs(s.attributes)["effect_swarm.step.index"] === 0)!.spanId
        )
        const [sandbox] = byName("effect-swarm.sandbox")
        assert.strictEqual(sandbox!.parentSpanId, tool!.spanId, "the subprocess's work is a child of the tool span")

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

        const metrics: Array<OtlpMetric> = (otlp.bodies.get("/v1/metrics") ?? []).flatMap((body) =>
          (body as { resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<OtlpMetric> }> }> })
            .resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
        )
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
        const cost = metric("effect_swarm.cost")!.sum!.dataPoints[0]!
        assert.closeTo(cost.asDouble!, 0.0007, 1e-9)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("90 seconds") }
  )
})
