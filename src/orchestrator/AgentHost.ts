/**
 * Where the orchestrator runs its instances. The orchestrator owns addresses, mailboxes and supervision;
 * an `AgentHost` owns what one instance is while it lives: it starts the instance of an address (one
 * generation), runs one turn at a time for it, stops it with a reason, and reports when it ends on its
 * own (its `exited` signal, carrying its generation). The orchestrator only ever talks to a host by these
 * messages, so an instance shares no memory with its caller:
 *
 * - `AgentHost.inProcess` (the default of `Orchestrator.make` / `layer`): the instance is opened by
 *   `AgentInstance.fromBundle` on the workspace stores in context and its turns run on fibers.
 * - `AgentHost.inMemory` (`Orchestrator.makeInMemory`): the same, with logs in memory.
 * - `AgentHost.childProcess`: one Node process per instance (isolation: a crash or `kill -9` of one
 *   instance takes nothing else down); see its TSDoc.
 * - `AgentHost.byAgent`: one host per agent name, another for the rest.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as AgentInstance from "../agent/AgentInstance.js"
import type * as Turn from "../agent/Turn.js"
import type * as EventBus from "../event/EventBus.js"
import type * as Model from "../model/Model.js"
import type { AgentsApi, TurnResult } from "../pipeline/Middleware.js"
import type * as Bundle from "../resource/Bundle.js"
import type * as Resource from "../resource/Resource.js"
import type * as AgentAddress from "./AgentAddress.js"
import type * as AgentsApiService from "./AgentsApi.js"
import * as InProcess from "./internal/hostInProcess.js"
import type { TurnInput } from "./internal/mailbox.js"
import { type AgentTurnFailed, HostConflict, HostCrashed } from "./OrchestratorError.js"

// The child-process and per-agent hosts (with their TSDoc) live in internal/hostLayers.ts.
export {
  byAgent,
  type ByAgentOptions,
  childMain,
  childProcess,
  type ChildProcessOptions
} from "./internal/hostLayers.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  HostConflict,
  /**
   * @since 0.1.0
   * @category errors
   */
  HostCrashed
}

/**
 * Why a host stops an instance: `restart` (`Orchestrator.restart`, or after a crash), `stop`
 * (`Orchestrator.stop`), `idle` (released after the Swarm's lifecycle settings), `config_change` and
 * `orchestrator_shutdown` (the orchestrator's scope closes).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentHost } from "effect-swarm"
 * // A host's stop, told why (a child-process host asks its child to shut down, then TERM, then KILL):
 * const stopForDeploy = (hosted: AgentHost.Hosted) => {
 *   const reason: AgentHost.ShutdownReason = "config_change"
 *   return hosted.stop(reason).pipe(Effect.zipRight(Effect.log(`stopped generation ${hosted.generation}`)))
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ShutdownReason = "restart" | "stop" | "idle" | "config_change" | "orchestrator_shutdown"

/**
 * What a host needs to start the instance of one address.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentHost } from "effect-swarm"
 * import { AgentAddress } from "effect-swarm"
 * // A host that logs every start before handing it to another host:
 * const logging = (inner: AgentHost.Service): AgentHost.Service => ({
 *   ...inner,
 *   start: (target: AgentHost.Target) =>
 *     Effect.zipRight(
 *       Effect.log(`${AgentAddress.format(target.address)} generation ${target.generation}`),
 *       inner.start(target)
 *     )
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly bundle: Bundle.Bundle
  readonly swarm: Bundle.Entry<Resource.SwarmResource>
  readonly workspaceId: string
  readonly agentNames: ReadonlyArray<string>
  readonly address: AgentAddress.AgentAddress
  readonly agent: Bundle.Entry<Resource.AgentResource>
  /** Counts the starts of this address (1, 2, ...): the instance's generation. */
  readonly generation: number
  /** A model instead of the bundle's (in-process hosts only: a child process opens the bundle's). */
  readonly model: Model.Service | undefined
  /**
   * The agents API the instance's middlewares and tools call other agents through (in-process hosts only;
   * without it, `calls.forInstance` of the instance).
   */
  readonly agents: AgentsApi | undefined
  /**
   * The orchestrator's inter-agent call service (`AgentsTool.wire`'s `calls`): the host gives the instance
   * its agents API and, when its agent may call others, the `agents` tool and async reply delivery
   * (`AgentsTool.attach`). A child-process host carries it over IPC: the child's calls are answered here.
   */
  readonly calls?: AgentsApiService.Service | undefined
  /** Prepares the opened instance before its first turn (in-process hosts only). */
  readonly setup:
    | ((instance: AgentInstance.AgentInstance) => Effect.Effect<void, AgentTurnFailed, Scope.Scope>)
    | undefined
}

/**
 * How one turn is run: `resume` when the turn started under an earlier generation (its log ends inside
 * it: the host continues it, and runs the input only if nothing was open); `onDelta` receives the
 * streamed model output of each step.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentHost } from "effect-swarm"
 * // A fresh turn whose streamed text goes to stdout:
 * const options: AgentHost.RunOptions = {
 *   resume: false,
 *   onDelta: (_, part) => Effect.sync(() => void (part._tag === "TextDelta" && process.stdout.write(part.text)))
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly resume: boolean
  readonly onDelta?: Turn.Input["onDelta"]
}

/**
 * The instance ended on its own (a child process exited): the generation it belonged to, and what was
 * seen (exit code, signal).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentHost } from "effect-swarm"
 * // What a supervisor does with an instance that ended on its own:
 * const watch = (hosted: AgentHost.Hosted) =>
 *   Effect.flatMap(hosted.exited, (exit: AgentHost.Exit) =>
 *     Effect.logWarning(`generation ${exit.generation} ended: ${exit.detail}`))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Exit {
  readonly generation: number
  readonly detail: string
}

/**
 * The instance of one address, started by a host for one generation. It lives in the scope `start` was
 * given: closing that scope stops it (as `orchestrator_shutdown` unless `stop` said otherwise).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentHost } from "effect-swarm"
 * // One turn on a started instance, then its pid (a child-process host) for the logs:
 * const once = (hosted: AgentHost.Hosted, text: string) =>
 *   Effect.tap(
 *     hosted.run({ input: text }, { resume: false }),
 *     () => Effect.log(`answered by pid ${hosted.pid ?? process.pid}`)
 *   )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Hosted {
  readonly generation: number
  /** The process id of a child-process instance. */
  readonly pid: number | undefined
  /**
   * Runs one turn. Interrupting it cancels the turn (it stays open in the instance's log). Fails with
   * `AgentTurnFailed` when the turn failed (the instance lives on) or `HostCrashed` when the instance died
   * with it (the orchestrator restarts it, and the next generation continues the turn from its log).
   */
  readonly run: (input: TurnInput, options: RunOptions) => Effect.Effect<TurnResult, AgentTurnFailed | HostCrashed>
  /**
   * Completes when the instance ends on its own. An instance that cannot (in process) gives `Effect.never`
   * itself: the orchestrator then waits for messages without watching it.
   */
  readonly exited: Effect.Effect<Exit>
  /**
   * Records the instance's open turn as interrupted, with the reason, instead of continuing it later
   * (`Turn.abandon`: a `turn.abandoned` record, `E_TOOL_INTERRUPTED` for its unanswered tool calls). The
   * orchestrator calls it after interrupting a run whose requester gave up (a request timeout) or that
   * outlived the shutdown grace period. A host without it leaves the turn open (continued by the next run).
   * A child-process host asks the child (which owns the log) with an `Abandon` message.
   */
  readonly abandon?: (reason: string) => Effect.Effect<void, HostCrashed>
  /**
   * Of these inbox message ids (carried by a turn's input message as metadata `swarm.inbox`), the ones
   * already in the instance's conversation, and the one whose turn the log ends inside (`open`). The
   * orchestrator uses it at start so a message accepted before a crash never runs twice. A host without
   * it gets `resume` for every recovered message (an open turn is continued; a turn that ended but was
   * not yet acknowledged would run again).
   */
  readonly inLog?: (
    ids: ReadonlyArray<string>
  ) => Effect.Effect<{ readonly started: ReadonlyArray<string>; readonly open: string | undefined }, HostCrashed>
  /** Stops the instance (idempotent): a child is asked to shut down, then TERM, then KILL after the grace period. */
  readonly stop: (reason: ShutdownReason) => Effect.Effect<void>
}

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentHost } from "effect-swarm"
 * // The host in context, as the orchestrator sees it:
 * const describe = Effect.map(AgentHost.AgentHost, (host: AgentHost.Service) =>
 *   `${host.kind} host, state root ${host.root ?? "(in memory)"}`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `inProcess`, `inMemory` or `childProcess`. */
  readonly kind: string
  /**
   * The state root the instances' files live under: the orchestrator keeps its durable inbox there
   * (`<instance>/inbox/messages.jsonl`). Undefined for in-memory hosts (nothing survives the process).
   */
  readonly root?: string | undefined
  /** Starts the instance of `target.address`; it lives in the given scope. */
  readonly start: (target: Target) => Effect.Effect<Hosted, AgentTurnFailed, Scope.Scope>
  /** Records `crashed` / `stopped` (with the reason) where the instance's status lives. */
  readonly persistStatus: (
    workspaceId: string,
    address: AgentAddress.AgentAddress,
    status: "crashed" | "stopped",
    reason: string
  ) => Effect.Effect<void>
}

/**
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * // Orchestrator.layerOnHost takes its instances' host from context: pick one with a layer.
 * const OrchestratorLive = Orchestrator.layerOnHost(bundle).pipe(
 *   Layer.provide(AgentHost.childProcess({ stateRoot: "/var/lib/swarm" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class AgentHost extends Context.Tag("effect-swarm/AgentHost")<AgentHost, Service>() {}

/**
 * Instances opened by `AgentInstance.fromBundle` (the bundle's model, prompt, tools, extensions, MCP
 * servers) on the workspace stores in context, their turns on fibers of this process.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const OrchestratorLive = Orchestrator.layerOnHost(bundle).pipe(Layer.provide(AgentHost.inProcess))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const inProcess: Layer.Layer<
  AgentHost,
  never,
  Exclude<AgentInstance.FromBundleRequirements, Scope.Scope>
> = Layer.effect(AgentHost, InProcess.durable)

/**
 * Instances whose logs live in memory, from the bundle's model and system prompt (no tools or extensions
 * unless `setup` registers them): tests, benchmarks, throwaway swarms.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { AgentHost, Bundle, EventBus, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.makeOnHost(bundle, undefined)
 *   return yield* orchestrator.request("coder@scratch", "hello")
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(AgentHost.inMemory.pipe(Layer.provideMerge(Layer.merge(EventBus.layer(), NodeContext.layer))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const inMemory: Layer.Layer<AgentHost, never, EventBus.EventBus | FileSystem.FileSystem> = Layer.effect(
  AgentHost,
  InProcess.inMemory
)
