// docs/events-and-middleware.md: one turn through the turn -> step -> toolCall onion by hand (the turn loop
// does this wiring for an agent): a step middleware narrows the catalog, a toolCall middleware wraps
// results, the executor validates arguments, and every run is published as a runtime event.
import { Console, Effect, Layer, Queue } from "effect"
import { EventBus, Middleware, Pipeline, ToolExecutor, ToolRegistry } from "effect-swarm"

const Live = Layer.mergeAll(Pipeline.layer(), ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer)))
  .pipe(Layer.provideMerge(EventBus.layer()))

const add = {
  name: "math__add",
  parameters: {
    type: "object",
    required: ["a", "b"],
    properties: { a: { type: "number" }, b: { type: "number" } },
    additionalProperties: false
  }
}

const program = Effect.gen(function*() {
  const pipeline = yield* Pipeline.Pipeline
  const registry = yield* ToolRegistry.ToolRegistry
  const executor = yield* ToolExecutor.ToolExecutor
  const events = yield* (yield* EventBus.EventBus).subscribe
  yield* registry.register(add, (args) => Effect.succeed((args.a as number) + (args.b as number)))
  // Middlewares are (ctx, next) => Effect; a lower priority is outer.
  yield* pipeline.register("step", (ctx, next) => {
    ctx.toolCatalog = ctx.toolCatalog.filter((t) => t.name !== "shell__exec") // what the model is offered
    return next
  }, { priority: -10, name: "no-shell" })
  yield* pipeline.register(
    "toolCall",
    (ctx, next) => Effect.map(next, (result) => ({ ...result, output: { wrapped: result.output ?? null } }))
  )

  const conversation = yield* Middleware.conversationInMemory()
  const calls = [
    { id: "call-1", name: "math__add", args: { a: 1, b: 2 } },
    { id: "call-2", name: "math__add", args: { a: 1, c: 2 } }, // invalid: the tool does not run
    { id: "call-3", name: "shell__exec", args: { cmd: "ls" } } // not in the step's catalog
  ]
  // The cores, innermost first: a tool call runs through the executor (catalog guard, argument validation,
  // timeout); a step runs its calls; the turn runs one step.
  const toolCall = (step: Middleware.StepContext, call: (typeof calls)[number]) =>
    pipeline.runToolCall(
      { step, toolCallId: call.id, toolName: call.name, args: call.args },
      (ctx) =>
        executor.execute({
          toolCallId: ctx.toolCallId,
          toolName: ctx.toolName,
          args: ctx.args,
          catalog: step.toolCatalog,
          context: Middleware.callContext(ctx)
        })
    ).pipe(Effect.tap((result) => Console.log(`${call.id}: ${JSON.stringify(ToolExecutor.forModel(result))}`)))
  const step = (turn: Middleware.TurnContext) =>
    pipeline.runStep(
      { turn, stepIndex: 0, toolCatalog: [add, { name: "shell__exec" }] },
      (ctx) =>
        Effect.map(Effect.forEach(calls, (call) => toolCall(ctx, call)), (toolResults) => ({
          status: "completed" as const,
          shouldContinue: false,
          toolCalls: calls,
          toolResults,
          metadata: {}
        }))
    )
  yield* pipeline.runTurn(
    { agentName: "coder", instanceKey: "default", turnId: "turn-1", conversation },
    (turn) => Effect.as(step(turn), { turnId: "turn-1", finishReason: "text_response" as const })
  )
  const published = yield* Queue.takeAll(events)
  yield* Console.log(`events: ${[...published].map((e) => e.type).join(", ")}`)
}).pipe(Effect.scoped, Effect.provide(Live))

program.pipe(Effect.runPromise)
