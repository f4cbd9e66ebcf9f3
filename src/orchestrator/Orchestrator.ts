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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as AgentInstance from "../agent/AgentInstance.js"
import type * as EventBus from "../event/EventBus.js"
import type * as Bundle from "../resource/Bundle.js"
import * as AgentHost from "./AgentHost.js"
import type * as Api from "./internal/api.js"
import { makeWith } from "./internal/build.js"
import type * as Lifecycle from "./internal/lifecycle.js"
import type { TurnInput } from "./internal/mailbox.js"
import type { Options } from "./internal/options.js"
import type * as Reload from "./internal/reload.js"
import type * as Slot from "./internal/slot.js"
import type { StartError } from "./OrchestratorError.js"

// What building an orchestrator takes (documented where they are declared).
export type { CallLimits, InstanceContext, Options, WiredCalls } from "./internal/options.js"

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
 * `restarting` (after a crash or `restart`, while a message waits for it; with none it reads `idle`), `crashLoopBackOff` (waiting before its next start, see
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
export type InstanceStatus = Slot.InstanceStatus

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
export type InstanceInfo = Api.InstanceInfo

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
export type KnownAgent = Api.KnownAgent

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
export type Address = Api.Address

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
export type RequestOptions = Api.RequestOptions

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
export type Service = Api.Service

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
  StartError,
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
): Effect.Effect<Service, StartError, EventBus.EventBus | FileSystem.FileSystem | Scope.Scope> =>
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
): Effect.Effect<Service, StartError, AgentHost.AgentHost | FileSystem.FileSystem | Scope.Scope> =>
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
  StartError,
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
): Layer.Layer<Orchestrator, StartError, EventBus.EventBus | FileSystem.FileSystem> =>
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
): Layer.Layer<Orchestrator, StartError, AgentHost.AgentHost | FileSystem.FileSystem> =>
  Layer.scoped(Orchestrator, makeOnHost(bundle, swarmName, options))
