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
 * - Reload (`run --watch`): `reload(bundle)` restarts only the connections whose Connection, Connector or
 *   module changed, starts new ones, stops removed ones, and leaves a connection whose new version does not
 *   load running its previous one (see {@link Service.reload}).
 * - Scoped: closing the scope stops every connector (its `ctx.signal` aborts, its `onStop` cleanups run,
 *   a built-in's scope closes).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { EventBus } from "../event/EventBus.js"
import { Orchestrator } from "../orchestrator/Orchestrator.js"
import type * as OrchestratorModule from "../orchestrator/Orchestrator.js"
import type * as Supervision from "../orchestrator/Supervision.js"
import * as Bundle from "../resource/Bundle.js"
import type { ConnectionResource } from "../resource/Resource.js"
import * as Builtins from "./Builtins.js"
import type { Builtin } from "./Connector.js"
import { ConnectorLoadError } from "./ConnectorError.js"
import * as Load from "./internal/load.js"
import * as Running from "./internal/running.js"
import type { ConnectionStatus } from "./internal/supervise.js"

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
 * What {@link Service.reload} did, by connection name.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReloadReport {
  /** Stopped and started again on their new Connection, Connector or module. */
  readonly restarted: ReadonlyArray<string>
  /** New Connections of the Swarm, started. */
  readonly added: ReadonlyArray<string>
  /** Connections no longer in the bundle (or no longer feeding the Swarm), stopped. */
  readonly removed: ReadonlyArray<string>
  /**
   * Connections whose new version does not load (a module that does not import, a value that does not
   * resolve, an unknown built-in): a running one keeps running its previous version, a new one is not started.
   */
  readonly failed: ReadonlyArray<{ readonly connection: string; readonly error: ConnectorLoadError }>
}

/**
 * The running connectors.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The Connections running (started, not removed by a reload), by name. */
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
  /**
   * Applies an edited bundle (`run --watch`): only the connections whose Connection or Connector resource,
   * connector module content or entry agent changed restart (each new version is loaded first, then the old
   * one stops, its scope closing, then the new one starts); new Connections of the Swarm start, removed ones
   * stop; every other connection keeps serving. A new version that does not load is reported in `failed`
   * and the old one keeps running. One reload at a time.
   */
  readonly reload: (bundle: Bundle.Bundle) => Effect.Effect<ReloadReport>
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
    const select = (connections: ReadonlyArray<Bundle.Entry<ConnectionResource>>) =>
      wanted === undefined ? connections : connections.filter((c) => wanted.includes(c.resource.metadata.name))
    const selected = select(all)
    const loaded = yield* Effect.forEach(selected, (c) => Load.loadOne(bundle, c, orchestrator.entryAgent, builtins))
    const prints = yield* Effect.forEach(selected, (c) => Load.fingerprint(bundle, c, orchestrator.entryAgent))
    const set = yield* Running.make({
      orchestrator,
      bus,
      settings: { ...supervisionDefaults, ...options?.supervision }
    })
    yield* Effect.forEach(loaded, (l, i) => set.add(l, prints[i]!), { discard: true })
    yield* set.checkDone

    const serial = yield* Effect.makeSemaphore(1)
    const reload = Effect.fn("Connectors.reload")(function*(next: Bundle.Bundle) {
      const connections = select(connectionsOf(next, orchestrator.swarm))
      const names = new Set(connections.map((c) => c.resource.metadata.name))
      const report: { [K in keyof ReloadReport]: Array<ReloadReport[K][number]> } = {
        restarted: [],
        added: [],
        removed: [],
        failed: []
      }
      for (const name of set.names()) {
        if (names.has(name)) continue
        yield* set.remove(name)
        report.removed.push(name)
      }
      for (const connection of connections) {
        const name = connection.resource.metadata.name
        const print = yield* Load.fingerprint(next, connection, orchestrator.entryAgent)
        const running = set.printOf(name)
        if (running === print) continue
        // Loaded before the running one stops: a new version that does not load leaves it running.
        const fresh = yield* Load.loadOne(next, connection, orchestrator.entryAgent, builtins).pipe(Effect.either)
        if (Either.isLeft(fresh)) {
          report.failed.push({ connection: name, error: fresh.left })
          continue
        }
        if (running === undefined) {
          yield* set.add(fresh.right, print)
          report.added.push(name)
        } else {
          yield* set.replace(fresh.right, print)
          report.restarted.push(name)
        }
      }
      yield* Effect.logInfo(
        `connectors reloaded: restarted ${report.restarted.length}, added ${report.added.length}, removed ${report.removed.length}, failed ${report.failed.length}`
      ).pipe(Effect.annotateLogs({ event: "connectors.reload", swarm: orchestrator.swarm }))
      return report as ReloadReport
    }, (effect) => serial.withPermits(1)(effect))

    const announcements = (connection: string, key: string): Stream.Stream<string> => {
      const info = set.infoOf(connection)
      return info === undefined ? Stream.never : info.changes.pipe(
        Stream.filterMap((facts) => Option.fromNullable(facts[key])),
        Stream.changes
      )
    }
    return {
      get connections() {
        return set.names()
      },
      status: set.status,
      awaitDone: set.awaitDone,
      announced: (connection, key) => Effect.flatMap(Stream.runHead(announcements(connection, key)), Effect.orDie),
      announcements,
      reload
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
