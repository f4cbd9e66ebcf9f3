/**
 * Session 16 review of observability (issue 20) as an attacker and a new user: tool names the model makes
 * up became metric labels (one series per invented name), a model-chosen tool name of any length went
 * into every span, and a zero or negative metric interval crashed the layer instead of a typed error.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Duration, Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { AgentInstance, EventBus, Scripted, Turn } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { attrs, metricsOf, receiver, spansOf } from "../observability/otlp.js"

/** A collector that answers every request with `status`, or (`"hang"`) never answers; counts requests. */
const collector = (status: number | "hang") =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly requests: () => number; readonly server: http.Server }>((resume) => {
      let requests = 0
      const open = new Set<http.ServerResponse>()
      const server = http.createServer((req, res) => {
        requests++
        req.resume()
        if (status === "hang") open.add(res)
        else req.on("end", () => res.writeHead(status).end("collector down"))
      })
      server.on("close", () => open.forEach((res) => res.destroy()))
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          requests: () => requests,
          server
        })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

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
        const tools = spansOf(otlp.bodies).filter((s) => s.name.startsWith("execute_tool "))
        assert.strictEqual(tools.length, 7)
        for (const span of tools) {
          const name = attrs(span.attributes)["gen_ai.tool.name"] as string
          assert.isAtMost(name.length, 256 + 30, "a model-chosen tool name is cut")
        }
        assert.isAtMost(JSON.stringify(otlp.bodies.get("/v1/traces")).length, 60_000)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )

  for (const status of [500, 503] as const) {
    it.live(
      `a collector answering ${status}: the turn succeeds and closing the layer does not fail`,
      () =>
        Effect.gen(function*() {
          const down = yield* collector(status)
          const model = yield* Scripted.make([{ text: "fine" }], { model: "scripted-small" })
          const agent = yield* AgentInstance.makeInMemory({ ref, model }).pipe(Effect.provide(EventBus.layer()))
          const result = yield* Effect.scoped(
            Turn.run(agent, "hello").pipe(
              Effect.provide(Observability.layer({ endpoint: down.url, traces: ["otlp"], metricInterval: "1 hour" }))
            )
          )
          assert.strictEqual(result.finishReason, "text_response")
          assert.isAtLeast(down.requests(), 1, "the layer tried to export")
        }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
      30_000
    )
  }

  it.scoped(
    "a collector that never answers: closing the layer ends at its 3 s shutdown bound (TestClock)",
    () =>
      Effect.gen(function*() {
        // The exporters' own request timeout (10 s by default) far away: only the layer's bound can end the close.
        const before = process.env["OTEL_EXPORTER_OTLP_TIMEOUT"]
        process.env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "120000"
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (before === undefined) delete process.env["OTEL_EXPORTER_OTLP_TIMEOUT"]
            else process.env["OTEL_EXPORTER_OTLP_TIMEOUT"] = before
          })
        )
        const hung = yield* collector("hang")
        const model = yield* Scripted.make([{ text: "fine" }], { model: "scripted-small" })
        const agent = yield* AgentInstance.makeInMemory({ ref, model }).pipe(Effect.provide(EventBus.layer()))
        const fiber = yield* Effect.fork(Effect.scoped(
          Turn.run(agent, "hello").pipe(
            Effect.provide(Observability.layer({ endpoint: hung.url, traces: ["otlp"], metricInterval: "1 hour" }))
          )
        ))
        // The turn is done and the layer is closing: the tracer's flush, then the metrics', each waits on the Clock.
        const tick = Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        const done = Effect.map(Fiber.poll(fiber), (exit) => exit._tag === "Some")
        const waiting = TestClock.sleeps().pipe(
          Effect.zipLeft(tick),
          Effect.zip(done),
          Effect.repeat({ until: ([sleeps, over]) => over || (Chunk.size(sleeps) >= 1 && hung.requests() >= 1) })
        )
        for (let i = 0; i < 10 && !(yield* done); i++) {
          yield* waiting
          yield* TestClock.adjust("3 seconds")
        }
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.finishReason, "text_response")
      }).pipe(Effect.provide(NodeContext.layer)),
    20_000
  )

  it.scoped("an endpoint that is no http(s) URL is a typed ConfigError naming it, never a crash or a silent no-op", () =>
    Effect.gen(function*() {
      for (const endpoint of ["not a url", "", "localhost:4318", "ftp://collector:4318"]) {
        const exit = yield* Effect.exit(
          Layer.build(Observability.layer({ endpoint, traces: ["otlp"] })).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
            Effect.scoped
          )
        )
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `endpoint '${endpoint}': ${String(exit)}`)
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), "endpoint must be an http(s) URL")
      }
      for (const variable of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
        const exit = yield* Effect.exit(
          Layer.build(Observability.layer({ traces: ["otlp"] })).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([[variable, "localhost:4318"]]))),
            Effect.scoped
          )
        )
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", variable)
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), `${variable} must be an http(s) URL`)
      }
      const ok = yield* Effect.exit(
        Layer.build(Observability.layer({ endpoint: "https://127.0.0.1:9/", traces: [], metrics: false })).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
          Effect.scoped
        )
      )
      assert.isTrue(Exit.isSuccess(ok), String(ok))
    }))

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
