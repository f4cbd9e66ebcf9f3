/**
 * The one budget policy of a turn: steps, tool calls, tokens, wall time, and how many tool calls of a
 * step run at once. Read from the Swarm's `spec.policy`, overridden per Agent (`spec.policy`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { PolicyError } from "./AgentError.js"

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

const isPositiveInt = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u) && u > 0

const duration = (u: unknown): Duration.Duration | undefined => {
  if (Duration.isDuration(u)) return Duration.greaterThan(u, Duration.zero) ? u : undefined
  if (typeof u === "number") return u > 0 && !Number.isNaN(u) ? Duration.millis(u) : undefined
  if (typeof u === "string") {
    const seconds = /^\s*(\d+(?:\.\d+)?)\s*s\s*$/.exec(u)
    if (seconds !== null) return Duration.seconds(Number(seconds[1]))
    const decoded = Option.getOrUndefined(Duration.decodeUnknown(u))
    return decoded !== undefined && Duration.greaterThan(decoded, Duration.zero) ? decoded : undefined
  }
  return undefined
}

const fieldsOf = (u: unknown): Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? u as Record<string, unknown> : {}

const show = (u: unknown): string => {
  if (Duration.isDuration(u)) return Duration.format(u)
  if (typeof u === "number" || typeof u === "boolean") return String(u)
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const limitSuggestion: Record<string, string> = {
  maxStepsPerTurn: "give the number of model calls a turn may make (default 8)",
  maxToolCalls: "give a positive number, or leave it out for no limit (an agent that must not call tools gets none)",
  maxTokens: "give a positive number of tokens, or leave it out for no limit",
  toolConcurrency: "give how many tool calls of a step run at once (default 4; 1 runs them one by one)"
}

/**
 * Checks a policy built in code: every limit a positive integer, `maxWallTime` a positive duration,
 * `groupCommit` a boolean. An instance checks its policy when it opens, so a bad value fails there with
 * `PolicyError` naming the field, instead of being ignored or stalling a turn.
 *
 * @example
 * ```ts
 * import { Policy } from "effect-swarm"
 * const checked = Policy.check({ ...Policy.defaults, maxToolCalls: 0 }) // fails: PolicyError (maxToolCalls)
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (policy: Policy): Effect.Effect<Policy, PolicyError> =>
  Effect.suspend(() => {
    const fields = policy as unknown as Record<string, unknown>
    for (const field of ["maxStepsPerTurn", "toolConcurrency", "maxToolCalls", "maxTokens"]) {
      const value = fields[field]
      const required = field === "maxStepsPerTurn" || field === "toolConcurrency"
      if ((required || value !== undefined) && !isPositiveInt(value)) {
        return Effect.fail(
          new PolicyError({
            field,
            value: show(value),
            detail: "must be a positive integer",
            suggestion: limitSuggestion[field]!
          })
        )
      }
    }
    const wall = fields.maxWallTime
    if (wall !== undefined && !(Duration.isDuration(wall) && duration(wall) !== undefined)) {
      return Effect.fail(
        new PolicyError({
          field: "maxWallTime",
          value: show(wall),
          detail: "must be a positive duration",
          suggestion:
            "give milliseconds (> 0) or a duration such as \"90 seconds\" or \"30s\", or leave it out for no limit"
        })
      )
    }
    const groupCommit = fields.groupCommit
    if (groupCommit !== undefined && typeof groupCommit !== "boolean") {
      return Effect.fail(
        new PolicyError({
          field: "groupCommit",
          value: show(groupCommit),
          detail: "must be true or false",
          suggestion: "leave it out for the default (true)"
        })
      )
    }
    return Effect.succeed(policy)
  })

/**
 * The policy of an agent: the Swarm's `spec.policy`, then the Agent's `spec.policy` over it, then
 * `overrides`. `maxWallTime` is milliseconds or a duration string (`"90 seconds"`, `"30s"`);
 * `groupCommit: false` turns off the group commit of idempotent steps (see {@link Policy.groupCommit}).
 * A value that is not valid (a limit of 0, a negative or fractional one, a wall time that is not a
 * positive duration) is kept as given, never dropped: {@link check}, which every instance runs when it
 * opens, refuses it with `PolicyError` naming the field. (Resources are refused earlier, by their schema.)
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
  let policy: Record<string, unknown> = { ...defaults }
  for (const layer of [fieldsOf(swarmPolicy), fieldsOf(agentPolicy)]) {
    for (const field of ["maxStepsPerTurn", "maxToolCalls", "maxTokens", "toolConcurrency", "groupCommit"]) {
      if (layer[field] !== undefined) policy = { ...policy, [field]: layer[field] }
    }
    if (layer.maxWallTime !== undefined) {
      policy = { ...policy, maxWallTime: duration(layer.maxWallTime) ?? layer.maxWallTime }
    }
  }
  return { ...policy, ...overrides } as unknown as Policy
}
