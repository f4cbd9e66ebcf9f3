/**
 * Runs the connectors of a Swarm: every Connection whose `swarmRef` is absent or names the
 * Orchestrator's Swarm starts its Connector (a module's `run(ctx)` or a built-in such as `http`), each in
 * its own supervised fiber.
 *
 * - Everything is loaded before anything starts: a module that does not import, a missing `run`, an
 *   unknown built-in or a config / secret value that does not resolve fails {@link run} with a
 *   `ConnectorLoadError` naming the connection, its file and what to do.
 * - Supervision: a connector that fails (its `run` rejects or throws) is restarted with the
 *   orchestrator's backoff formula (`Supervision`) on `Clock`, with {@link supervisionDefaults}: the
 *   first crash of a row restarts at once, then 1 s, 2 s, 4 s ... up to 60 s; a crash after 60 s of
 *   uptime starts a new row. One crashing connector never stops the others (the reference stopped the
 *   whole runner, N5). A connector whose `run` resolves is done and is not restarted.
 * - Scoped: closing the scope stops every connector (its `ctx.signal` aborts, its `onStop` cleanups run,
 *   a built-in's scope closes).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { EventBus } from "../event/EventBus.js"
import { Orchestrator } from "../orchestrator/Orchestrator.js"
import type * as OrchestratorModule from "../orchestrator/Orchestrator.js"
import type * as Supervision from "../orchestrator/Supervision.js"
import * as Bundle from "../resource/Bundle.js"
import type { ConnectionResource, ConnectorResource } from "../resource/Resource.js"
import * as Builtins from "./Builtins.js"
import type { Builtin } from "./Connector.js"
import { ConnectorLoadError } from "./ConnectorError.js"
import * as Module from "./internal/module.js"
import * as ConnectorRuntime from "./internal/runtime.js"
import { type ConnectionStatus, supervise } from "./internal/supervise.js"

export type {
  /**
   * What {@link Service.status} reports of one connection.
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionStatus
}

/**
 * Connector supervision settings (see `Supervision.Settings`): the first crash of a row restarts at once,
 * then 1 s doubling up to 60 s; 60 s of uptime resets the row; no restart limit (a connector waiting for
 * its network keeps trying).
 *
 * @since 0.1.0
 * @category constants
 */
export const supervisionDefaults: Supervision.Settings = {
  crashThreshold: 1,
  initialBackoff: Duration.seconds(1),
  maxBackoff: Duration.seconds(60),
  healthyUptime: Duration.seconds(60),
  maxRestarts: Number.POSITIVE_INFINITY,
  within: Duration.seconds(60)
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Built-in connectors by name, over `Builtins.defaults` (a Connector's `spec.builtin` names one). */
  readonly builtins?: Readonly<Record<string, Builtin>> | undefined
  /** Only these Connections (by name); default: every Connection of the Swarm. */
  readonly connections?: ReadonlyArray<string> | undefined
  /** Overrides of {@link supervisionDefaults}. */
  readonly supervision?: Partial<Supervision.Settings> | undefined
}

/**
 * The running connectors.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The Connections started, by name. */
  readonly connections: ReadonlyArray<string>
  /** The status of every connection. */
  readonly status: Effect.Effect<ReadonlyArray<ConnectionStatus>>
  /** Completes when every connector is done or crashed for good (never, while one keeps running). */
  readonly awaitDone: Effect.Effect<void>
  /**
   * Waits until the connector of `connection` announces `key` (the `http` connector announces `url`) and
   * returns it; never completes for a connection that is not running or a key it never announces. What a
   * connector announced is forgotten when it stops, so after a crash this waits for the restarted one.
   */
  readonly announced: (connection: string, key: string) => Effect.Effect<string>
  /** Every value the connector of `connection` announces for `key`, as announced (each restart announces again). */
  readonly announcements: (connection: string, key: string) => Stream.Stream<string>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Connectors extends Context.Tag("effect-swarm/Connectors")<Connectors, Service>() {}

/**
 * The Connections of the bundle that feed `swarm`: `swarmRef` absent or naming it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const connectionsOf = (
  bundle: Bundle.Bundle,
  swarm: string
): ReadonlyArray<Bundle.Entry<ConnectionResource>> =>
  Bundle.entriesOf(bundle, "Connection").filter((c) =>
    !c.dependency && (c.resource.spec.swarmRef === undefined || c.resource.spec.swarmRef.name === swarm)
  )

interface Loaded {
  readonly prepared: ConnectorRuntime.Prepared
  readonly builtin: Builtin
}

const loadOne = (
  bundle: Bundle.Bundle,
  connection: Bundle.Entry<ConnectionResource>,
  entryAgent: string,
  builtins: Readonly<Record<string, Builtin>>
): Effect.Effect<Loaded, ConnectorLoadError> =>
  Effect.gen(function*() {
    const name = connection.resource.metadata.name
    const ref = connection.resource.spec.connectorRef
    const resolved = Bundle.resolve(bundle, ref, connection)
    if (resolved === undefined || resolved.resource.kind !== "Connector") {
      return yield* new ConnectorLoadError({
        code: "E_CONNECTOR_NOT_FOUND",
        connection: name,
        connector: ref.name,
        file: connection.file,
        reason: `spec.connectorRef names no Connector ${ref.name}`,
        suggestion: "declare the Connector in the bundle or fix connectorRef"
      })
    }
    const connector = resolved as Bundle.Entry<ConnectorResource>
    const prepared = yield* ConnectorRuntime.prepare(connection, connector, entryAgent)
    const builtinName = connector.resource.spec.builtin
    if (builtinName !== undefined) {
      const builtin = builtins[builtinName]
      if (builtin === undefined) {
        return yield* new ConnectorLoadError({
          code: "E_CONNECTOR_BUILTIN_UNKNOWN",
          connection: name,
          connector: connector.resource.metadata.name,
          file: connector.file,
          reason: `there is no built-in connector ${JSON.stringify(builtinName)}`,
          suggestion: `built-in connectors: ${Object.keys(builtins).join(", ") || "(none)"}`
        })
      }
      return { prepared, builtin }
    }
    const file = connector.entryFile ?? `${connector.rootDir}/${connector.resource.spec.entry ?? ""}`
    return { prepared, builtin: Module.fromRun(yield* Module.load(prepared, file)) }
  })

/**
 * Loads and starts the connectors of the Orchestrator's Swarm in the current scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Connectors, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.make(bundle, undefined, {})
 *   const connectors = yield* Connectors.run(bundle, orchestrator)
 *   yield* connectors.awaitDone
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const run: (
  bundle: Bundle.Bundle,
  orchestrator: OrchestratorModule.Service,
  options?: Options
) => Effect.Effect<Service, ConnectorLoadError, EventBus | Scope.Scope> = Effect.fn("Connectors.run")(
  function*(bundle: Bundle.Bundle, orchestrator: OrchestratorModule.Service, options?: Options) {
    const bus = yield* EventBus
    const builtins = { ...Builtins.defaults, ...options?.builtins }
    const all = connectionsOf(bundle, orchestrator.swarm)
    const wanted = options?.connections
    for (const name of wanted ?? []) {
      if (!all.some((c) => c.resource.metadata.name === name)) {
        return yield* new ConnectorLoadError({
          code: "E_CONNECTOR_NOT_FOUND",
          connection: name,
          connector: "(none)",
          file: bundle.root,
          reason: `no Connection named ${JSON.stringify(name)} feeds Swarm/${orchestrator.swarm}`,
          suggestion: `connections: ${all.map((c) => c.resource.metadata.name).join(", ") || "(none)"}`
        })
      }
    }
    const selected = wanted === undefined ? all : all.filter((c) => wanted.includes(c.resource.metadata.name))
    const loaded = yield* Effect.forEach(selected, (c) => loadOne(bundle, c, orchestrator.entryAgent, builtins))
    const settings: Supervision.Settings = { ...supervisionDefaults, ...options?.supervision }
    const fibers = yield* FiberSet.make()
    const done = yield* Deferred.make<void>()
    let remaining = loaded.length
    const finished = Effect.suspend(() => --remaining <= 0 ? Deferred.succeed(done, undefined) : Effect.void).pipe(
      Effect.asVoid
    )
    if (remaining === 0) yield* Deferred.succeed(done, undefined)
    const statuses: Array<{
      readonly status: Ref.Ref<ConnectionStatus>
      readonly name: string
      readonly info: SubscriptionRef.SubscriptionRef<Readonly<Record<string, string>>>
    }> = []
    for (const { builtin, prepared } of loaded) {
      const info = yield* SubscriptionRef.make<Readonly<Record<string, string>>>({})
      const status = yield* Ref.make<ConnectionStatus>({
        connection: prepared.name,
        connector: prepared.connectorName,
        status: "starting",
        restarts: 0,
        consecutiveCrashes: 0,
        reason: undefined,
        nextStartAt: undefined,
        info: {}
      })
      // The announced facts live in their own Ref (the runtime writes there); `status` merges them.
      statuses.push({ status, info, name: prepared.name })
      const runtime = ConnectorRuntime.make(prepared, orchestrator, bus, info)
      // What a run announced (its url) is stale once it stops: a restart announces again.
      const forgetting: Builtin = (rt) => Effect.ensuring(builtin(rt), SubscriptionRef.set(info, {}))
      yield* FiberSet.run(
        fibers,
        supervise({ runtime, builtin: forgetting, settings, status, finished }).pipe(
          Effect.annotateLogs({ connection: prepared.name })
        )
      )
    }
    const announcements = (connection: string, key: string): Stream.Stream<string> => {
      const entry = statuses.find((s) => s.name === connection)
      return entry === undefined ? Stream.never : entry.info.changes.pipe(
        Stream.filterMap((info) => Option.fromNullable(info[key])),
        Stream.changes
      )
    }
    return {
      connections: loaded.map((l) => l.prepared.name),
      status: Effect.forEach(
        statuses,
        (s) => Effect.zipWith(Ref.get(s.status), Ref.get(s.info), (status, info) => ({ ...status, info }))
      ),
      awaitDone: Deferred.await(done),
      announced: (connection, key) => Effect.flatMap(Stream.runHead(announcements(connection, key)), Effect.orDie),
      announcements
    }
  }
)

/**
 * {@link run} as a scoped layer over the `Orchestrator` in context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Bundle, Connectors, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const Live = Connectors.layer(bundle).pipe(Layer.provideMerge(Orchestrator.layer(bundle)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  bundle: Bundle.Bundle,
  options?: Options
): Layer.Layer<Connectors, ConnectorLoadError, Orchestrator | EventBus> =>
  Layer.scoped(Connectors, Effect.flatMap(Orchestrator, (o) => run(bundle, o, options)))
