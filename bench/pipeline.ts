/**
 * Per-step overhead of the turn/step/toolCall onion (issue 5), against the peers measured in
 * shared/reference/peers-and-limits.md 4.2.
 *
 * One turn = 10 steps, each calling one no-op tool, through 3 turn, 3 step and 3 toolCall middlewares,
 * with a scripted step core (no model): the core appends the assistant message (with its tool call)
 * and the tool result to the conversation, runs the call through `runToolCall` and `ToolExecutor`
 * (catalog guard, ajv validation of the arguments, handler, JSON normalisation, output cap), and the
 * event bus is on with a sink attached that receives every event. `step.started` summarises the model
 * input every step. The peers' shape (10 tool steps plus a final text step, 11 model calls) is
 * measured too, since that is how their figures were taken.
 *
 * Reported: µs per step = time per turn / steps per turn (p50 and mean over tinybench samples).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Bench } from "tinybench"
import * as Conversation from "../src/conversation/Conversation.js"
import type * as Message from "../src/conversation/Message.js"
import * as EventBus from "../src/event/EventBus.js"
import * as Middleware from "../src/pipeline/Middleware.js"
import * as Pipeline from "../src/pipeline/Pipeline.js"
import * as ToolExecutor from "../src/tool/ToolExecutor.js"
import * as ToolRegistry from "../src/tool/ToolRegistry.js"
import { runBundled } from "./bundled.js"

const toolName = "noop__run"
const catalog = [{
  name: toolName,
  description: "does nothing",
  parameters: {
    type: "object",
    properties: { query: { type: "string", maxLength: 100 }, n: { type: "integer", minimum: 0 } },
    required: ["query"],
    additionalProperties: false
  }
}]

const user: Message.Message = {
  id: "u0",
  data: { role: "user", content: "Run the tool ten times, then answer." },
  metadata: {},
  createdAt: new Date(0),
  source: { type: "user" }
}

interface Setup {
  readonly name: string
  readonly middlewares: boolean
  readonly tracerSpans: boolean | "auto"
}

export const makeRuntime = (setup: Setup) => {
  let events = 0
  const Bus = EventBus.layer()
  const Sink = EventBus.layerSink((batch) => Effect.sync(() => (events += batch.length)))
  const Tools = ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer))
  const Live = Layer.mergeAll(Pipeline.layer({ tracerSpans: setup.tracerSpans }), Sink, Tools).pipe(
    Layer.provideMerge(Bus)
  )
  const runtime = ManagedRuntime.make(Live)
  return { runtime, events: () => events }
}

export const install = (setup: Setup) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const registry = yield* ToolRegistry.ToolRegistry
    yield* registry.register(catalog[0]!, () => Effect.succeed({ ok: true }))
    if (!setup.middlewares) return
    for (let i = 0; i < 3; i++) {
      // Representative middlewares: read/write context, transform or pass the result.
      yield* pipeline.register("turn", (ctx, next) => {
        ctx.metadata[`turn-${i}`] = true
        return next
      }, { priority: i })
      yield* pipeline.register("step", (ctx, next) => {
        if (i === 0 && ctx.toolCatalog.length === 0) ctx.toolCatalog = catalog.slice()
        return Effect.map(next, (r) => r)
      }, { priority: i })
      yield* pipeline.register("toolCall", (ctx, next) => {
        ctx.metadata[`tool-${i}`] = ctx.toolName
        return next
      }, { priority: i })
    }
  })

export const turn = (toolSteps: number, finalTextStep: boolean) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const executor = yield* ToolExecutor.ToolExecutor
    const conversation = yield* Middleware.conversationInMemory(Conversation.make([user]))
    const steps = toolSteps + (finalTextStep ? 1 : 0)
    return yield* pipeline.runTurn(
      { agentName: "bench", instanceKey: "default", turnId: "turn-1", conversation },
      (turnCtx) =>
        Effect.gen(function*() {
          for (let stepIndex = 0; stepIndex < steps; stepIndex++) {
            const callsTool = stepIndex < toolSteps
            yield* pipeline.runStep({ turn: turnCtx, stepIndex, toolCatalog: catalog }, (step) => {
              // The scripted model's answer for this step.
              const callId = `call-${stepIndex}`
              const args = { query: "ping", n: stepIndex }
              const assistant: Message.Message = {
                id: `a${stepIndex}`,
                data: callsTool
                  ? { role: "assistant", content: [{ type: "tool-call", toolCallId: callId, toolName, input: args }] }
                  : { role: "assistant", content: "done" },
                metadata: {},
                createdAt: new Date(0),
                source: { type: "assistant", stepId: step.stepId }
              }
              const respond = step.emitMessageEvent({ type: "append", message: assistant })
              if (!callsTool) {
                return Effect.as(respond, {
                  status: "completed" as const,
                  shouldContinue: false,
                  toolCalls: [],
                  toolResults: [],
                  metadata: {}
                })
              }
              return respond.pipe(
                Effect.zipRight(pipeline.runToolCall(
                  { step, toolCallId: callId, toolName, args },
                  (ctx) =>
                    executor.execute({
                      toolCallId: ctx.toolCallId,
                      toolName: ctx.toolName,
                      args: ctx.args,
                      catalog: step.toolCatalog,
                      context: Middleware.callContext(ctx)
                    })
                )),
                Effect.tap((result) =>
                  step.emitMessageEvent({
                    type: "append",
                    message: {
                      id: `t${stepIndex}`,
                      data: {
                        role: "tool",
                        content: [{ type: "tool-result", toolCallId: callId, toolName, output: result.output ?? null }]
                      },
                      metadata: {},
                      createdAt: new Date(0),
                      source: { type: "tool", toolCallId: callId, toolName }
                    }
                  })
                ),
                Effect.map((result) => ({
                  status: "completed" as const,
                  shouldContinue: true,
                  toolCalls: [{ id: callId, name: toolName, args }],
                  toolResults: [result],
                  metadata: {},
                  tokenUsage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }
                }))
              )
            })
          }
          return { turnId: turnCtx.turnId, finishReason: "text_response" as const }
        })
    )
  })

/**
 * The calibration floor, rebuilt as peers-and-limits 4.2 describes it ("Effect 3.22 onion floor: 3 turn
 * + 3 step + 3 toolCall middlewares, event push, no schema"; 6.0 µs/step on the idle machine): a
 * hand-rolled onion of pass-through middlewares around a no-op tool, events pushed to an array. Run
 * in the same process as our figures, it shows how loaded the machine is.
 */
type Next = Effect.Effect<number>
type Mw = (next: Next) => Effect.Effect<number>
const onion = (mws: ReadonlyArray<Mw>, core: Next): Next => mws.reduceRight<Next>((next, mw) => mw(next), core)
const floorEvents: Array<{ type: string; at: number }> = []
const push = (type: string) => Effect.sync(() => floorEvents.push({ type, at: Date.now() }))
const passThrough: Mw = (next) => Effect.map(next, (x) => x)
const three = [passThrough, passThrough, passThrough]
export const floorTurn = (steps: number): Next => {
  const tool = onion(three, Effect.zipRight(push("tool.called"), Effect.as(push("tool.completed"), 1)))
  const step = onion(
    three,
    Effect.zipRight(push("step.started"), Effect.zipLeft(tool, push("step.completed")))
  )
  return Effect.zipRight(
    push("turn.started"),
    onion(
      three,
      Effect.zipLeft(
        Effect.map(Effect.replicateEffect(step, steps), (xs) => xs.length),
        push("turn.completed")
      )
    )
  ).pipe(Effect.ensuring(Effect.sync(() => (floorEvents.length = 0))))
}

const setups: ReadonlyArray<Setup> = [
  { name: "3+3+3 middlewares (default: no tracer installed)", middlewares: true, tracerSpans: "auto" },
  { name: "3+3+3 middlewares, tracerSpans: true", middlewares: true, tracerSpans: true },
  { name: "no middlewares (default)", middlewares: false, tracerSpans: "auto" }
]

const shapes = [
  { name: "10 tool steps", toolSteps: 10, finalTextStep: false },
  { name: "10 tool steps + final text step (peers' shape)", toolSteps: 10, finalTextStep: true }
]

const measure = async (name: string, steps: number, fn: () => Promise<unknown>) => {
  const bench = new Bench({ time: 2000, warmupTime: 500 })
  bench.add(name, fn)
  await bench.run()
  const r = bench.tasks[0]!.result as { latency: { p50?: number; mean: number } } | undefined
  if (r === undefined) throw new Error(`no result for ${name}`)
  return {
    p50: ((r.latency.p50 ?? r.latency.mean) * 1000) / steps,
    mean: (r.latency.mean * 1000) / steps
  }
}

// CPU time of this process per step over `turns` turns: robust to other load on a shared machine,
// where wall-clock latency mostly measures waiting for a core.
const cpuPerStep = async (steps: number, turns: number, fn: () => Promise<unknown>) => {
  for (let i = 0; i < 200; i++) await fn()
  const start = process.cpuUsage()
  for (let i = 0; i < turns; i++) await fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / turns / steps
}

const round = (x: number) => Math.round(x * 10) / 10

const measureAll = async (): Promise<void> => {
  const rows: Array<Record<string, string | number>> = []
  const floorRun = () => Effect.runPromise(floorTurn(11))
  const floor = await measure("floor", 11, floorRun)
  const floorCpu = await cpuPerStep(11, 3000, floorRun)
  rows.push({
    task: "calibration floor (peers 4.2: 6.0 µs/step idle); 11 steps",
    "steps/turn": 11,
    "p50 µs/step": round(floor.p50),
    "mean µs/step": round(floor.mean),
    "CPU µs/step": round(floorCpu)
  })
  for (const setup of setups) {
    const { events, runtime } = makeRuntime(setup)
    await runtime.runPromise(install(setup))
    for (const shape of shapes) {
      const steps = shape.toolSteps + (shape.finalTextStep ? 1 : 0)
      const program = turn(shape.toolSteps, shape.finalTextStep)
      // Sanity: the turn completes and the sink sees 2 events per turn, per step and per tool call.
      const before = events()
      await runtime.runPromise(program)
      await new Promise((resolve) => setTimeout(resolve, 10))
      const emitted = events() - before
      const expected = 2 + 2 * steps + 2 * shape.toolSteps
      if (emitted !== expected) throw new Error(`expected ${expected} events per turn, the sink saw ${emitted}`)
      const runTurn = () => runtime.runPromise(program)
      const r = await measure(`${setup.name}; ${shape.name}`, steps, runTurn)
      const cpu = await cpuPerStep(steps, 2000, runTurn)
      rows.push({
        task: `${setup.name}; ${shape.name}`,
        "steps/turn": steps,
        "p50 µs/step": round(r.p50),
        "mean µs/step": round(r.mean),
        "CPU µs/step": round(cpu)
      })
    }
    await runtime.dispose()
  }
  console.table(rows)
}

const childFlag = "EFFECT_SWARM_BENCH_PIPELINE_CHILD"

/** Measures on the bundled code (see bench/bundled.ts). */
export const run = (): Promise<void> => runBundled({ entry: import.meta.url, name: "pipeline", childFlag, measureAll })

if (process.env[childFlag] === "1") {
  await measureAll()
  await (await import("./turn.js")).measureTurns()
} else if (import.meta.url === `file://${process.argv[1]}`) await run()
