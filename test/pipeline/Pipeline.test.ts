import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Context,
  DefaultServices,
  Deferred,
  Effect,
  Fiber,
  FiberRef,
  Layer,
  Option,
  Queue,
  Random,
  Schema,
  Tracer
} from "effect"
import { EventBus, Middleware, Pipeline, RuntimeEvent, ToolExecutor, ToolRegistry } from "effect-swarm"

const Live = Pipeline.layer().pipe(Layer.provideMerge(EventBus.layer()))

const setup = Effect.gen(function*() {
  const pipeline = yield* Pipeline.Pipeline
  const bus = yield* EventBus.EventBus
  const queue = yield* bus.subscribe
  const conversation = yield* Middleware.conversationInMemory()
  const events = Effect.map(Queue.takeAll(queue), (c) => Chunk.toReadonlyArray(c))
  const turnInput = (extra?: Partial<Pipeline.TurnInput>): Pipeline.TurnInput => ({
    agentName: "alpha",
    instanceKey: "inst-01",
    turnId: "turn-1",
    conversation,
    ...extra
  })
  return { pipeline, events, conversation, turnInput }
})

const stepResult = (extra?: Partial<Middleware.StepResult>): Middleware.StepResult => ({
  status: "completed",
  shouldContinue: false,
  toolCalls: [],
  toolResults: [],
  metadata: {},
  ...extra
})

const okTool = (ctx: Middleware.ToolCallContext) =>
  Effect.succeed<ToolExecutor.ToolCallResult>({
    toolCallId: ctx.toolCallId,
    toolName: ctx.toolName,
    status: "ok",
    output: "ok"
  })

const traceId = "aabbccddeeff00112233445566778899"
const callerSpan = "0123456789abcdef"

/** A turn of one step with one tool call. */
const fullTurn = (
  pipeline: Pipeline.Service,
  input: Pipeline.TurnInput,
  tool: (ctx: Middleware.ToolCallContext) => Effect.Effect<ToolExecutor.ToolCallResult> = okTool
) =>
  pipeline.runTurn(
    input,
    (turn) =>
      pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [{ name: "bash__exec" }] }, (step) =>
        Effect.map(
          pipeline.runToolCall({ step, toolCallId: "tc-1", toolName: "bash__exec", args: {} }, tool),
          (r) => stepResult({ toolCalls: [{ id: "tc-1", name: "bash__exec", args: {} }], toolResults: [r] })
        )).pipe(Effect.as<Middleware.TurnResult>({ turnId: turn.turnId, finishReason: "text_response" }))
  )

const byType = <T extends RuntimeEvent.Type>(events: ReadonlyArray<RuntimeEvent.RuntimeEvent>, type: T) =>
  events.filter((e): e is RuntimeEvent.Of<T> => e.type === type)

describe("Pipeline (reference pipeline-registry)", () => {
  it.scoped("step onion: lower priority outer, ties in registration order", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      const log: Array<string> = []
      const mw = (name: string): Middleware.StepMiddleware => (_ctx, next) =>
        Effect.sync(() => log.push(`${name}:pre`)).pipe(
          Effect.zipRight(next),
          Effect.tap(() => Effect.sync(() => log.push(`${name}:post`)))
        )
      yield* pipeline.register("step", mw("A"), { priority: 10 })
      yield* pipeline.register("step", mw("B"), { priority: 5 })
      yield* pipeline.register("step", mw("C"), { priority: 10 })
      const result = yield* pipeline.runTurn(turnInput(), (turn) =>
        pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, () =>
          Effect.sync(() => {
            log.push("core")
            return stepResult()
          })).pipe(Effect.map((r) => ({ turnId: turn.turnId, finishReason: "text_response" as const, step: r }))))
      assert.deepStrictEqual(log, ["B:pre", "A:pre", "C:pre", "core", "C:post", "A:post", "B:post"])
      assert.strictEqual((result as any).step.status, "completed")
    }).pipe(Effect.provide(Live)))

  it.scoped("exposes ctx.agents in turn and step middlewares", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      const agents: Middleware.AgentsApi = {
        ...Middleware.agentsUnavailable,
        send: (r) => Effect.succeed({ accepted: true, target: r.target, correlationId: "c1" }),
        request: (r) =>
          Effect.succeed({ target: r.target, correlationId: "c2", async: false, response: `reply:${r.input}` })
      }
      let accepted = false
      let response: unknown
      yield* pipeline.register("turn", (ctx, next) =>
        Effect.flatMap(Effect.orDie(ctx.agents.send({ target: "observer" })), (r) => {
          accepted = r.accepted
          return next
        }))
      yield* pipeline.register("step", (ctx, next) =>
        Effect.flatMap(Effect.orDie(ctx.agents.request({ target: "retriever", input: "step-pre" })), (r) => {
          response = r.response
          return next
        }))
      yield* fullTurn(pipeline, turnInput({ agents }))
      assert.isTrue(accepted)
      assert.strictEqual(response, "reply:step-pre")
      // toolCall contexts have no agents API.
      yield* pipeline.register("toolCall", (ctx, next) => {
        assert.isFalse("agents" in ctx)
        return next
      })
      yield* fullTurn(pipeline, turnInput({ agents }))
    }).pipe(Effect.provide(Live)))

  it.scoped("without an orchestrator the agents API fails with a typed error", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      const error = yield* pipeline.runTurn(turnInput(), (ctx) =>
        Effect.flip(ctx.agents.request({ target: "x" })).pipe(
          Effect.map((e) => ({
            turnId: "t",
            finishReason: "error" as const,
            error: { message: e.message, code: e.code }
          }))
        ))
      assert.strictEqual(error.error?.code, "AGENT_API_UNAVAILABLE")
    }).pipe(Effect.provide(Live)))

  it.scoped("step.started includes the LLM input messages supplied in metadata, sanitised", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      const input = [{ role: "system", content: "You are coder." }, { role: "user", content: "Fix this bug." }]
      const summary = [{
        role: "tool",
        content: "[tool-result:slack__send] {\"ok\":true}",
        contentSource: "summary",
        parts: [{ type: "tool-result", toolCallId: "tc-1", toolName: "slack__send", output: "{\"ok\":true}" }]
      }]
      for (const supplied of [input, summary]) {
        yield* pipeline.runTurn(turnInput(), (turn) =>
          pipeline.runStep(
            { turn, stepIndex: 0, toolCatalog: [], metadata: { "runtime.llmInputMessages": supplied } },
            () => Effect.succeed(stepResult())
          ).pipe(Effect.as({ turnId: "t", finishReason: "text_response" as const })))
        const started = byType(yield* events, "step.started")
        assert.strictEqual(started.length, 1)
        assert.deepStrictEqual(started[0]!.llmInputMessages, supplied as any)
      }
    }).pipe(Effect.provide(Live)))

  it.scoped("step.started carries the trace context and the step id", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      yield* pipeline.runTurn(
        turnInput({ instanceKey: "inst-abc", turnId: "turn-trace", parentTrace: { traceId, spanId: callerSpan } }),
        (turn) =>
          pipeline.runStep({ turn, stepIndex: 2, toolCatalog: [] }, () => Effect.succeed(stepResult())).pipe(
            Effect.as({ turnId: "turn-trace", finishReason: "text_response" as const })
          )
      )
      const [started] = byType(yield* events, "step.started")
      assert.strictEqual(started!.traceId, traceId)
      assert.strictEqual(started!.instanceKey, "inst-abc")
      assert.match(started!.spanId, /^[0-9a-f]{16}$/)
      assert.strictEqual(started!.stepId, "turn-trace-step-2")
      assert.strictEqual(started!.stepIndex, 2)
    }).pipe(Effect.provide(Live)))

  it.scoped("turn > step > tool span hierarchy", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      yield* fullTurn(pipeline, turnInput())
      const all = yield* events
      const turnStarted = byType(all, "turn.started")[0]!
      const turnCompleted = byType(all, "turn.completed")[0]!
      const step = byType(all, "step.started")[0]!
      const stepCompleted = byType(all, "step.completed")[0]!
      const tool = byType(all, "tool.called")[0]!
      const toolCompleted = byType(all, "tool.completed")[0]!
      assert.isTrue(all.every((e) => e.traceId === turnStarted.traceId))
      assert.match(turnStarted.traceId, /^[0-9a-f]{32}$/)
      assert.isUndefined(turnStarted.parentSpanId)
      assert.strictEqual(step.parentSpanId, turnStarted.spanId)
      assert.strictEqual(tool.parentSpanId, step.spanId)
      assert.strictEqual(turnCompleted.stepCount, 1)
      assert.strictEqual(turnCompleted.spanId, turnStarted.spanId)
      assert.strictEqual(stepCompleted.spanId, step.spanId)
      assert.strictEqual(toolCompleted.spanId, tool.spanId)
      assert.strictEqual(stepCompleted.toolCallCount, 1)
      assert.strictEqual(tool.stepId, "turn-1-step-0")
    }).pipe(Effect.provide(Live)))
})

describe("Pipeline (reference observability)", () => {
  it.scoped("every event is a valid RuntimeEvent with the turn's identity, in order", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      yield* fullTurn(pipeline, turnInput({ parentTrace: { traceId, spanId: callerSpan } }))
      const all = yield* events
      assert.deepStrictEqual(all.map((e) => e.type), [
        "turn.started",
        "step.started",
        "tool.called",
        "tool.completed",
        "step.completed",
        "turn.completed"
      ])
      const decode = Schema.decodeUnknownSync(Schema.parseJson(RuntimeEvent.RuntimeEvent))
      for (const e of all) {
        assert.deepStrictEqual(decode(JSON.stringify(e)), JSON.parse(JSON.stringify(e)))
        assert.strictEqual(e.traceId, traceId)
        assert.strictEqual(e.agentName, "alpha")
        assert.strictEqual(e.instanceKey, "inst-01")
        assert.strictEqual(e.turnId, "turn-1")
        assert.match(e.spanId, /^[0-9a-f]{16}$/)
        assert.isTrue(RuntimeEvent.isType(e.type))
        assert.match(e.type, /^[a-z]+\.[a-z]+$/)
        assert.isFalse(Number.isNaN(Date.parse(e.timestamp)))
      }
      const completed = byType(all, "turn.completed")[0]!
      assert.isAtLeast(completed.stepCount, 1)
      assert.isAtLeast(completed.duration, 0)
      // The caller's span is the parent of the turn.
      assert.strictEqual(byType(all, "turn.started")[0]!.parentSpanId, callerSpan)
    }).pipe(Effect.provide(Live)))

  it("event types are dot notation, in the reference's order", () => {
    assert.deepStrictEqual(RuntimeEvent.types, [
      "turn.started",
      "turn.completed",
      "turn.failed",
      "step.started",
      "step.completed",
      "step.failed",
      "tool.called",
      "tool.completed",
      "tool.failed"
    ])
    for (const t of RuntimeEvent.types) assert.match(t, /^[a-z]+\.[a-z]+$/)
  })

  it.scoped("token usage of the steps is summed into turn.completed", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      yield* pipeline.runTurn(turnInput(), (turn) =>
        Effect.zipRight(
          pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, () =>
            Effect.succeed(
              stepResult({
                metadata: { "runtime.tokenUsage": { promptTokens: 100, completionTokens: 50, totalTokens: 150 } }
              })
            )),
          pipeline.runStep(
            { turn, stepIndex: 1, toolCatalog: [] },
            () => Effect.succeed(stepResult({ tokenUsage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } }))
          )
        ).pipe(Effect.as({ turnId: "turn-1", finishReason: "text_response" as const })))
      const all = yield* events
      assert.deepStrictEqual(byType(all, "step.completed").map((e) => e.tokenUsage?.totalTokens), [150, 15])
      const completed = byType(all, "turn.completed")[0]!
      assert.strictEqual(completed.stepCount, 2)
      assert.deepStrictEqual(completed.tokenUsage, { promptTokens: 110, completionTokens: 55, totalTokens: 165 })
    }).pipe(Effect.provide(Live)))

  it.scoped("tool.completed for status:error results, tool.failed only for failures", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      yield* fullTurn(pipeline, turnInput(), (ctx) =>
        Effect.succeed({
          toolCallId: ctx.toolCallId,
          toolName: ctx.toolName,
          status: "error",
          error: { message: "nope", code: "E_TOOL_NOT_FOUND" }
        }))
      const first = yield* events
      assert.deepStrictEqual(byType(first, "tool.completed").map((e) => [e.status, e.errorCode]), [[
        "error",
        "E_TOOL_NOT_FOUND"
      ]])
      assert.strictEqual(byType(first, "tool.failed").length, 0)

      const exit = yield* Effect.exit(fullTurn(pipeline, turnInput(), () => Effect.die(new Error("tool exploded"))))
      assert.isTrue(exit._tag === "Failure")
      const second = yield* events
      assert.deepStrictEqual(second.map((e) => e.type), [
        "turn.started",
        "step.started",
        "tool.called",
        "tool.failed",
        "step.failed",
        "turn.failed"
      ])
      assert.strictEqual(byType(second, "tool.failed")[0]!.errorMessage, "tool exploded")
      assert.strictEqual(byType(second, "turn.failed")[0]!.errorMessage, "tool exploded")
    }).pipe(Effect.provide(Live)))

  it.scoped("spans go to Effect's tracer with the same ids as the events", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      const seen: Array<[string, string, string]> = []
      yield* fullTurn(pipeline, turnInput(), (ctx) =>
        Effect.flatMap(Effect.currentSpan, (span) => {
          seen.push([span.name, span.spanId, span.traceId])
          return okTool(ctx)
        }).pipe(Effect.orDie))
      const tool = byType(yield* events, "tool.called")[0]!
      assert.deepStrictEqual(seen, [["execute_tool bash__exec", tool.spanId, tool.traceId]])
    }).pipe(Effect.provide(Pipeline.layer({ tracerSpans: true }).pipe(Layer.provideMerge(EventBus.layer())))))

  it.scoped("by default, spans go to an installed tracer (and only then), with the events' ids", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
      const recorded: Array<{ name: string; spanId: string; parent: string | undefined }> = []
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
      // Built-in tracer: no spans are opened (the tool core sees no current span).
      const noSpan = yield* fullTurn(
        pipeline,
        turnInput(),
        (ctx) =>
          Effect.flatMap(
            Effect.option(Effect.currentSpan),
            (span) => Option.isNone(span) ? okTool(ctx) : Effect.die("unexpected span")
          )
      )
      assert.strictEqual(noSpan.finishReason, "text_response")
      yield* events
      // An installed tracer gets the turn > step > tool spans with the same ids as the events.
      yield* fullTurn(pipeline, turnInput()).pipe(Effect.withTracer(recording))
      const all = yield* events
      const ids = (type: RuntimeEvent.Type) => all.find((e) => e.type === type)!.spanId
      assert.deepStrictEqual(recorded.map((r) => [r.name, r.spanId]), [
        ["invoke_agent alpha", ids("turn.started")],
        ["effect-swarm.step", ids("step.started")],
        ["execute_tool bash__exec", ids("tool.called")]
      ])
      assert.strictEqual(recorded[1]!.parent, recorded[0]!.spanId)
      assert.strictEqual(recorded[2]!.parent, recorded[1]!.spanId)
    }).pipe(Effect.provide(Live)))

  it.scoped("with tracerSpans: false the events still form the tree", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      yield* fullTurn(pipeline, turnInput({ parentTrace: { traceId, spanId: callerSpan } }))
      const all = yield* events
      const turn = byType(all, "turn.started")[0]!
      const step = byType(all, "step.started")[0]!
      const tool = byType(all, "tool.called")[0]!
      assert.strictEqual(turn.traceId, traceId)
      assert.strictEqual(turn.parentSpanId, callerSpan)
      assert.strictEqual(step.parentSpanId, turn.spanId)
      assert.strictEqual(tool.parentSpanId, step.spanId)
      assert.isTrue(all.every((e) => e.traceId === traceId))
    }).pipe(Effect.provide(Pipeline.layer({ tracerSpans: false }).pipe(Layer.provideMerge(EventBus.layer())))))
})

describe("Pipeline guarantees", () => {
  it.scoped("next runs at most once: a second run fails with NextCalledTwiceError, the core ran once", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      let cores = 0
      yield* pipeline.register("step", (_ctx, next) => Effect.zipRight(next, next), { name: "retry-naive" })
      const exit = yield* Effect.exit(
        pipeline.runTurn(
          turnInput(),
          (turn) =>
            pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, () =>
              Effect.sync(() => {
                cores++
                return stepResult()
              })).pipe(Effect.as({ turnId: "t", finishReason: "text_response" as const }))
        )
      )
      assert.strictEqual(cores, 1)
      assert.isTrue(exit._tag === "Failure")
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "NextCalledTwiceError")
      assert.include(error.message, "retry-naive")
    }).pipe(Effect.provide(Live)))

  it.scoped("a middleware or core that throws instead of returning an effect fails its run like a defect", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      const outer = {
        agentName: "caller",
        instanceKey: "main",
        turnId: "outer",
        trace: { traceId, spanId: callerSpan },
        callChain: []
      }
      // The outermost toolCall middleware throws while the run starts; the step's core throws in the
      // second turn (no step middleware: it is called as the run starts).
      yield* pipeline.register("toolCall", (): Effect.Effect<ToolExecutor.ToolCallResult> => {
        throw new Error("middleware threw")
      }, { name: "thrower" })
      const first = yield* Effect.locally(Effect.exit(fullTurn(pipeline, turnInput())), Middleware.currentCaller, outer)
      const second = yield* Effect.exit(
        pipeline.runTurn(
          turnInput({ turnId: "turn-2" }),
          (turn) =>
            pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, (): Effect.Effect<Middleware.StepResult> => {
              throw new Error("core threw")
            }).pipe(Effect.as<Middleware.TurnResult>({ turnId: turn.turnId, finishReason: "text_response" }))
        )
      )
      const after = yield* Effect.locally(FiberRef.get(Middleware.currentCaller), Middleware.currentCaller, outer)
      assert.isTrue(first._tag === "Failure" && second._tag === "Failure")
      assert.strictEqual(after, outer)
      const all = yield* events
      assert.deepStrictEqual(all.map((e) => e.type), [
        "turn.started",
        "step.started",
        "tool.called",
        "tool.failed",
        "step.failed",
        "turn.failed",
        "turn.started",
        "step.started",
        "step.failed",
        "turn.failed"
      ])
      assert.strictEqual(byType(all, "tool.failed")[0]!.errorMessage, "middleware threw")
      assert.strictEqual(byType(all, "step.failed")[1]!.errorMessage, "core threw")
    }).pipe(Effect.provide(Live)))

  it.scoped("a middleware may short-circuit: the core never runs and events stay consistent", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      let ran = false
      yield* pipeline.register(
        "toolCall",
        (ctx, _next) =>
          Effect.succeed({ toolCallId: ctx.toolCallId, toolName: ctx.toolName, status: "ok", output: "cached" })
      )
      yield* pipeline.register("step", (_ctx, _next) => Effect.succeed(stepResult({ shouldContinue: true })), {
        priority: 100
      })
      const r = yield* pipeline.runTurn(turnInput(), (turn) =>
        Effect.zip(
          pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, () =>
            Effect.sync(() => (ran = true)).pipe(Effect.as(stepResult()))),
          Effect.succeed(0)
        ).pipe(Effect.map(([s]) => ({ turnId: "t", finishReason: "text_response" as const, s }))))
      assert.isFalse(ran)
      assert.isTrue((r as any).s.shouldContinue)
      const all = yield* events
      // step.started is still emitted (without the model input: the model was never called).
      assert.deepStrictEqual(all.map((e) => e.type), [
        "turn.started",
        "step.started",
        "step.completed",
        "turn.completed"
      ])
      assert.isUndefined(byType(all, "step.started")[0]!.llmInputMessages)
    }).pipe(Effect.provide(Live)))

  it.scoped("a middleware may transform the result and change ctx.args and ctx.toolCatalog", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      const registry = yield* ToolRegistry.ToolRegistry
      const executor = yield* ToolExecutor.ToolExecutor
      yield* registry.register({ name: "fs__read" }, (args) => Effect.succeed({ read: args.path }))
      yield* registry.register({ name: "fs__write" }, () => Effect.succeed("written"))
      yield* pipeline.register("step", (ctx, next) => {
        ctx.toolCatalog = ctx.toolCatalog.filter((t) => t.name !== "fs__write")
        return next
      })
      yield* pipeline.register("toolCall", (ctx, next) => {
        ctx.args = { ...ctx.args, path: `/sandbox/${String(ctx.args.path)}` }
        return Effect.map(next, (r) => ({ ...r, output: { wrapped: r.output ?? null } }))
      })
      const results: Array<ToolExecutor.ToolCallResult> = []
      yield* pipeline.runTurn(
        turnInput(),
        (turn) =>
          pipeline.runStep(
            { turn, stepIndex: 0, toolCatalog: [{ name: "fs__read" }, { name: "fs__write" }] },
            (step) =>
              Effect.forEach([["fs__read", { path: "a.txt" }], ["fs__write", {}]] as const, ([name, args], i) =>
                pipeline.runToolCall({ step, toolCallId: `tc-${i}`, toolName: name, args }, (ctx) =>
                  executor.execute({
                    toolCallId: ctx.toolCallId,
                    toolName: ctx.toolName,
                    args: ctx.args,
                    catalog: step.toolCatalog,
                    context: Middleware.callContext(ctx)
                  }))).pipe(
                  Effect.tap((rs) =>
                    Effect.sync(() =>
                      results.push(...rs)
                    )
                  ),
                  Effect.as(stepResult())
                )
          ).pipe(Effect.as({ turnId: "t", finishReason: "text_response" as const }))
      )
      assert.deepStrictEqual(results[0]!.output, { wrapped: { read: "/sandbox/a.txt" } })
      assert.strictEqual(results[1]!.status, "error")
      assert.strictEqual(results[1]!.error?.code, "E_TOOL_NOT_IN_CATALOG")
    }).pipe(Effect.provide(Layer.mergeAll(Live, ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer))))))

  it.scoped("registrations made during a run do not affect that run, only later ones", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      const log: Array<string> = []
      yield* pipeline.register("turn", (_ctx, next) =>
        Effect.zipRight(
          pipeline.register("turn", (_c, n) => Effect.zipRight(Effect.sync(() => log.push("late")), n), {
            priority: 100
          }),
          next
        ), { name: "registrar" })
      const run = pipeline.runTurn(turnInput(), () =>
        Effect.sync(() => {
          log.push("core")
          return { turnId: "t", finishReason: "text_response" as const }
        }))
      yield* run
      assert.deepStrictEqual(log, ["core"])
      yield* run
      assert.deepStrictEqual(log, ["core", "late", "core"])
    }).pipe(Effect.provide(Live)))

  it.scoped("interrupting a turn mid-tool interrupts the tool and still emits the failed events", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      const toolStarted = yield* Deferred.make<void>()
      let toolInterrupted = false
      const fiber = yield* Effect.fork(
        fullTurn(pipeline, turnInput(), () =>
          Deferred.succeed(toolStarted, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => (toolInterrupted = true)))
          ))
      )
      yield* Deferred.await(toolStarted)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(toolInterrupted)
      const all = yield* events
      assert.deepStrictEqual(all.map((e) => e.type), [
        "turn.started",
        "step.started",
        "tool.called",
        "tool.failed",
        "step.failed",
        "turn.failed"
      ])
      for (const e of all) if ("errorMessage" in e) assert.strictEqual(e.errorMessage, "interrupted")
    }).pipe(Effect.provide(Live)))

  it.scoped("a turn started from a tool continues the caller's trace", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      // The caller agent's tool asks another agent: the callee turn gets the tool's span as parent.
      yield* fullTurn(pipeline, turnInput({ agentName: "caller" }), (ctx) =>
        Effect.zipRight(
          pipeline.runTurn(
            turnInput({ agentName: "callee", turnId: "turn-2", parentTrace: ctx.trace }),
            () => Effect.succeed({ turnId: "turn-2", finishReason: "text_response" as const })
          ).pipe(Effect.orDie),
          okTool(ctx)
        ))
      const all = yield* events
      const toolCalled = byType(all, "tool.called")[0]!
      const calleeStarted = byType(all, "turn.started").find((e) => e.agentName === "callee")!
      const callerStarted = byType(all, "turn.started").find((e) => e.agentName === "caller")!
      assert.strictEqual(calleeStarted.traceId, callerStarted.traceId)
      assert.strictEqual(calleeStarted.parentSpanId, toolCalled.spanId)
    }).pipe(Effect.provide(Live)))

  it.scoped("a failing or slow subscriber never fails or blocks a turn", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      let failingCalls = 0
      const delivered: Array<string> = []
      yield* EventBus.attach(() => Effect.sync(() => failingCalls++).pipe(Effect.zipRight(Effect.fail("disk full"))), {
        name: "broken-sink"
      })
      yield* EventBus.attach(() => Effect.die(new Error("sink bug")))
      // A subscriber that never reads.
      const bus = yield* EventBus.EventBus
      const neverRead = yield* bus.subscribe
      yield* EventBus.attach((events) => Effect.sync(() => delivered.push(...events.map((e) => e.type))))
      const r1 = yield* fullTurn(pipeline, turnInput())
      yield* Effect.yieldNow()
      const r2 = yield* fullTurn(pipeline, turnInput({ turnId: "turn-2" }))
      assert.strictEqual(r1.finishReason, "text_response")
      assert.strictEqual(r2.finishReason, "text_response")
      // Let the sink fibers drain.
      for (let i = 0; i < 10 && delivered.length < 12; i++) yield* Effect.yieldNow()
      assert.strictEqual(delivered.length, 12)
      assert.isAtLeast(failingCalls, 2)
      // The subscriber that never read holds every event, and slowed nobody down.
      assert.strictEqual(yield* Queue.size(neverRead), 12)
    }).pipe(Effect.provide(Live)))

  it.scoped("step.started summarises the conversation as the model sees it after the step middlewares", () =>
    Effect.gen(function*() {
      const { conversation, events, pipeline, turnInput } = yield* setup
      const Message = yield* Effect.promise(() => import("effect-swarm").then((m) => m.Message))
      const user = yield* Message.make({ role: "user", content: "Fix this bug." }, { id: "u1" })
      yield* conversation.emit({ type: "append", message: user })
      yield* pipeline.register("step", (ctx, next) =>
        Effect.flatMap(
          Message.make({ role: "system", content: "You are coder." }, { id: "s1" }),
          (m) => Effect.zipRight(ctx.emitMessageEvent({ type: "append", message: m }), next)
        ))
      yield* pipeline.runTurn(
        turnInput(),
        (turn) =>
          pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, () => Effect.succeed(stepResult())).pipe(
            Effect.as({ turnId: "t", finishReason: "text_response" as const })
          )
      )
      const started = byType(yield* events, "step.started")[0]!
      assert.deepStrictEqual(started.llmInputMessages, [
        {
          role: "user",
          content: "Fix this bug.",
          contentSource: "verbatim",
          parts: [{ type: "text", text: "Fix this bug." }]
        },
        {
          role: "system",
          content: "You are coder.",
          contentSource: "verbatim",
          parts: [{ type: "text", text: "You are coder." }]
        }
      ])
    }).pipe(Effect.provide(Live)))

  it.scoped("each run sets the caller its middlewares and core read, and the previous caller is back after it", () =>
    Effect.gen(function*() {
      const { pipeline, turnInput } = yield* setup
      const seen: Array<[string, string | undefined]> = []
      const read = (where: string) =>
        Effect.map(FiberRef.get(Middleware.currentCaller), (c) => {
          seen.push([where, c?.trace.spanId])
        })
      const outer: Middleware.CallerContext = {
        agentName: "outer",
        instanceKey: "o",
        turnId: "t0",
        trace: { traceId, spanId: callerSpan },
        callChain: []
      }
      yield* pipeline.register("toolCall", (_ctx, next) => Effect.zipRight(read("toolCall middleware"), next))
      const failing = pipeline.runTurn(turnInput(), (turn) =>
        Effect.zipRight(
          read("turn core"),
          pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, (step) =>
            Effect.zipRight(
              read("step core"),
              pipeline.runToolCall(
                { step, toolCallId: "tc-1", toolName: "bash__exec", args: {} },
                (ctx) => Effect.zipRight(read("tool core"), okTool(ctx))
              )
            ).pipe(
              Effect.zipRight(read("step core after the tool")),
              Effect.zipRight(Effect.fail("boom" as const))
            ))
        ).pipe(Effect.as<Middleware.TurnResult>({ turnId: "turn-1", finishReason: "text_response" })))
      const error = yield* Effect.flip(
        Effect.locally(Effect.zipRight(failing, read("unreached")), Middleware.currentCaller, outer)
      )
      assert.strictEqual(error, "boom")
      yield* Effect.locally(read("outside after the failed turn"), Middleware.currentCaller, outer)
      const all = yield* Effect.locally(
        Effect.zipRight(Effect.flip(failing), FiberRef.get(Middleware.currentCaller)),
        Middleware.currentCaller,
        outer
      )
      assert.strictEqual(all, outer)
      const spans = new Map(seen)
      const turnSpan = spans.get("turn core")
      const stepSpan = spans.get("step core")
      const toolSpan = spans.get("tool core")
      assert.isDefined(turnSpan)
      assert.notStrictEqual(stepSpan, turnSpan)
      assert.notStrictEqual(toolSpan, stepSpan)
      assert.strictEqual(spans.get("toolCall middleware"), toolSpan)
      // After the tool call ended, the step's caller is back; after the turn, the one from before it.
      assert.strictEqual(spans.get("step core after the tool"), stepSpan)
      assert.strictEqual(spans.get("outside after the failed turn"), callerSpan)
    }).pipe(Effect.provide(Live)))

  it.scoped("child span ids are unique and W3C-shaped without drawing from Random", () =>
    Effect.gen(function*() {
      const { events, pipeline, turnInput } = yield* setup
      let draws = 0
      const base = Random.make("seed")
      const counting = new Proxy(base, {
        get(target, key) {
          const value = Reflect.get(target, key, target)
          if (typeof value !== "function" && !(typeof key === "string" && key.startsWith("next"))) return value
          draws++
          return typeof value === "function" ? value.bind(target) : value
        }
      })
      const parentTrace = { traceId, spanId: callerSpan }
      for (let i = 0; i < 20; i++) {
        yield* Effect.withRandom(fullTurn(pipeline, turnInput({ turnId: `turn-${i}`, parentTrace })), counting)
      }
      assert.strictEqual(draws, 0)
      const all = yield* events
      const ids = new Set(all.filter((e) => e.type === "step.started" || e.type === "tool.called").map((e) => e.spanId))
      assert.strictEqual(ids.size, 40)
      for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/)
    }).pipe(Effect.provide(Live)))
})
