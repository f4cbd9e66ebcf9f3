/**
 * The library walk-through (`npm run example`): one user turn of the example swarm's entry agent, built by
 * hand from the library's modules (`npm start` runs the whole swarm through the CLI instead).
 *
 * Loads `examples/bundles/multi-agent`, opens the entry agent's instance with `AgentInstance.fromBundle`
 * (its own pipeline, tool registry and executor; its tools in-process through ToolModule or sandboxed in a
 * Node worker pool through SandboxedTools + ToolRuntime; its extensions; its conversation and runtime
 * events as JSONL under the state root, `EFFECT_SWARM_HOME`, else `.effect-swarm/` in the repository) and
 * runs one turn with `Turn.run` on the library's scripted model.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Option } from "effect"
import {
  AgentInstance,
  Bundle,
  EventBus,
  ExtensionState,
  Instances,
  Message,
  MessageStore,
  RuntimeConfig,
  RuntimeEventLog,
  Scripted,
  StateRoot,
  ToolRuntime,
  Turn,
  WorkspacePaths
} from "effect-swarm"
import type { Pipeline, Resource } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

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

/** What the demo says about each tool of the agent: how it runs. */
const describeTools = (bundle: Bundle.Bundle, agent: Bundle.Entry<Resource.AgentResource>) =>
  Effect.forEach(new Set(Bundle.toolCatalog(bundle, agent).map((t) => t.tool)), (tool) => {
    const name = `Tool/${tool.resource.metadata.name}`
    const runtime = tool.resource.spec.runtime
    if (runtime === undefined) return Console.log(`  ${name}: in-process (ToolModule)`)
    const pool = runtime.pool === undefined ? "" : `, warm pool of ${runtime.pool.size}`
    return Console.log(`  ${name}: sandboxed in ${runtime.type}${pool} (SandboxedTools + ToolRuntime)`)
  }, { discard: true })

/** Middlewares that show the onion at work: they wrap every turn, step and tool call. */
const registerMiddlewares = (pipeline: Pipeline.Service) =>
  Effect.gen(function*() {
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

/**
 * The scripted stand-in for the Swarm's model (the demo runs offline): step 1 notes that the demo ran and
 * reads the clock, step 2 lists the notes, step 3 answers. It is the only fake in the demo; the turn loop,
 * the pipeline, the tools and the files are real.
 */
const script: ReadonlyArray<Scripted.ScriptStep> = [
  { toolCalls: [{ name: "notes__add", arguments: { text: "the demo ran" } }, { name: "clock__now" }] },
  { toolCalls: [{ name: "notes__list" }] },
  { text: "I noted that the demo ran, and the notes list above shows it." }
]

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

    // 2. The Swarm's entry agent and its model (scripted for the demo).
    const swarm = Bundle.entriesOf(bundle, "Swarm")[0]!
    const agent = Bundle.resolve(bundle, swarm.resource.spec.entryAgent, swarm) as Bundle.Entry<Resource.AgentResource>
    const agentName = agent.resource.metadata.name
    const model = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
    yield* Console.log(`\nswarm ${swarm.resource.metadata.name}: entry agent ${agentName}`)
    if (model?.resource.kind === "Model") {
      const { model: id, provider } = model.resource.spec
      yield* Console.log(`  model: SCRIPTED stand-in for Model/${model.resource.metadata.name} (${provider} ${id})`)
    }

    // 3. The instance, wired from the bundle: its system prompt, its policy (Swarm -> Agent), its tools
    // (in-process, or sandboxed in a Node worker pool) in its own registry, its extensions (register(api,
    // config)) in its own pipeline; its conversation and runtime events under the state root.
    const instance = yield* AgentInstance.fromBundle(bundle, {
      agent,
      instanceKey: "local",
      model: yield* Scripted.make(script, { model: "demo-script" })
    })
    const policy = instance.policy
    yield* Console.log(`  policy: maxStepsPerTurn ${policy.maxStepsPerTurn}, toolConcurrency ${policy.toolConcurrency}`)
    yield* describeTools(bundle, agent)
    yield* Console.log(
      `  extensions: ${Bundle.extensionUses(bundle, agent).map((e) => e.extension.resource.metadata.name).join(", ")}`
    )
    yield* Console.log(`  catalog: ${(yield* instance.tools.catalog).map((t) => t.name).join(", ")}`)
    yield* registerMiddlewares(instance.pipeline)
    const paths = WorkspacePaths.instance(root, instance.ref)
    // Earlier runs left their records: the end of the demo shows what this run adds.
    const before = { events: readLines(paths.events).length, runtimeEvents: readLines(paths.runtimeEvents).length }

    // 4. One turn through Turn.run: the input is written first, then each step's assistant message and
    // tool results, before the next model call.
    yield* Console.log(`\nuser> ${userInput}`)
    const result = yield* Turn.run(instance, userInput)
    const text = result.responseMessage === undefined ? "(no answer)" : Message.text(result.responseMessage.data)
    yield* Console.log(`${agentName}> ${text}`)
    // The loop saved the extensions' state at the end of the turn (only what changed).
    const state = yield* ExtensionState.ExtensionState
    for (const use of Bundle.extensionUses(bundle, agent)) {
      const name = use.extension.resource.metadata.name
      const saved = yield* state.get(instance.ref, name)
      yield* Console.log(`extension state ${name}: ${Option.match(saved, { onNone: () => "(none)", onSome: json })}`)
    }
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
  // The default sandbox config; each Tool's spec.runtime is applied over it.
  const Tools = ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node")))
  const Workspace = Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root })
  )
  // Closing the scope drains the event sink, flushes the files and stops the worker pool.
  const { before, paths } = yield* demo(root).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(Tools, EventBus.layer(), Workspace).pipe(Layer.provideMerge(NodeContext.layer)))
  )
  yield* Console.log(`\nstate root ${root} (${StateRoot.envVar} moves it)`)
  yield* Console.log(`instance ${path.relative(root, paths.dir)}/messages:`)
  yield* showFile(paths.events, before.events)
  yield* showFile(paths.runtimeEvents, before.runtimeEvents)
})

program.pipe(NodeRuntime.runMain)
