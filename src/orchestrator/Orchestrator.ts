/**
 * The orchestrator: runs the agents of one Swarm as instances addressed `agent@instanceKey`, created on
 * their first message, each with a FIFO mailbox processed one turn at a time (instances run concurrently).
 * Instances are reachable by message only (`send`, `request`): no caller holds an instance, so the same
 * addresses can later name entities of a cluster. The layer is scoped: closing its scope shuts the
 * instances down (see docs/orchestrator.md).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as AgentInstance from "../agent/AgentInstance.js"
import type * as EventBus from "../event/EventBus.js"
import type * as Model from "../model/Model.js"
import type { AgentsApi as MiddlewareAgentsApi, TurnResult } from "../pipeline/Middleware.js"
import type * as Bundle from "../resource/Bundle.js"
import type * as Resource from "../resource/Resource.js"
import type * as AgentAddress from "./AgentAddress.js"
import * as AgentHost from "./AgentHost.js"
import type * as AgentsApi from "./AgentsApi.js"
import { makeWith } from "./internal/build.js"
import type * as Lifecycle from "./internal/lifecycle.js"
import type { TurnInput } from "./internal/mailbox.js"
import type * as Reload from "./internal/reload.js"
import type * as Runtime from "./internal/runtime.js"
import type { OrchestratorError, SwarmNotFound } from "./OrchestratorError.js"
import type * as Supervision from "./Supervision.js"

export type {
  /**
   * What a message asks of an instance: the user input of one turn (and metadata carried with it).
   *
   * @since 0.1.0
   * @category models
   */
  TurnInput
}

/**
 * Why the whole orchestrator shuts down: `restart`, `config_change`, `orchestrator_shutdown` (the
 * reference's reasons; waiting requesters get `AGENT_UNAVAILABLE` with status `shutting_down` and this
 * reason).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const reason: Orchestrator.ShutdownReason = "config_change"
 * const drain = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.shutdown(reason))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ShutdownReason = Lifecycle.ShutdownReason

/**
 * Graceful shutdown, idle release and reconcile settings (from the Swarm's `spec.policy`:
 * `shutdown.gracePeriodSeconds` default 30, `lifecycle.idleSeconds` default 900 (0: never),
 * `supervision.reconcileIntervalSeconds` default 5).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import type { Orchestrator } from "effect-swarm"
 * const lifecycle: Partial<Orchestrator.LifecycleSettings> = { gracePeriod: Duration.seconds(10) }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type LifecycleSettings = Lifecycle.Settings

/**
 * The status of an instance: `starting` (opening its log), `idle`, `processing` (a turn runs),
 * `restarting` (after a crash or `restart`), `crashLoopBackOff` (waiting before its next start, see
 * `Supervision`), `stopped` (by `stop`; `restart` brings it back), `crashed` (stopped by the
 * restart-intensity limit, `policy.restart`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const busy = Effect.flatMap(Orchestrator.Orchestrator, (o) =>
 *   Effect.map(o.list, (all) => all.filter((i) => i.status === "processing")))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceStatus = Runtime.InstanceStatus

/**
 * One instance as `list` reports it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const queued = Effect.flatMap(Orchestrator.Orchestrator, (o) =>
 *   Effect.map(o.list, (all: ReadonlyArray<Orchestrator.InstanceInfo>) => all.map((i) => `${i.address}: ${i.queued}`)))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface InstanceInfo {
  readonly address: string
  readonly agentName: string
  readonly instanceKey: string
  readonly status: InstanceStatus
  /** Why it is `stopped` or `crashed`. */
  readonly reason: string | undefined
  /** Messages waiting in its mailbox (the running one excluded). */
  readonly queued: number
  /** Restarts so far (after crashes, and by `restart`). */
  readonly restarts: number
  /** Crashes in the current row (see `Supervision`). */
  readonly consecutiveCrashes: number
  /** In backoff: when the next start is due (ms since the epoch, on `Clock`). */
  readonly nextStartAt: number | undefined
  /** The generation of the running instance (starts so far; 0 before the first). */
  readonly generation: number
  /** The process id of a child-process instance while it runs. */
  readonly pid: number | undefined
}

/**
 * An agent of the Swarm (what `catalog` offers to callers).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const names = Effect.map(Orchestrator.Orchestrator, (o) => o.agents.map((a: Orchestrator.KnownAgent) => a.name))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface KnownAgent {
  readonly name: string
  readonly resource: Resource.AgentResource
}

/**
 * An address as a string (`agent@instanceKey`, or `agent` for `agent@default`) or parsed.
 *
 * @example
 * ```ts
 * import type { Orchestrator } from "effect-swarm"
 * const a: Orchestrator.Address = "coder@thread-1"
 * const b: Orchestrator.Address = { agentName: "coder", instanceKey: "thread-1" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Address = string | AgentAddress.AgentAddress

/**
 * Options of {@link Service.request}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const options: Orchestrator.RequestOptions = { timeout: "30 seconds" }
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder@thread-1", "status?", options))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** How long to wait for the reply (default: no limit). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.Orchestrator
 *   yield* orchestrator.send("coder@thread-1", "start")
 *   return yield* orchestrator.request("coder@thread-1", "status?")
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly swarm: string
  readonly workspaceId: string
  /** The agents of the Swarm, in its `spec.agents` order. */
  readonly agents: ReadonlyArray<KnownAgent>
  /** The Swarm's entry agent. */
  readonly entryAgent: string
  /** The inter-agent calls API the orchestrator wired (see {@link Options.calls}); absent when it wired none. */
  readonly agentsApi: AgentsApi.Service | undefined
  /**
   * Enqueues a turn input in the instance's mailbox (creating the instance on its first message) and
   * returns once it is accepted. The turn's outcome is not reported (fire and forget).
   */
  readonly send: (address: Address, input: string | TurnInput) => Effect.Effect<void, OrchestratorError>
  /**
   * Enqueues a turn input like `send` and returns once it is accepted, with an effect that waits for that
   * turn's result (for callers that acknowledge first and answer later, such as connectors' `onReply`).
   * Interrupting the returned effect stops waiting; it does not cancel the turn, unless
   * `cancelOnInterrupt` is set (then it cancels it like an interrupted `request`).
   */
  readonly submit: (
    address: Address,
    input: string | TurnInput,
    options?: { readonly cancelOnInterrupt?: boolean | undefined }
  ) => Effect.Effect<Effect.Effect<TurnResult, OrchestratorError>, OrchestratorError>
  /**
   * Enqueues a turn input and waits for that turn's result. Interrupting the waiting fiber removes the
   * message from the mailbox if its turn has not started, or interrupts the turn if it runs. With
   * `timeout`, the same happens when it passes (on `Clock`) and the request fails with
   * `AgentRequestTimeout` (`AGENT_REQUEST_TIMEOUT`); this costs less than `Effect.timeout` around the call
   * (one timer fiber per orchestrator, no fiber per request). A zero or negative timeout expires at once;
   * an infinite one is no timeout.
   */
  readonly request: (
    address: Address,
    input: string | TurnInput,
    options?: RequestOptions
  ) => Effect.Effect<TurnResult, OrchestratorError>
  /** The instances created so far. */
  readonly list: Effect.Effect<ReadonlyArray<InstanceInfo>>
  /** Restarts one instance: a running turn is interrupted and continued from its log by the new worker. */
  readonly restart: (address: Address) => Effect.Effect<void, OrchestratorError>
  /** Stops one instance: queued messages fail with `AGENT_UNAVAILABLE`; `restart` brings it back. */
  readonly stop: (address: Address) => Effect.Effect<void, OrchestratorError>
  /**
   * Shuts every instance down gracefully (closing the scope does this with `orchestrator_shutdown`): new
   * messages are refused, queued ones stay in the durable inbox for the next start (their requesters get
   * `AGENT_UNAVAILABLE` / `shutting_down`), in-flight turns get the grace period, then are interrupted.
   */
  readonly shutdown: (reason?: ShutdownReason) => Effect.Effect<void>
  /**
   * Releases an idle instance now (what idle release does after `lifecycle.idleSeconds`): its worker and
   * resources are closed; the next message reopens it from its log. False when it is busy or unknown.
   */
  readonly release: (address: Address) => Effect.Effect<boolean, OrchestratorError>
  /**
   * Applies a new version of the bundle without stopping the Swarm: only the instances of the agents named
   * in `changed` restart (reason `config_change`): each one's turn in flight gets the grace period to finish
   * (past it, it is interrupted, recorded as interrupted and its requester gets `AGENT_TURN_FAILED`), its
   * queued messages are kept and go to the new generation in order, and messages sent meanwhile are
   * accepted. Other instances keep running with their mailboxes. Agents new in the Swarm become
   * addressable; instances of agents no longer in it are stopped. The Swarm's policy (grace period,
   * supervision, lifecycle) stays the one the orchestrator started with. Fails with `SwarmNotFound` (and
   * changes nothing) when the new bundle has no Swarm of this name.
   */
  readonly reload: (
    bundle: Bundle.Bundle,
    changed: ReadonlyArray<string>
  ) => Effect.Effect<ReloadReport, SwarmNotFound>
}

/**
 * What {@link Service.reload} did: the instances restarted and stopped (`agent@instanceKey`), the agents
 * added to and removed from the Swarm, and the instances whose turn had to be interrupted.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * import type { Bundle } from "effect-swarm"
 * declare const edited: Bundle.Bundle
 * const reload = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.reload(edited, ["coder"])).pipe(
 *   Effect.tap((report: Orchestrator.ReloadReport) => Effect.log(`restarted ${report.restarted.join(", ")}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ReloadReport = Reload.Report

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator } from "effect-swarm"
 * const instances = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.list)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Orchestrator extends Context.Tag("effect-swarm/Orchestrator")<Orchestrator, Service>() {}

/**
 * What `setup` and `agents` of {@link Options} receive for each instance they prepare.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Orchestrator } from "effect-swarm"
 * const setup: Orchestrator.Options["setup"] = (_instance, context: Orchestrator.InstanceContext) =>
 *   Effect.log(`opening ${context.address.agentName}@${context.address.instanceKey}`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface InstanceContext {
  readonly address: AgentAddress.AgentAddress
  readonly agent: Bundle.Entry<Resource.AgentResource>
  readonly bundle: Bundle.Bundle
  readonly orchestrator: Service
}

/**
 * The limits of the inter-agent calls the orchestrator wires (see {@link Options.calls}).
 *
 * @example
 * ```ts
 * import type { Orchestrator } from "effect-swarm"
 * const limits: Orchestrator.CallLimits = { maxPendingAsync: 20, defaultTimeout: "30 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CallLimits = Omit<AgentsApi.Options, "router" | "policy" | "root">

/**
 * Inter-agent calls wired by the caller (`AgentsTool.wire`'s result), for {@link Options.calls}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsTool, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const calls: Orchestrator.WiredCalls = yield* AgentsTool.wire({ root: "/srv/swarm" })
 *   return yield* Orchestrator.make(bundle, undefined, { calls })
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WiredCalls {
  readonly api: AgentsApi.Service
  readonly agents: (context: InstanceContext) => MiddlewareAgentsApi
}

/**
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import type { Orchestrator } from "effect-swarm"
 * const options: Orchestrator.Options = {
 *   mailboxCapacity: 100,
 *   lifecycle: { gracePeriod: Duration.seconds(5) },
 *   calls: { maxPendingAsync: 20 }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The workspace of the instances' files (default: the Swarm's `spec.instanceKey`, else its name). */
  readonly workspaceId?: string | undefined
  /** A model per agent name instead of the bundle's (tests: a scripted model). */
  readonly models?: { readonly [agentName: string]: Model.Service } | undefined
  /** Prepares a new instance (register tools, middlewares, extensions) before its first turn. */
  readonly setup?:
    | ((instance: AgentInstance.AgentInstance, context: InstanceContext) => Effect.Effect<
      void,
      Cause.YieldableError,
      Scope.Scope
    >)
    | undefined
  /** The agents API an instance's middlewares and tools call other agents through. */
  readonly agents?: ((context: InstanceContext) => MiddlewareAgentsApi) | undefined
  /** Overrides of the Swarm's supervision settings (`spec.policy.supervision`, `spec.policy.restart`). */
  readonly supervision?: Partial<Supervision.Settings> | undefined
  /** Queued messages per instance before `send` / `request` are refused with `AGENT_MAILBOX_FULL` (default 1000). */
  readonly mailboxCapacity?: number | undefined
  /** Overrides of the Swarm's lifecycle settings (grace period, idle release, reconcile interval). */
  readonly lifecycle?: Partial<LifecycleSettings> | undefined
  /**
   * Inter-agent calls, wired by default on every host (`AgentsTool.wire` under the state root): each
   * instance gets its agents API (`ctx.agents`, `ToolContext.runtime.agents`; a child-process host carries
   * it over IPC) and, when its agent may call others, the `agents` tool and async reply delivery. Pass the
   * API's limits here (`{ maxPendingAsync, maxInbox, defaultTimeout }`), `AgentsTool.wire`'s result to use
   * that one, or `false` to wire nothing. Not wired by default when `agents` is given (wired by hand).
   */
  readonly calls?: false | CallLimits | WiredCalls | undefined
  /**
   * The state root of the durable inbox (default: the host's, e.g. the `Instances` store's root for
   * `make`; in-memory hosts have none, and then nothing survives the process).
   */
  readonly root?: string | undefined
}

/**
 * Builds an orchestrator whose instances are opened by `AgentInstance.fromBundle` (the bundle's model,
 * prompt, tools and extensions) and keep their conversations, runtime events and extension state in the
 * workspace stores (`MessageStore`, `RuntimeEventLog`, `Instances`, `ExtensionState`; a `ToolRuntime` in
 * context runs sandboxed tools). `swarmName` chooses the Swarm as
 * `Bundle.selectSwarm` does. Everything lives in the scope: closing it shuts the orchestrator down.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.make(bundle, undefined, {})
 *   return yield* orchestrator.request("coder@thread-1", "hello")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  bundle: Bundle.Bundle,
  swarmName: string | undefined,
  options: Options = {}
): Effect.Effect<
  Service,
  SwarmNotFound,
  AgentInstance.FromBundleRequirements
> => makeOnHost(bundle, swarmName, options).pipe(Effect.provide(AgentHost.inProcess))

/**
 * Like {@link make}, with every instance's log in memory (tests, benchmarks, throwaway swarms). Instances
 * get the bundle's model and system prompt; tools and middlewares are registered by `options.setup`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.makeInMemory(bundle, undefined)
 *   return yield* orchestrator.request("coder@t1", "hello")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInMemory = (
  bundle: Bundle.Bundle,
  swarmName: string | undefined,
  options: Options = {}
): Effect.Effect<Service, SwarmNotFound, EventBus.EventBus | FileSystem.FileSystem | Scope.Scope> =>
  makeOnHost(bundle, swarmName, options).pipe(Effect.provide(AgentHost.inMemory))

/**
 * Like {@link make}, on the {@link AgentHost.AgentHost} in context: `AgentHost.inProcess`,
 * `AgentHost.inMemory` or `AgentHost.childProcess` (one Node process per instance). `options.models` and
 * `options.setup` act in this process, so a child-process host refuses them (the child opens the bundle's
 * model, tools and extensions itself).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.makeOnHost(bundle, undefined)
 *   return yield* orchestrator.request("coder@thread-1", "hello")
 * }).pipe(Effect.provide(AgentHost.inProcess))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeOnHost = (
  bundle: Bundle.Bundle,
  swarmName: string | undefined,
  options: Options = {}
): Effect.Effect<Service, SwarmNotFound, AgentHost.AgentHost | FileSystem.FileSystem | Scope.Scope> =>
  Effect.flatMap(AgentHost.AgentHost, (host) => makeWith(bundle, swarmName, options, host))

/**
 * The {@link Orchestrator} of a Swarm as a scoped layer (see {@link make}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const OrchestratorLive = Orchestrator.layer(bundle, "default", {})
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder", "hi"))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  bundle: Bundle.Bundle,
  swarmName?: string,
  options?: Options
): Layer.Layer<
  Orchestrator,
  SwarmNotFound,
  Exclude<AgentInstance.FromBundleRequirements, Scope.Scope>
> => Layer.scoped(Orchestrator, make(bundle, swarmName, options))

/**
 * {@link makeInMemory} as a scoped layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const TestOrchestrator = Orchestrator.layerInMemory(bundle)
 * const program = Effect.flatMap(Orchestrator.Orchestrator, (o) => o.request("coder", "hi"))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerInMemory = (
  bundle: Bundle.Bundle,
  swarmName?: string,
  options?: Options
): Layer.Layer<Orchestrator, SwarmNotFound, EventBus.EventBus | FileSystem.FileSystem> =>
  Layer.scoped(Orchestrator, makeInMemory(bundle, swarmName, options))

/**
 * {@link makeOnHost} as a scoped layer: the host is chosen by the layer provided to it.
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
export const layerOnHost = (
  bundle: Bundle.Bundle,
  swarmName?: string,
  options?: Options
): Layer.Layer<Orchestrator, SwarmNotFound, AgentHost.AgentHost | FileSystem.FileSystem> =>
  Layer.scoped(Orchestrator, makeOnHost(bundle, swarmName, options))
