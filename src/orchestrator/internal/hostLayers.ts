/**
 * The public host layers beyond the in-process ones, re-exported by `AgentHost`: `childProcess` (and its
 * options), `childMain` (the child's program for bundled apps) and `byAgent` (one host per agent name).
 * Their TSDoc lives here with them.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import { AgentHost } from "../AgentHost.js"
import type { HostConflict } from "../OrchestratorError.js"
import * as ChildMain from "./childMain.js"
import * as ByAgent from "./hostByAgent.js"
import * as Child from "./hostChild.js"

/**
 * Options of {@link childProcess}.
 *
 * @example
 * ```ts
 * import { AgentHost } from "effect-swarm"
 * const options: AgentHost.ChildProcessOptions = {
 *   stateRoot: "/var/lib/swarm",
 *   readyTimeout: "30 seconds",
 *   gracePeriod: "10 seconds",
 *   killGrace: "2 seconds",
 *   env: { OPENAI_API_KEY: "sk-..." },
 *   execArgv: ["--max-old-space-size=512"]
 * }
 * const Host = AgentHost.childProcess(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ChildProcessOptions {
  /** The state root the children open their instances under (default: `EFFECT_SWARM_HOME`, else `~/.effect-swarm`). */
  readonly stateRoot?: string | undefined
  /** How long a child may take to load the bundle and open its instance (default 60 s, on the Clock). */
  readonly readyTimeout?: Duration.DurationInput | undefined
  /** How long a child may take to shut down when asked before it gets TERM (default 10 s, on the Clock). */
  readonly gracePeriod?: Duration.DurationInput | undefined
  /** How long after TERM before KILL (default 5 s, on the Clock). */
  readonly killGrace?: Duration.DurationInput | undefined
  /** Variables added to the children's environment (they inherit this process's, for model API keys). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Extra Node flags for the children (`--max-old-space-size=512`). */
  readonly execArgv?: ReadonlyArray<string> | undefined
  /**
   * The children's entry module, for bundled apps (relative to the working directory, or absolute): a
   * module whose only work is calling {@link childMain}. Forked with `execArgv` alone (no tsx loader).
   * Default: the library's own entry beside its code (in `node_modules`, or the sources under tsx).
   */
  readonly entry?: string | undefined
}

/**
 * One Node process per instance (per generation): the child loads the bundle itself, opens its instance
 * with `AgentInstance.fromBundle` on its own workspace stores (it holds the instance's lock and writes its
 * conversation, runtime events and extension state; the parent never does), and runs the turns it is
 * sent. The channel is Node IPC with JSON messages checked by a schema on both sides; the handshake waits
 * `readyTimeout`; streamed model output is forwarded to the requester's `onDelta`. A child that exits (a
 * crash, `kill -9`) ends that generation only: the orchestrator restarts the instance with backoff and the
 * next child continues the open turn from the log. `stop` (and closing the scope) asks the child to shut
 * down, sends TERM to its process group after `gracePeriod` and KILL after `killGrace`, and reaps it.
 *
 * Inter-agent calls: with `calls` in the Orchestrator options (`AgentsTool.wire`), the child's instance
 * calls other agents (`ctx.agents`, the built-in `agents` tool with async reply delivery, `ctx.callAgent`
 * of its sandboxed tools) through schema-checked IPC messages answered by this process's `AgentsApi`, as
 * the instance the child was started for: the same checks and `AGENT_*` errors as in-process, the call
 * chain carried across processes (cycles through a child are `CIRCULAR_CALL_DETECTED`), and a cancelled
 * turn in the child cancels its request here and the callee's turn with it. A request that times out
 * abandons the callee's turn in its child (`Turn.abandon`, over an `Abandon` message).
 *
 * Not carried across (they are objects and functions of this process): `Orchestrator` options `models`
 * (select the model in the bundle instead: a `provider: scripted` Model for tests), `setup` (declare the
 * tools, middlewares and extensions in the bundle), and `agents` without `calls`; such an instance fails
 * to start with `HostUnsupported`, whose detail says so. Sandboxed tools run under the default Node
 * `RuntimeConfig` in the child.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NodeContext } from "@effect/platform-node"
 * import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.makeOnHost(bundle, undefined)
 *   return yield* orchestrator.request("coder@thread-1", "hello")
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(AgentHost.childProcess({ gracePeriod: "5 seconds" })),
 *   Effect.provide(NodeContext.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const childProcess = (
  options: ChildProcessOptions = {}
): Layer.Layer<AgentHost, never, FileSystem.FileSystem> => Layer.effect(AgentHost, Child.make(options))

/**
 * The program of a child-process instance, as this process's main: the module named by
 * `ChildProcessOptions.entry` calls it and nothing else. A bundled app ships it as a second entry point of
 * its bundle (the library's own entry file is not in a bundle; the package has no side-effect imports).
 *
 * @example
 * ```ts
 * // child.ts, bundled beside the app: esbuild app.ts child.ts --bundle --platform=node --outdir=dist
 * import { AgentHost } from "effect-swarm"
 * AgentHost.childMain()
 * // app.ts then uses AgentHost.childProcess({ entry: "dist/child.js" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const childMain = (): void => ChildMain.run()

/**
 * Options of {@link byAgent}: a host layer per agent name, and the host of every other agent.
 *
 * @since 0.1.0
 * @category models
 */
export interface ByAgentOptions<E, R> extends ByAgent.ByAgentOptions<E, R> {}

/**
 * One host per agent: the agents named in `hosts` run on their host, every other agent on `otherwise`
 * (each host layer is built once). The durable hosts must share one state root (the orchestrator keeps its
 * inbox there): `HostConflict` at layer build otherwise; in-memory hosts mix with any. A name in `hosts`
 * that is no Agent of the bundle fails every start with `AGENT_TURN_FAILED` (`HostUnknownAgent`, listing
 * the bundle's agents), since a misspelt name would otherwise run its agent on `otherwise` unnoticed.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * // The coder (it runs untrusted tools) in child processes, every other agent in this process:
 * const Host = AgentHost.byAgent({
 *   hosts: { coder: AgentHost.childProcess({ stateRoot: "/var/lib/swarm" }) },
 *   otherwise: AgentHost.inProcess
 * })
 * const OrchestratorLive = Orchestrator.layerOnHost(bundle).pipe(Layer.provide(Host))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const byAgent = <E, R>(options: ByAgentOptions<E, R>): Layer.Layer<AgentHost, E | HostConflict, R> =>
  ByAgent.layer(options)
