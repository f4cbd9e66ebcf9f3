import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Random, Schema } from "effect"
import { RuntimeEvent, Trace } from "effect-swarm"

describe("Trace", () => {
  it.effect("makes W3C ids from Random, deterministic under a fixed Random", () =>
    Effect.gen(function*() {
      const root = yield* Trace.make()
      assert.isTrue(Trace.isTraceId(root.traceId))
      assert.isTrue(Trace.isSpanId(root.spanId))
      assert.isUndefined(root.parentSpanId)
      const child = yield* Trace.make(root)
      assert.strictEqual(child.traceId, root.traceId)
      assert.strictEqual(child.parentSpanId, root.spanId)
      assert.notStrictEqual(child.spanId, root.spanId)
      const a = yield* Effect.withRandom(Trace.make(), Random.make("seed"))
      const b = yield* Effect.withRandom(Trace.make(), Random.make("seed"))
      assert.deepStrictEqual(a, b)
    }))

  it("never produces an all-zero id", () => {
    const zero = Effect.runSync(Effect.withRandom(Trace.makeSpanId, Random.fixed([0])))
    assert.isTrue(Trace.isSpanId(zero))
  })

  it("round-trips traceparent headers and rejects malformed ones", () => {
    const ctx = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
    const header = Trace.toTraceparent(ctx)
    assert.strictEqual(header, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert.deepStrictEqual(Trace.fromTraceparent(header), Option.some(ctx))
    for (
      const bad of [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"
      ]
    ) assert.isTrue(Option.isNone(Trace.fromTraceparent(bad)), bad)
  })

  it.effect("withSpan: the tracer's span ids, and a caller context as parent", () =>
    Effect.gen(function*() {
      const caller = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
      const [trace, current] = yield* Trace.withSpan("work", caller, (trace) =>
        Effect.map(Trace.current, (c) =>
          [trace, c] as const))
      assert.strictEqual(trace.traceId, caller.traceId)
      assert.strictEqual(trace.parentSpanId, caller.spanId)
      assert.deepStrictEqual(current, Option.some({ traceId: trace.traceId, spanId: trace.spanId }))
      // Without a parent, the current span is the parent.
      const nested = yield* Effect.withSpan(
        Effect.flatMap(Effect.currentSpan, (outer) =>
          Trace.withSpan("inner", undefined, (t) =>
            Effect.succeed([outer.spanId, t] as const))),
        "outer"
      )
      assert.strictEqual(nested[1].parentSpanId, nested[0])
    }))

  it("RuntimeEvent rejects ids that are not W3C", () => {
    const decode = Schema.decodeUnknownEither(RuntimeEvent.RuntimeEvent)
    const event = {
      type: "turn.started",
      timestamp: "2026-01-01T00:00:00.000Z",
      agentName: "a",
      instanceKey: "i",
      turnId: "t",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7"
    }
    assert.isTrue(decode(event)._tag === "Right")
    assert.isTrue(decode({ ...event, traceId: "aabb0011" })._tag === "Left")
    assert.isTrue(decode({ ...event, type: "turn.paused" })._tag === "Left")
  })
})
