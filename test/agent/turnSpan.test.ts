/**
 * `Turn.run`'s own span: opened only when a tracer that records spans is installed (Effect's built-in one
 * records nothing), where it parents the pipeline's turn span; never with the built-in tracer, where it
 * only cost a span and a call-site capture per turn.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, DefaultServices, Effect, Layer, Option, Ref, Tracer } from "effect"
import { AgentInstance, EventBus, Model, Scripted, Turn } from "effect-swarm"

const item = { name: "probe__span", parameters: { type: "object", properties: {} } } as const

/** An in-memory instance whose one tool records the span current when it runs. */
const agentSeeingSpans = Effect.gen(function*() {
  const model = yield* Scripted.make([{ toolCalls: [{ name: "probe__span", arguments: {} }] }, { text: "done" }])
  const agent = yield* AgentInstance.makeInMemory({
    ref: { workspaceId: "w", agentName: "a", instanceKey: "1" },
    model
  })
  const seen = yield* Ref.make<ReadonlyArray<string>>([])
  yield* agent.tools.register(item, () =>
    Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
      Effect.as(
        Ref.update(seen, (all) => [...all, Option.match(span, { onNone: () => "none", onSome: (s) => s.name })]),
        { ok: true }
      )))
  return { agent, seen }
})

describe("Turn.run's span", () => {
  it.scoped("is not opened with Effect's built-in tracer: the turn's body runs under no span", () =>
    Effect.gen(function*() {
      const { agent, seen } = yield* agentSeeingSpans
      const result = yield* Turn.run(agent, "go")
      assert.strictEqual(result.finishReason, "text_response")
      assert.deepStrictEqual(yield* Ref.get(seen), ["none"])
    }).pipe(Effect.provide(Layer.mergeAll(EventBus.layer(), Model.scripted([])))))

  it.scoped("is opened with an installed tracer and parents the pipeline's turn span", () =>
    Effect.gen(function*() {
      const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
      const recorded: Array<{ readonly name: string; readonly spanId: string; readonly parent: string | undefined }> =
        []
      const recording = Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = native.span(name, parent, context, links, startTime, kind, options)
          recorded.push({
            name,
            spanId: span.spanId,
            parent: Option.getOrUndefined(Option.map(parent, (p) => p.spanId))
          })
          return span
        },
        context: (f) => f()
      })
      const { agent, seen } = yield* agentSeeingSpans
      const result = yield* Turn.run(agent, "go").pipe(Effect.withTracer(recording))
      assert.strictEqual(result.finishReason, "text_response")
      const run = recorded.find((r) => r.name === "Turn.run")
      const turn = recorded.find((r) => r.name.startsWith("invoke_agent "))
      assert.isDefined(run, `spans: ${recorded.map((r) => r.name)}`)
      assert.strictEqual(turn?.parent, run!.spanId)
      assert.deepStrictEqual(yield* Ref.get(seen), ["execute_tool probe__span"])
    }).pipe(Effect.provide(Layer.mergeAll(EventBus.layer(), Model.scripted([])))))
})
