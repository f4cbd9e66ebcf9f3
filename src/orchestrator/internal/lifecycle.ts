/**
 * The orchestrator's lifecycle policy over its instance slots: graceful shutdown (the grace period given
 * to in-flight turns), idle release, and the reconcile loop on `Schedule.spaced`. Every timer runs on
 * `Clock`, so `TestClock` drives it.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as AgentHost from "../AgentHost.js"
import type * as Mailbox from "./mailbox.js"

/** Why the whole orchestrator shuts down (the reference's reasons). */
export type ShutdownReason = Extract<AgentHost.ShutdownReason, "restart" | "config_change" | "orchestrator_shutdown">

export interface Settings {
  /** How long an in-flight turn may run on after a shutdown starts (default 30 s, `shutdown.gracePeriodSeconds`). */
  readonly gracePeriod: Duration.Duration
  /** An instance idle this long is released (`lifecycle.idleSeconds`, default 900 s); `undefined`: never. */
  readonly idleAfter: Duration.Duration | undefined
  /** How often reconcile runs (`supervision.reconcileIntervalSeconds`, default 5 s). */
  readonly reconcileEvery: Duration.Duration
}

/** The Swarm policy fields the lifecycle reads. */
export interface PolicyFields {
  readonly lifecycle?: { readonly idleSeconds?: number | undefined } | undefined
  readonly shutdown?: { readonly gracePeriodSeconds?: number | undefined } | undefined
  readonly supervision?: { readonly reconcileIntervalSeconds?: number | undefined } | undefined
}

export const defaults: Settings = {
  gracePeriod: Duration.seconds(30),
  idleAfter: Duration.seconds(900),
  reconcileEvery: Duration.seconds(5)
}

/** The settings of a Swarm's policy over {@link defaults}, then `overrides`. `idleSeconds: 0` never releases. */
export const fromPolicy = (policy: PolicyFields | undefined, overrides?: Partial<Settings>): Settings => {
  const idle = policy?.lifecycle?.idleSeconds
  const grace = policy?.shutdown?.gracePeriodSeconds
  const every = policy?.supervision?.reconcileIntervalSeconds
  return {
    gracePeriod: grace === undefined ? defaults.gracePeriod : Duration.seconds(grace),
    idleAfter: idle === undefined ? defaults.idleAfter : idle === 0 ? undefined : Duration.seconds(idle),
    // A zero interval would spin: reconcile at most every 10 ms.
    reconcileEvery: every === undefined ? defaults.reconcileEvery : Duration.millis(Math.max(10, every * 1000)),
    ...overrides
  }
}

/**
 * Whether a turn still running when the grace period ends is left open for the next start (true) or
 * recorded as abandoned (false). When the process stops (`orchestrator_shutdown`: SIGTERM, the scope
 * closed) and the inbox is durable, it is left open, exactly as a crash would leave it: the next start on
 * the same state root continues the turn (a non-idempotent call that was running is answered
 * `E_TOOL_INTERRUPTED`, never run twice). A `config_change` or `restart` of the whole swarm abandons it:
 * the new configuration starts from a closed turn.
 */
export const continuesAfterShutdown = (reason: ShutdownReason, durable: boolean): boolean =>
  durable && reason === "orchestrator_shutdown"

/** What the lifecycle reads of a slot. */
export interface SlotView {
  readonly label: string
  readonly status: string
  readonly current: Mailbox.Envelope | undefined
  readonly mailbox: { readonly size: () => number }
  readonly lastActive: number
}

/** Nothing runs and nothing waits: the slot may be released. */
export const isIdle = (slot: SlotView): boolean =>
  slot.current === undefined && slot.mailbox.size() === 0 &&
  (slot.status === "idle" || slot.status === "starting" || slot.status === "restarting")

/**
 * Waits, on the Clock, up to `grace` for the turns in flight on `slots` to end; returns the slots whose
 * turn still runs.
 */
export const awaitInFlight = <S extends SlotView>(
  slots: ReadonlyArray<S>,
  grace: Duration.Duration
): Effect.Effect<ReadonlyArray<S>> =>
  Effect.map(
    Effect.forEach(slots, (slot) => {
      const current = slot.current
      if (current === undefined) return Effect.succeed(Option.none<S>())
      return Deferred.await(current.reply).pipe(
        Effect.exit,
        // Finalizers run uninterruptibly: without this the losing wait could not be interrupted and the
        // grace period would never end.
        Effect.interruptible,
        Effect.timeoutOption(grace),
        Effect.map((done) => Option.isNone(done) ? Option.some(slot) : Option.none<S>())
      )
    }, { concurrency: "unbounded" }),
    (late) => late.flatMap(Option.toArray)
  )

/** What reconcile acts through. */
export interface Core<S extends SlotView> {
  readonly slots: () => ReadonlyArray<S>
  /** Releases an idle slot (false when it is busy again). */
  readonly release: (slot: S) => Effect.Effect<boolean>
  /** Whether the slot's worker runs. */
  readonly running: (slot: S) => Effect.Effect<boolean>
  readonly start: (slot: S) => Effect.Effect<void>
}

/**
 * One reconcile pass: the desired state is "every instance with work has a worker, no instance idles past
 * `idleAfter`". A slot with queued messages and no worker (not stopped or crashed: those wait for
 * `restart`) is started; an idle one past the setting is released.
 */
export const reconcile = <S extends SlotView>(settings: Settings, core: Core<S>) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const idleMs = settings.idleAfter === undefined ? undefined : Duration.toMillis(settings.idleAfter)
    let released = 0
    let started = 0
    for (const slot of core.slots()) {
      if (idleMs !== undefined && isIdle(slot) && now - slot.lastActive >= idleMs) {
        if (yield* core.release(slot)) released++
        continue
      }
      if (slot.status === "stopped" || slot.status === "crashed") continue
      if (slot.mailbox.size() > 0 && !(yield* core.running(slot))) {
        yield* core.start(slot)
        started++
      }
    }
    return { released, started }
  })

/** Runs {@link reconcile} every `reconcileEvery` in the scope (a failure of one pass is logged, never fatal). */
export const reconcileLoop = <S extends SlotView>(
  settings: Settings,
  core: Core<S>
): Effect.Effect<void, never, Scope.Scope> =>
  reconcile(settings, core).pipe(
    Effect.tap(({ released, started }) =>
      released + started === 0 ?
        Effect.void :
        Effect.logDebug(`reconcile: released ${released} idle instance(s), started ${started}`)
    ),
    Effect.catchAllCause((cause) => Effect.logWarning("reconcile pass failed", cause)),
    Effect.repeat(Schedule.spaced(settings.reconcileEvery)),
    Effect.delay(settings.reconcileEvery),
    Effect.forkScoped,
    Effect.asVoid
  )
