/**
 * The running connections of `Connectors.run`, by name: each one's supervised fiber, its status and
 * announced facts (kept across a reload's restart, so a subscriber to its announcements sees the restarted
 * one's too), and the fingerprint of what it was started from. `awaitDone` completes once every connection
 * still in the set is done or crashed for good.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as EventBus from "../../event/EventBus.js"
import type * as Orchestrator from "../../orchestrator/Orchestrator.js"
import type * as Supervision from "../../orchestrator/Supervision.js"
import type { Builtin } from "../Connector.js"
import type { Loaded } from "./load.js"
import * as ConnectorRuntime from "./runtime.js"
import { type ConnectionStatus, supervise } from "./supervise.js"

type Info = SubscriptionRef.SubscriptionRef<Readonly<Record<string, string>>>

interface Entry {
  readonly status: Ref.Ref<ConnectionStatus>
  readonly info: Info
  fiber: Fiber.RuntimeFiber<void> | undefined
  print: string
  finished: boolean
}

const initial = (loaded: Loaded): ConnectionStatus => ({
  connection: loaded.prepared.name,
  connector: loaded.prepared.connectorName,
  status: "starting",
  restarts: 0,
  consecutiveCrashes: 0,
  reason: undefined,
  nextStartAt: undefined,
  info: {}
})

/** The running connections. */
export interface Running {
  readonly names: () => ReadonlyArray<string>
  readonly printOf: (name: string) => string | undefined
  readonly infoOf: (name: string) => Info | undefined
  /** Starts a connection not in the set. */
  readonly add: (loaded: Loaded, print: string) => Effect.Effect<void>
  /** Stops the running connection of that name (its scope closes), then starts `loaded` in its place. */
  readonly replace: (loaded: Loaded, print: string) => Effect.Effect<void>
  /** Stops a connection and forgets it. */
  readonly remove: (name: string) => Effect.Effect<void>
  readonly status: Effect.Effect<ReadonlyArray<ConnectionStatus>>
  /** Completes `awaitDone` when every connection in the set is done (at once for an empty set). */
  readonly checkDone: Effect.Effect<void>
  readonly awaitDone: Effect.Effect<void>
}

/** The set, in the current scope (closing it stops every connection). */
export const make = (options: {
  readonly orchestrator: Orchestrator.Service
  readonly bus: EventBus.Service
  readonly settings: Supervision.Settings
}): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberSet.make<void>()
    const done = yield* Deferred.make<void>()
    const entries = new Map<string, Entry>()
    const checkDone = Effect.suspend(() =>
      Array.from(entries.values()).every((e) => e.finished) ? Deferred.succeed(done, undefined) : Effect.void
    ).pipe(Effect.asVoid)

    const start = (entry: Entry, loaded: Loaded) =>
      Effect.gen(function*() {
        entry.finished = false
        const runtime = ConnectorRuntime.make(loaded.prepared, options.orchestrator, options.bus, entry.info)
        // What a run announced (its url) is stale once it stops: a restart announces again.
        const forgetting: Builtin = (rt) => Effect.ensuring(loaded.builtin(rt), SubscriptionRef.set(entry.info, {}))
        const finished = Effect.suspend(() => {
          entry.finished = true
          return checkDone
        })
        entry.fiber = yield* FiberSet.run(
          fibers,
          supervise({ runtime, builtin: forgetting, settings: options.settings, status: entry.status, finished }).pipe(
            Effect.annotateLogs({ connection: loaded.prepared.name })
          )
        )
      })

    const stop = (entry: Entry) =>
      Effect.suspend(() => {
        const fiber = entry.fiber
        entry.fiber = undefined
        return fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
      }).pipe(Effect.asVoid)

    const running: Running = {
      names: () => Array.from(entries.keys()),
      printOf: (name) => entries.get(name)?.print,
      infoOf: (name) => entries.get(name)?.info,
      add: (loaded, print) =>
        Effect.gen(function*() {
          const entry: Entry = {
            status: yield* Ref.make(initial(loaded)),
            info: yield* SubscriptionRef.make<Readonly<Record<string, string>>>({}),
            fiber: undefined,
            print,
            finished: false
          }
          entries.set(loaded.prepared.name, entry)
          yield* start(entry, loaded)
        }),
      replace: (loaded, print) =>
        Effect.gen(function*() {
          const entry = entries.get(loaded.prepared.name)
          if (entry === undefined) return
          yield* stop(entry)
          entry.print = print
          yield* Ref.set(entry.status, initial(loaded))
          yield* start(entry, loaded)
        }),
      remove: (name) =>
        Effect.gen(function*() {
          const entry = entries.get(name)
          if (entry === undefined) return
          entries.delete(name)
          yield* stop(entry)
        }),
      status: Effect.suspend(() =>
        Effect.forEach(
          Array.from(entries.values()),
          (e) => Effect.zipWith(Ref.get(e.status), Ref.get(e.info), (status, info) => ({ ...status, info }))
        )
      ),
      checkDone,
      awaitDone: Deferred.await(done)
    }
    return running
  })
