/**
 * `effect-swarm run [dir] [--swarm <name>] [--once <text>] [--fallback-model <name>] [--watch]`: runs a Swarm of the
 * bundle in `dir` (default `.`) on the `Orchestrator`, its instances durable under the state root
 * (`EFFECT_SWARM_HOME`, else `~/.effect-swarm`), in the Swarm's workspace.
 *
 * - `--once <text>` sends one user message to the entry agent (or `--to agent[@instance]`; default
 *   instance `default`), streams its reply to stdout, shows every tool call of every instance as it runs
 *   (a delegated call through `agents__request` too), prints where the files are, and exits: 0 for a
 *   reply, 1 when the turn ended on a budget, the step limit or an error, 4 when it waits for approval.
 * - Without `--once` it starts the Swarm's connectors and runs until SIGINT / SIGTERM (or the terminal chat
 *   ends): the connectors stop, then the orchestrator shuts down gracefully (turns in flight get the Swarm's
 *   `shutdown.gracePeriodSeconds`; one still running after it stays open in its log with its message in the
 *   inbox, and the next `run` on the same state root continues it), and the process exits 0. With `--watch`
 *   it reloads what changed when the bundle's files change (only the agents and connections whose
 *   configuration changed restart; an invalid edit is reported and the running swarm kept; see docs/cli.md).
 *
 * Models: each agent uses its bundle Model. When that Model's API key is not in the environment (its
 * `ValueSource` does not resolve: the one case caught) and `--fallback-model <name>` is given, the agent
 * runs on that Model of the bundle instead (a `scripted` one runs offline) and `run` says so on stderr;
 * without `--fallback-model` the missing key is an error naming the variable.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as StateRoot from "../config/StateRoot.js"
import * as CliChat from "../connector/CliChat.js"
import * as Connectors from "../connector/Connectors.js"
import * as Message from "../conversation/Message.js"
import * as McpServers from "../mcp/McpServers.js"
import * as AgentAddress from "../orchestrator/AgentAddress.js"
import * as Orchestrator from "../orchestrator/Orchestrator.js"
import type { TurnResult } from "../pipeline/Middleware.js"
import * as Bundle from "../resource/Bundle.js"
import type * as Resource from "../resource/Resource.js"
import * as WorkspacePaths from "../workspace/WorkspacePaths.js"
import { SwarmChoice } from "./CliError.js"
import * as CliExit from "./CliExit.js"
import { ExitCode } from "./CliExit.js"
import * as Host from "./internal/host.js"
import * as Models from "./internal/models.js"
import * as Root from "./internal/root.js"
import * as Screen from "./internal/screen.js"
import * as Target from "./internal/target.js"
import * as Watch from "./internal/watch.js"
import { detectColor, paint } from "./Output.js"
import * as TypeScript from "./TypeScript.js"

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The Swarm to run (default: `Bundle.selectSwarm`'s choice). */
  readonly swarm?: string | undefined
  /** One user message: run its turn, print the reply, exit. */
  readonly once?: string | undefined
  /** Who gets the `once` message: `agent[@instance]` (default: the Swarm's entry agent, instance `default`). */
  readonly to?: string | undefined
  /** A Model of the bundle for the agents whose own Model has no API key in the environment. */
  readonly fallbackModel?: string | undefined
  /** The state root (default: `StateRoot.resolve`). */
  readonly root?: string | undefined
  /** Where the screen writes (default: stdout). */
  readonly sink?: Screen.Sink | undefined
  /** Serving (no `once`): reload what changed when the bundle's files change (see `internal/watch.ts`). */
  readonly watch?: boolean | undefined
}

const swarmOf = (bundle: Bundle.Bundle, name: string | undefined) =>
  Either.match(Bundle.selectSwarm(bundle, name), {
    onLeft: (detail) => Effect.fail(new SwarmChoice({ detail })),
    onRight: (swarm) => Effect.succeed(swarm)
  })

const agentsOf = (bundle: Bundle.Bundle, swarm: Bundle.Entry<Resource.SwarmResource>) =>
  swarm.resource.spec.agents.flatMap((ref) => {
    const entry = Bundle.resolve(bundle, ref, swarm)
    return entry?.resource.kind === "Agent" ? [entry as Bundle.Entry<Resource.AgentResource>] : []
  })

/** How a tool of the bundle runs, by tool name (`resource__export`): in-process, or sandboxed in which runtime. */
const whereToolsRun = (bundle: Bundle.Bundle) => {
  const byResource = new Map<string, string>()
  for (const tool of Bundle.entriesOf(bundle, "Tool")) {
    const runtime = tool.resource.spec.runtime
    byResource.set(tool.resource.metadata.name, runtime === undefined ? "in-process" : `sandboxed: ${runtime.type}`)
  }
  return (toolName: string) => {
    const resource = toolName.split("__")[0] ?? ""
    return resource === "agents" ? "built-in" : byResource.get(resource)
  }
}

/**
 * Starts the Swarm's connectors (the built-in `cli` one is the terminal chat), and with `watch` the watcher
 * (which reloads the changed agents and connections), and runs until the chat ends, every connector is done,
 * or SIGINT / SIGTERM interrupts the run.
 */
const serve = (
  bundle: Bundle.Bundle,
  orchestrator: Orchestrator.Service,
  watch: Omit<Watch.Options, "connectors" | "onConnectionAdded"> | undefined
) =>
  Effect.gen(function*() {
    const quit = yield* Deferred.make<void>()
    const connectors = yield* Connectors.run(bundle, orchestrator, { builtins: { cli: CliChat.connector({ quit }) } })
    const scope = yield* Effect.scope
    // Where each listening connection can be reached (the http connector announces its bound url, again after
    // a restart).
    const announce = (name: string) =>
      connectors.announcements(name, "url").pipe(
        Stream.runForEach((url) => Console.error(`connection ${name}: listening on ${url}`)),
        Effect.forkIn(scope),
        Effect.asVoid
      )
    // The watcher first: its "watching" line comes before the connections' lines.
    if (watch !== undefined) {
      yield* Watch.start(bundle, orchestrator, { ...watch, connectors, onConnectionAdded: announce })
    }
    if (connectors.connections.length === 0) {
      yield* Console.error(`no Connection feeds swarm ${orchestrator.swarm}; running until Ctrl-C or SIGTERM`)
      return yield* Effect.never
    }
    yield* Console.error(
      `connections: ${connectors.connections.join(", ")}; Ctrl-C or SIGTERM stops (a graceful shutdown)`
    )
    yield* Effect.forEach(connectors.connections, announce, { discard: true })
    yield* Effect.raceFirst(Deferred.await(quit), connectors.awaitDone)
  })

const outcome = (result: TurnResult) =>
  Effect.gen(function*() {
    switch (result.finishReason) {
      case "awaiting_approval":
        yield* Console.error(
          `turn ${result.turnId} waits for approval (effect-swarm approve <agent@instance> <callId>)`
        )
        return yield* new CliExit.CliExit({ code: ExitCode.awaitingApproval })
      case "budget_exceeded":
        yield* Console.error(`turn ${result.turnId} stopped: budget ${result.limit ?? "exceeded"}`)
        return yield* new CliExit.CliExit({ code: ExitCode.failed })
      case "error":
        yield* Console.error(`turn ${result.turnId} failed: ${result.error?.message ?? "model error"}`)
        return yield* new CliExit.CliExit({ code: ExitCode.failed })
      case "max_steps":
        yield* Console.error(`turn ${result.turnId} stopped at the step limit (maxStepsPerTurn)`)
        return yield* new CliExit.CliExit({ code: ExitCode.failed })
      default:
        return
    }
  })

/**
 * Runs the Swarm (see the module documentation).
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Run } from "effect-swarm/cli/Run"
 * Run.run("examples/bundles/multi-agent", { once: "What is effect-swarm?", fallbackModel: "offline" }).pipe(
 *   Effect.provide(NodeContext.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Effect.fn("Run.run")(function*(dir: string, options: Options) {
  const root = yield* Root.resolve(options.root)
  const bundle = yield* Bundle.load(dir, { stateRoot: root })
  yield* TypeScript.ensureLoader(TypeScript.typeScriptEntries(bundle))
  const swarm = yield* swarmOf(bundle, options.swarm)
  const swarmName = swarm.resource.metadata.name
  const color = yield* detectColor
  const c = paint(color)
  const { choices, models } = yield* Models.choose(bundle, agentsOf(bundle, swarm), options.fallbackModel)
  for (const choice of choices) {
    yield* Console.error(
      choice.fallback === undefined
        ? `${choice.agentName}: ${choice.own}`
        : c(
          "33",
          `${choice.agentName}: ${choice.own} has no API key (${choice.fallback.tried.join(", ")} not set): ` +
            `using the scripted stand-in ${choice.fallback.model}`
        )
    )
  }
  const screen = Screen.make(options.sink ?? Screen.stdout, c)

  const program = Effect.gen(function*() {
    // Inter-agent calls are wired by the orchestrator (async replies under its state root).
    const orchestrator = yield* Orchestrator.make(bundle, swarmName, { models })
    const workspace = WorkspacePaths.instancesDir(root, orchestrator.workspaceId)
    yield* Console.error(
      `swarm ${swarmName} (${
        orchestrator.agents.map((a) => a.name).join(", ")
      }): instances under ${workspace} (${StateRoot.envVar} moves the state root)`
    )
    if (options.once === undefined) {
      return yield* serve(
        bundle,
        orchestrator,
        options.watch === true ? { dir, stateRoot: root, log: Console.error } : undefined
      )
    }
    yield* Screen.showToolCalls(screen, c, whereToolsRun(bundle))
    const target = options.to === undefined
      ? { agentName: orchestrator.entryAgent, instanceKey: "default" }
      : yield* Effect.map(Target.parse(options.to), (t) => ({ ...t, instanceKey: t.instanceKey ?? "default" }))
    const address = yield* AgentAddress.make(target.agentName, target.instanceKey)
    const label = AgentAddress.format(address)
    yield* screen.line(`${c("1", "you>")} ${options.once}`)
    const result = yield* orchestrator.request(address, {
      input: options.once,
      onDelta: screen.onDelta(target.agentName)
    })
    // A provider that does not stream sent no deltas: print the reply whole.
    const reply = result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data)
    if (!(yield* screen.streamed(target.agentName)) && reply.length > 0) yield* screen.text(target.agentName, reply)
    yield* screen.endText
    yield* Console.error(`${label}: ${result.finishReason} (turn ${result.turnId})`)
    for (const i of yield* orchestrator.list) {
      const paths = WorkspacePaths.instance(root, {
        workspaceId: orchestrator.workspaceId,
        agentName: i.agentName,
        instanceKey: i.instanceKey
      })
      yield* Console.error(`files of ${i.address}: ${paths.dir}`)
    }
    yield* outcome(result)
  })
  return yield* program.pipe(
    Effect.scoped,
    Effect.provide(Layer.merge(Host.layer(root), McpServers.layer)),
    // Serving: SIGINT / SIGTERM is how it stops; once the graceful shutdown above is over, that is a success.
    options.once === undefined ? Effect.onInterrupt(() => CliExit.markGracefulStop) : identity
  )
})
