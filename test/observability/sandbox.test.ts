import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { RuntimeConfig, ToolRuntime, Trace } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { attrs, durationMs, receiver, spansOf } from "./otlp.js"

const tools = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/observability/tools.mjs")

describe("Observability: the sandboxed tool's own span", () => {
  it.scoped(
    "the worker gets the caller's traceparent, reports its run, and the host records it as a child span (an error too)",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const runtime = ToolRuntime.layer.pipe(
          Layer.provide(RuntimeConfig.layer("node", RuntimeConfig.withEntrypointPath(tools)))
        )
        const caller = yield* Effect.scoped(
          Effect.gen(function*() {
            const sandbox = yield* ToolRuntime.ToolRuntime
            return yield* Effect.gen(function*() {
              const span = yield* Effect.currentSpan
              const origin = { caller: "a@main", traceparent: Trace.toTraceparent(span) }
              const ok = yield* sandbox.execute({ toolId: "traced", input: { ms: 30 }, origin })
              const failed = yield* Effect.flip(sandbox.execute({ toolId: "fails", input: {}, origin }))
              // Without a traceparent there is nothing to hang a span on: none is recorded.
              yield* sandbox.execute({ toolId: "traced", input: { ms: 0 } })
              return { span, ok, failed }
            }).pipe(Effect.withSpan("caller"))
          }).pipe(
            Effect.provide(Layer.merge(
              runtime,
              Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metrics: false })
            ))
          )
        )
        assert.deepStrictEqual(caller.ok, { traceparent: Trace.toTraceparent(caller.span) }, "ctx.traceparent")
        assert.strictEqual(caller.failed._tag, "ToolThrew")

        const spans = spansOf(otlp.bodies)
        const workers = spans.filter((s) => s.name === "effect-swarm.sandbox.worker")
        assert.strictEqual(workers.length, 2, `spans: ${spans.map((s) => s.name)}`)
        for (const worker of workers) {
          assert.strictEqual(worker.traceId, caller.span.traceId)
          assert.strictEqual(worker.parentSpanId, caller.span.spanId)
        }
        const [ok, failed] = [
          workers.find((w) => attrs(w.attributes)["effect_swarm.sandbox.export"] === "traced")!,
          workers.find((w) => attrs(w.attributes)["effect_swarm.sandbox.export"] === "fails")!
        ]
        // TestClock does not move: the span's length is what the worker measured (a 30 ms timer in it).
        assert.isAtLeast(durationMs(ok), 25)
        assert.notStrictEqual(ok.status?.code, 2)
        assert.strictEqual(failed.status?.code, 2, "error status")
        assert.strictEqual(attrs(failed.attributes)["error.type"], "RangeError")
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )
})
