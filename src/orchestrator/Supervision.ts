/**
 * Supervision of agent instances: what happens when an instance crashes (its turn died, or its storage
 * failed). All timing runs on `Clock`, so `TestClock` drives it.
 *
 * - Crash backoff (the reference's implemented formula, O5): crash `n` of a row restarts at once while
 *   `n <= crashThreshold`; after that the instance is in `crashLoopBackOff` and restarts after
 *   `min(initialBackoff * 2^(n - crashThreshold - 1), maxBackoff)`. With the defaults (threshold 5,
 *   1 s, 300 s): crashes 1-5 at once, 6 after 1 s, 7 after 2 s, 8 after 4 s, ..., capped at 300 s.
 *   Entering `crashLoopBackOff` is logged at warning level with structured annotations
 *   (`event: "orchestrator.crashLoopBackOff"`, swarm, agent, instance, crashes, threshold, backoffMs,
 *   nextStartAt).
 * - Reset after healthy uptime: a crash after the instance ran `healthyUptime` (default 60 s) since its
 *   last start counts as the first of a new row.
 * - Restart intensity (`policy.restart: { maxRestarts, withinSeconds }`, default 10 within 60 s): one
 *   restart more than `maxRestarts` within the window stops the instance with status `crashed` and a
 *   reason; queued messages fail with `AGENT_UNAVAILABLE`; `Orchestrator.restart` brings it back.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

/**
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const strict: Supervision.Settings = { ...Supervision.defaults, crashThreshold: 1 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** Crashes in a row restarted at once (default 5). */
  readonly crashThreshold: number
  /** The first backoff after the threshold (default 1 s). */
  readonly initialBackoff: Duration.Duration
  /** The longest backoff (default 300 s). */
  readonly maxBackoff: Duration.Duration
  /** Uptime after which the crash count starts again (default 60 s). */
  readonly healthyUptime: Duration.Duration
  /** At most this many restarts within `within` (default 10) ... */
  readonly maxRestarts: number
  /** ... (default 60 s); one more stops the instance as `crashed`. */
  readonly within: Duration.Duration
}

/**
 * The defaults: the reference's (threshold 5, backoff 1 s to 300 s) plus ours (healthy uptime 60 s,
 * at most 10 restarts within 60 s).
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * Supervision.defaults.crashThreshold // 5
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Settings = {
  crashThreshold: 5,
  initialBackoff: Duration.seconds(1),
  maxBackoff: Duration.seconds(300),
  healthyUptime: Duration.seconds(60),
  maxRestarts: 10,
  within: Duration.seconds(60)
}

/**
 * The Swarm policy fields supervision reads (`spec.policy.supervision`, `spec.policy.restart`).
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const policy: Supervision.PolicyFields = { supervision: { crashThreshold: 3 }, restart: { maxRestarts: 10, withinSeconds: 60 } }
 * const settings = Supervision.fromPolicy(policy)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PolicyFields {
  readonly supervision?: {
    readonly crashThreshold?: number | undefined
    readonly initialBackoffSeconds?: number | undefined
    readonly maxBackoffSeconds?: number | undefined
    readonly healthyUptimeSeconds?: number | undefined
  } | undefined
  readonly restart?: {
    readonly maxRestarts?: number | undefined
    readonly withinSeconds?: number | undefined
  } | undefined
}

/**
 * The settings of a Swarm's policy over {@link defaults}, then `overrides`.
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const settings = Supervision.fromPolicy({ restart: { maxRestarts: 3, withinSeconds: 10 } })
 * settings.maxRestarts // 3
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPolicy = (policy: PolicyFields | undefined, overrides?: Partial<Settings>): Settings => {
  const s = policy?.supervision
  const r = policy?.restart
  const seconds = (n: number | undefined, d: Duration.Duration) => n === undefined ? d : Duration.seconds(n)
  return {
    crashThreshold: s?.crashThreshold ?? defaults.crashThreshold,
    initialBackoff: seconds(s?.initialBackoffSeconds, defaults.initialBackoff),
    maxBackoff: seconds(s?.maxBackoffSeconds, defaults.maxBackoff),
    healthyUptime: seconds(s?.healthyUptimeSeconds, defaults.healthyUptime),
    maxRestarts: r?.maxRestarts ?? defaults.maxRestarts,
    within: seconds(r?.withinSeconds, defaults.within),
    ...overrides
  }
}

/**
 * The wait before restarting after crash `crashes` of a row (see the module documentation).
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * Supervision.backoffMillis(7, Supervision.defaults) // 2000
 * ```
 *
 * @since 0.1.0
 * @category backoff
 */
export const backoffMillis = (crashes: number, settings: Settings): number => {
  const exponent = crashes - settings.crashThreshold - 1
  if (crashes <= settings.crashThreshold) return 0
  const factor = exponent <= 0 ? 1 : 2 ** exponent
  return Math.min(Duration.toMillis(settings.initialBackoff) * factor, Duration.toMillis(settings.maxBackoff))
}

/**
 * The crash history of one instance.
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const state: Supervision.State = Supervision.initial()
 * state.consecutiveCrashes // 0
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  consecutiveCrashes: number
  /** When restarts after crashes happened (ms), the recent ones. */
  restartTimes: Array<number>
}

/**
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const state = Supervision.initial()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial = (): State => ({ consecutiveCrashes: 0, restartTimes: [] })

/**
 * What to do after a crash.
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const decision: Supervision.Decision = Supervision.onCrash(Supervision.initial(), 0, 0, Supervision.defaults)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "Restart"; readonly delayMillis: number; readonly crashLoop: boolean; readonly crashes: number }
  | { readonly _tag: "GiveUp"; readonly reason: string; readonly crashes: number }

/**
 * Records a crash at `now` of an instance started at `startedAt` and decides (updates `state`).
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const state = Supervision.initial()
 * const decision = Supervision.onCrash(state, Date.now(), Date.now() - 1000, Supervision.defaults)
 * ```
 *
 * @since 0.1.0
 * @category supervision
 */
export const onCrash = (state: State, now: number, startedAt: number, settings: Settings): Decision => {
  if (now - startedAt >= Duration.toMillis(settings.healthyUptime)) state.consecutiveCrashes = 0
  state.consecutiveCrashes++
  const windowStart = now - Duration.toMillis(settings.within)
  state.restartTimes = state.restartTimes.filter((t) => t > windowStart)
  if (state.restartTimes.length >= settings.maxRestarts) {
    return {
      _tag: "GiveUp",
      crashes: state.consecutiveCrashes,
      reason: `crashed ${state.restartTimes.length + 1} times within ${
        Duration.format(settings.within)
      } (policy.restart allows ${settings.maxRestarts} restarts)`
    }
  }
  state.restartTimes.push(now)
  const delayMillis = backoffMillis(state.consecutiveCrashes, settings)
  return {
    _tag: "Restart",
    delayMillis,
    crashLoop: state.consecutiveCrashes > settings.crashThreshold,
    crashes: state.consecutiveCrashes
  }
}

/**
 * Forgets the crash history (an explicit restart).
 *
 * @example
 * ```ts
 * import { Supervision } from "effect-swarm"
 * const state = Supervision.initial()
 * Supervision.reset(state) // after healthy uptime, or an explicit restart
 * ```
 *
 * @since 0.1.0
 * @category supervision
 */
export const reset = (state: State): void => {
  state.consecutiveCrashes = 0
  state.restartTimes = []
}
