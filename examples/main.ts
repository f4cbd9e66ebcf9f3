/**
 * The main job (`npm start`): one user turn of the example swarm on embedded defaults.
 *
 * Loads `examples/bundles/multi-agent`, builds the entry agent's tools (in-process through ToolModule,
 * sandboxed in a Node worker pool through SandboxedTools + ToolRuntime), runs one turn through the
 * Pipeline onion with a scripted model, and persists the conversation and the runtime events as JSONL
 * under the state root (`EFFECT_SWARM_HOME`, else `.effect-swarm/` in the repository).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Chunk, Config, Console, Duration, Effect, Layer, Option, Queue, Ref } from "effect"
import {
  Bundle,
  Conversation,
  EventBus,
  Message,
  MessageEvent,
  MessageStore,
  Pipeline,
  RuntimeConfig,
  RuntimeEventLog,
  SandboxedTools,
  StateRoot,
  ToolExecutor,
  ToolModule,
  ToolRegistry,
  ToolRuntime,
  Trace,
  WorkspacePaths
} from "effect-swarm"
import type { Middleware, Resource } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeTypeScript from "./demo/NodeTypeScript.js"
import * as ScriptedModel from "./demo/ScriptedModel.js"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bundleDir = path.join(repoRoot, "examples", "bundles", "multi-agent")
const userInput = "Remember that the demo ran, then tell me what you remember"

/** `EFFECT_SWARM_HOME` when set, else `.effect-swarm/` in the repository (git-ignored). */
const stateRoot = Effect.flatMap(
  Config.option(Config.nonEmptyString(StateRoot.envVar)),
  Option.match({ onNone: () => Effect.succeed(path.join(repoRoot, ".effect-swarm")), onSome: () => StateRoot.resolve })
)

const ms = (d: Duration.Duration) => `${Math.round(Duration.toMillis(d))} ms`
const json = (value: unknown) => JSON.stringify(value) ?? "undefined"
const clip = (line: string, max = 140) => line.length > max ? `${line.slice(0, max - 1)}…` : line

/** Why a tool cannot run in this offline demo, if it cannot. */
const offlineProblem = (tool: Resource.ToolResource): string | undefined => {
  const net = tool.spec.runtime?.permissions?.find((p) => p.startsWith("--allow-net") || p === "--allow-all")
  return net === undefined ? undefined : `needs network (${net}); the demo runs offline`
}

/** Registers the agent's tools: in-process through ToolModule, `spec.runtime` ones through the sandbox. */
const registerTools = (bundle: Bundle.Bundle, agent: Bundle.Entry<Resource.AgentResource>) =>
  Effect.forEach(new Set(Bundle.toolCatalog(bundle, agent).map((t) => t.tool)), (tool) =>
    Effect.gen(function*() {
      const name = `Tool/${tool.resource.metadata.name}`
      const runtime = tool.resource.spec.runtime
      const problem = offlineProblem(tool.resource)
      if (problem !== undefined) return yield* Console.log(`  ${name}: skipped, ${problem}`)
      if (runtime === undefined) {
        // entryFile: the file Bundle.load validated (a compiled .js beside a .ts entry when there is one).
        const loaded = yield* ToolModule.load(
          ToolModule.fromResource(tool.resource, tool.rootDir, { entryFile: tool.entryFile })
        )
        yield* ToolModule.register(loaded)
        return yield* Console.log(`  ${name}: in-process (ToolModule)`)
      }
      const runnable = yield* NodeTypeScript.prepare(tool.resource, tool.rootDir)
      yield* SandboxedTools.register(runnable.resource, tool.rootDir, {
        entryFile: runnable.resource === tool.resource ? tool.entryFile : undefined
      })
      const pool = runtime.pool === undefined ? "" : `, warm pool of ${runtime.pool.size}`
      yield* Console.log(`  ${name}: sandboxed in ${runtime.type}${pool} (SandboxedTools + ToolRuntime)`)
      if (runnable.note !== undefined) yield* Console.log(`    ${runnable.note}`)
    }), { discard: true })

/** Middlewares that show the onion at work: they wrap every turn, step and tool call. */
const registerMiddlewares = Effect.gen(function*() {
  const pipeline = yield* Pipeline.Pipeline
  yield* pipeline.register("turn", (ctx, next) =>
    Effect.timed(next).pipe(
      Effect.tap(([elapsed, r]) => Console.log(`[turn mw] ${ctx.turnId}: ${r.finishReason} after ${ms(elapsed)}`)),
      Effect.map(([, result]) => result)
    ), { name: "turn-timer" })
  yield* pipeline.register("step", (ctx, next) =>
    Effect.zipRight(
      Console.log(`\n[step mw] step ${ctx.stepIndex + 1}: model offered ${ctx.toolCatalog.length} tools`),
      next
    ), { name: "catalog-size" })
  yield* pipeline.register("toolCall", (ctx, next) =>
    Effect.timed(next).pipe(
      Effect.tap(([elapsed, r]) =>
        Console.log(
          `[toolCall mw] ${ctx.toolName} ${json(ctx.args)} -> ${r.status} ${
            json(r.status === "ok" ? r.output : r.error?.message)
          } (${ms(elapsed)})`
        )
      ),
      Effect.map(([, result]) => result)
    ), { name: "tool-timer" })
})

const ids = ({ agentName, instanceKey, turnId }: Middleware.ExecutionContext) => ({ agentName, instanceKey, turnId })

/** One step: ask the scripted model, persist its message, run its tool calls through the toolCall onion. */
const stepCore = (step: Middleware.StepContext) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const executor = yield* ToolExecutor.ToolExecutor
    const messages = (yield* step.conversation.get).messages
    const reply = yield* ScriptedModel.demo({ stepIndex: step.stepIndex, messages, catalog: step.toolCatalog })
    const calls = reply.toolCalls
    yield* Console.log(
      `[scripted model] ${calls.length > 0 ? `calls ${calls.map((c) => c.name).join(", ")}` : "answers"}`
    )
    const content: Message.Content = calls.length === 0 ? reply.text : calls.map((c) => ({
      type: "tool-call" as const,
      toolCallId: c.id,
      toolName: c.name,
      input: c.args as Message.Json
    }))
    const assistant = yield* Message.make({ role: "assistant", content }, {
      source: { type: "assistant", stepId: step.stepId }
    })
    yield* step.emitMessageEvent(MessageEvent.append(assistant))
    const toolResults = yield* Effect.forEach(calls, (call) =>
      pipeline.runToolCall(
        { step, toolCallId: call.id, toolName: call.name, args: call.args as Record<string, unknown> },
        // The executor guards the step's catalog and validates the arguments against the JSON Schema.
        (ctx) =>
          executor.execute({
            toolCallId: ctx.toolCallId,
            toolName: ctx.toolName,
            args: ctx.args,
            catalog: step.toolCatalog,
            context: { ...ids(step), stepIndex: step.stepIndex, trace: ctx.trace }
          })
      ).pipe(Effect.tap((result) =>
        Effect.flatMap(
          Message.make({
            role: "tool",
            toolCallId: call.id,
            toolName: call.name,
            content: [{
              type: "tool-result",
              toolCallId: call.id,
              toolName: call.name,
              output: ToolExecutor.forModel(result) as Message.Json,
              ...(result.status === "error" ? { isError: true } : {})
            }]
          }),
          (message) => step.emitMessageEvent(MessageEvent.append(message))
        )
      )))
    const result: Middleware.StepResult = {
      status: "completed",
      shouldContinue: calls.length > 0,
      toolCalls: calls,
      toolResults,
      metadata: {}
    }
    return result
  })

const demo = (root: string) =>
  Effect.gen(function*() {
    // 1. Load and validate the bundle.
    const bundle = yield* Bundle.load(bundleDir, { stateRoot: root })
    yield* Console.log(`bundle ${path.relative(repoRoot, bundle.root)}: ${bundle.entries.length} resources, valid`)
    const kinds = new Map<string, Array<string>>()
    for (const { resource } of bundle.entries) {
      kinds.set(resource.kind, [...kinds.get(resource.kind) ?? [], resource.metadata.name])
    }
    for (const [kind, names] of kinds) yield* Console.log(`  ${kind.padEnd(10)} ${names.join(", ")}`)

    // 2. The Swarm's entry agent, its model (scripted for now) and its tools.
    const swarm = Bundle.entriesOf(bundle, "Swarm")[0]!
    const agent = Bundle.resolve(bundle, swarm.resource.spec.entryAgent, swarm) as Bundle.Entry<Resource.AgentResource>
    const agentName = agent.resource.metadata.name
    const model = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
    yield* Console.log(`\nswarm ${swarm.resource.metadata.name}: entry agent ${agentName}`)
    if (model?.resource.kind === "Model") {
      const { model: id, provider } = model.resource.spec
      yield* Console.log(`  model: SCRIPTED stand-in for Model/${model.resource.metadata.name} (${provider} ${id})`)
    }
    yield* registerTools(bundle, agent)
    const catalog = yield* Effect.flatMap(ToolRegistry.ToolRegistry, (registry) => registry.catalog)
    yield* Console.log(`  catalog: ${catalog.map((t) => t.name).join(", ")}`)

    // 3. The conversation through MessageStore, the runtime events through RuntimeEventLog.
    const instance: WorkspacePaths.InstanceRef = {
      workspaceId: WorkspacePaths.workspaceId(swarm.resource.spec.instanceKey ?? swarm.resource.metadata.name),
      agentName,
      instanceKey: "local"
    }
    const store = yield* MessageStore.MessageStore
    const log = yield* RuntimeEventLog.RuntimeEventLog
    const paths = WorkspacePaths.instance(root, instance)
    // Earlier runs left their records: the end of the demo shows what this run adds.
    const before = { events: readLines(paths.events).length, runtimeEvents: readLines(paths.runtimeEvents).length }
    const current = yield* Ref.make(yield* store.load(instance))
    const conversation: Middleware.ConversationState = {
      get: Ref.get(current),
      // Durable when it returns; a storage failure is fatal for the demo.
      emit: (draft) =>
        store.append(instance, [draft]).pipe(
          Effect.flatMap((events) => Ref.update(current, (c) => Conversation.applyAll(c, events))),
          Effect.orDie
        )
    }
    // Runtime events are written at step boundaries, in this fiber: nothing in flight when the scope closes.
    const published = yield* Effect.flatMap(EventBus.EventBus, (bus) => bus.subscribe)
    const persistEvents = Effect.flatMap(Queue.takeAll(published), (c) => log.append(instance, Chunk.toArray(c)))
    yield* registerMiddlewares

    // 4. One turn: scripted steps until the model answers in text.
    yield* Console.log(`\nuser> ${userInput}`)
    // The input is persisted before the turn starts (write-ahead), so a crash never loses it.
    yield* conversation.emit(MessageEvent.append(yield* Message.make({ role: "user", content: userInput })))
    const pipeline = yield* Pipeline.Pipeline
    const maxSteps = swarm.resource.spec.policy?.maxStepsPerTurn ?? 8
    const result = yield* pipeline.runTurn({
      agentName,
      instanceKey: instance.instanceKey,
      turnId: `turn-${yield* Trace.makeSpanId}`,
      conversation,
      inputEvent: { type: "user_message", input: userInput }
    }, (turn) =>
      Effect.gen(function*() {
        for (let stepIndex = 0; stepIndex < maxSteps; stepIndex++) {
          const step = yield* pipeline.runStep({ turn, stepIndex, toolCatalog: catalog }, stepCore)
          yield* persistEvents
          if (!step.shouldContinue) {
            const answer = (yield* turn.conversation.get).messages.at(-1)
            return { turnId: turn.turnId, responseMessage: answer, finishReason: "text_response" } as const
          }
        }
        return { turnId: turn.turnId, finishReason: "max_steps" } as const
      }))
    yield* persistEvents
    const text = result.responseMessage === undefined ? "(no answer)" : Message.text(result.responseMessage.data)
    yield* Console.log(`${agentName}> ${text}`)
    return { paths, before }
  })

const readLines = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0) : []

/** The records this run added to a JSONL file (the first few of them). */
const showFile = (file: string, before: number, lines = 3) =>
  Effect.flatMap(Effect.sync(() => readLines(file)), (all) => {
    const added = all.slice(before)
    const header = `  ${path.basename(file)}: ${added.length} records added (${all.length} in all), first ${lines}:`
    return Console.log([header, ...added.slice(0, lines).map((l) => `    ${clip(l)}`)].join("\n"))
  })

const program = Effect.gen(function*() {
  const root = yield* stateRoot
  const Tools = ToolExecutor.layer().pipe(
    Layer.provideMerge(ToolRegistry.layer),
    // The default sandbox config; each Tool's spec.runtime is applied over it.
    Layer.provideMerge(ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node"))))
  )
  const Runtime = Pipeline.layer().pipe(Layer.provideMerge(EventBus.layer()))
  const Workspace = Layer.mergeAll(MessageStore.layer({ root }), RuntimeEventLog.layer({ root }))
  // Closing the scope drains the event sink, flushes the files and stops the worker pool.
  const { before, paths } = yield* demo(root).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(Tools, Runtime, Workspace).pipe(Layer.provideMerge(NodeContext.layer)))
  )
  yield* Console.log(`\nstate root ${root} (${StateRoot.envVar} moves it)`)
  yield* Console.log(`instance ${path.relative(root, paths.dir)}/messages:`)
  yield* showFile(paths.events, before.events)
  yield* showFile(paths.runtimeEvents, before.runtimeEvents)
})

program.pipe(NodeRuntime.runMain)
