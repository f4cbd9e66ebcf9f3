/**
 * One connection's supervised run: start the connector in its own scope; when it fails, record the crash
 * with the orchestrator's `Supervision` formula and start it again after the backoff (on `Clock`); when
 * it returns, it is done. A load error (`ConnectorLoadError`: bad entry, bad config) is not restarted. Interrupting the fiber stops the connector (its scope closes: cleanup runs).
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Supervision from "../../orchestrator/Supervision.js"
import type { Builtin, Runtime } from "../Connector.js"
import { ConnectorLoadError } from "../ConnectorError.js"

/** The status of a connection's connector. */
export type Status = "starting" | "running" | "restarting" | "crashLoopBackOff" | "done" | "crashed"

/** What `Connectors.status` reports of one connection. */
export interface ConnectionStatus {
  readonly connection: string
  readonly connector: string
  readonly status: Status
  /** Starts after crashes so far. */
  readonly restarts: number
  /** Crashes in the current row (see `Supervision`). */
  readonly consecutiveCrashes: number
  /** The last crash, or why it gave up (`crashed`). */
  readonly reason: string | undefined
  /** In backoff: when the next start is due (ms since the epoch, on `Clock`). */
  readonly nextStartAt: number | undefined
  /** What the connector announced (the `http` connector: `url`). */
  readonly info: Readonly<Record<string, string>>
}

const reasonOf = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: (e) => (typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)),
    onNone: () => Cause.isInterruptedOnly(cause) ? "interrupted" : Cause.pretty(cause)
  })

/** A failure no restart can fix: a `ConnectorLoadError` (see `ConnectorError.LoadCode`). */
const isPermanent = (cause: Cause.Cause<unknown>): boolean =>
  Option.match(Cause.failureOption(cause), {
    onSome: (e) => e instanceof ConnectorLoadError,
    onNone: () => false
  })

/** Runs a connection's connector until it is done, gives up, or the calling fiber is interrupted. */
export const supervise = (options: {
  readonly runtime: Runtime
  readonly builtin: Builtin
  readonly settings: Supervision.Settings
  readonly status: Ref.Ref<ConnectionStatus>
  /** Completed when the connector is done or crashed for good. */
  readonly finished: Effect.Effect<void>
}): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { builtin, runtime, settings, status } = options
    const annotations = { connection: runtime.connection, connector: runtime.connector }
    const state = Supervision.initial()
    let restarts = 0
    while (true) {
      const startedAt = yield* Clock.currentTimeMillis
      yield* Ref.update(status, (s) => ({ ...s, status: "running" as const, nextStartAt: undefined, restarts }))
      const exit = yield* Effect.exit(Effect.scoped(builtin(runtime)))
      if (Exit.isSuccess(exit)) {
        yield* Ref.update(status, (s) => ({ ...s, status: "done" as const }))
        yield* Effect.logInfo("connector finished").pipe(Effect.annotateLogs(annotations))
        return yield* options.finished
      }
      const reason = reasonOf(exit.cause)
      if (isPermanent(exit.cause)) {
        // A load error (an entry that does not import, no `run`, a config value that is missing or invalid)
        // fails the same way on every start: restarting it would only loop.
        yield* Ref.update(status, (s) => ({
          ...s,
          status: "crashed" as const,
          reason:
            `${reason} (not restarted: it would fail the same way; fix the Connection or Connector and run again)`,
          consecutiveCrashes: s.consecutiveCrashes + 1
        }))
        yield* Effect.logError(`connector cannot start and is not restarted: ${reason}`).pipe(
          Effect.annotateLogs({ ...annotations, event: "connector.crashed" })
        )
        return yield* options.finished
      }
      const now = yield* Clock.currentTimeMillis
      const decision = Supervision.onCrash(state, now, startedAt, settings)
      if (decision._tag === "GiveUp") {
        yield* Ref.update(status, (s) => ({
          ...s,
          status: "crashed" as const,
          reason: `${reason}; gave up: ${decision.reason}`,
          consecutiveCrashes: decision.crashes
        }))
        yield* Effect.logError(`connector crashed and is not restarted: ${reason} (${decision.reason})`).pipe(
          Effect.annotateLogs({ ...annotations, event: "connector.crashed" })
        )
        return yield* options.finished
      }
      yield* Ref.update(status, (s) => ({
        ...s,
        status: decision.crashLoop ? "crashLoopBackOff" as const : "restarting" as const,
        reason,
        consecutiveCrashes: decision.crashes,
        nextStartAt: now + decision.delayMillis
      }))
      yield* Effect.logWarning(`connector crashed: ${reason}; restarting in ${decision.delayMillis} ms`).pipe(
        Effect.annotateLogs({
          ...annotations,
          event: "connector.restart",
          crashes: decision.crashes,
          backoffMs: decision.delayMillis
        })
      )
      yield* Effect.sleep(Duration.millis(decision.delayMillis))
      restarts++
    }
  })
