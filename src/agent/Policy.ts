/**
 * The one budget policy of a turn: steps, tool calls, tokens, wall time, and how many tool calls of a
 * step run at once. Read from the Swarm's `spec.policy`, overridden per Agent (`spec.policy`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/**
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /** Model calls per turn (default 8). */
  readonly maxStepsPerTurn: number
  /** Tool calls per turn (unlimited when absent). */
  readonly maxToolCalls?: number | undefined
  /** Total tokens per turn, checked after each step (unlimited when absent). */
  readonly maxTokens?: number | undefined
  /** Wall time of a turn: interrupts the model call and the tools in flight (unlimited when absent). */
  readonly maxWallTime?: Duration.Duration | undefined
  /** Tool calls of one step that run at once (default 4). */
  readonly toolConcurrency: number
  /**
   * Group commit of idempotent steps (default `true`): a durable step whose tool calls are all
   * `idempotent` writes its assistant message with its results, in one durable append. `false` writes
   * every step ahead (its assistant message durable before its tools run, then its results), so a crash
   * never asks the model for a step again, at the price of one more durable write per such step.
   */
  readonly groupCommit?: boolean | undefined
}

/**
 * The budget limits a turn can exceed.
 *
 * @since 0.1.0
 * @category models
 */
export type Limit = "maxStepsPerTurn" | "maxToolCalls" | "maxTokens" | "maxWallTime"

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults: Policy = { maxStepsPerTurn: 8, toolConcurrency: 4 }

const positiveInt = (u: unknown): number | undefined =>
  typeof u === "number" && Number.isInteger(u) && u > 0 ? u : undefined

const duration = (u: unknown): Duration.Duration | undefined => {
  if (Duration.isDuration(u)) return Duration.greaterThan(u, Duration.zero) ? u : undefined
  if (typeof u === "number") return u > 0 ? Duration.millis(u) : undefined
  if (typeof u === "string") {
    const seconds = /^\s*(\d+(?:\.\d+)?)\s*s\s*$/.exec(u)
    if (seconds !== null) return Duration.seconds(Number(seconds[1]))
    return Option.getOrUndefined(Duration.decodeUnknown(u))
  }
  return undefined
}

const fieldsOf = (u: unknown): Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? u as Record<string, unknown> : {}

/**
 * The policy of an agent: the Swarm's `spec.policy`, then the Agent's `spec.policy` over it, then
 * `overrides`. Values that are not positive numbers are ignored (the resource schema reports them).
 * `maxWallTime` is milliseconds or a duration string (`"90 seconds"`, `"30s"`); `groupCommit: false`
 * turns off the group commit of idempotent steps (see {@link Policy.groupCommit}).
 *
 * @example
 * ```ts
 * import { Policy } from "effect-swarm"
 * const policy = Policy.resolve({ maxStepsPerTurn: 12, maxToolCalls: 20 }, { maxTokens: 50000 })
 * policy.maxToolCalls // 20
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (swarmPolicy?: unknown, agentPolicy?: unknown, overrides?: Partial<Policy>): Policy => {
  let policy: Policy = defaults
  for (const layer of [fieldsOf(swarmPolicy), fieldsOf(agentPolicy)]) {
    const steps = positiveInt(layer.maxStepsPerTurn)
    const calls = positiveInt(layer.maxToolCalls)
    const tokens = positiveInt(layer.maxTokens)
    const wall = duration(layer.maxWallTime)
    const concurrency = positiveInt(layer.toolConcurrency)
    const groupCommit = typeof layer.groupCommit === "boolean" ? layer.groupCommit : undefined
    policy = {
      ...policy,
      ...(steps === undefined ? {} : { maxStepsPerTurn: steps }),
      ...(calls === undefined ? {} : { maxToolCalls: calls }),
      ...(tokens === undefined ? {} : { maxTokens: tokens }),
      ...(wall === undefined ? {} : { maxWallTime: wall }),
      ...(concurrency === undefined ? {} : { toolConcurrency: concurrency }),
      ...(groupCommit === undefined ? {} : { groupCommit })
    }
  }
  return { ...policy, ...overrides }
}
