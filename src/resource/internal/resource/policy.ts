/**
 * The turn budget shared by a Swarm's `spec.policy` and an Agent's `spec.policy` (which overrides it
 * field by field), and the effective budget of an agent.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { DurationField } from "./duration.js"
import { PositiveInt } from "./envelope.js"

/**
 * The budget fields: `maxStepsPerTurn` (model calls per turn), `maxToolCalls` (tool calls per turn),
 * `maxTokens` (input + output tokens per turn), `maxWallTime` (a duration per turn: milliseconds or
 * `"2 minutes"`, `"30s"`), `toolConcurrency` (parallel tool calls of one step; default
 * {@link defaultToolConcurrency}) and `groupCommit` (`false`: every durable step is written ahead, even
 * when all its tools are idempotent; default `true`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const budgetFields = {
  maxStepsPerTurn: Schema.optional(PositiveInt),
  maxToolCalls: Schema.optional(PositiveInt),
  maxTokens: Schema.optional(PositiveInt),
  maxWallTime: Schema.optional(DurationField("maxWallTime")),
  toolConcurrency: Schema.optional(PositiveInt),
  groupCommit: Schema.optional(Schema.Boolean)
}

/**
 * An Agent's `spec.policy`: the budget fields, each overriding the Swarm's.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AgentPolicy = Schema.Struct(budgetFields)

/**
 * @since 0.1.0
 * @category models
 */
export type AgentPolicy = typeof AgentPolicy.Type

/**
 * Parallel tool calls of one step when no policy sets `toolConcurrency`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultToolConcurrency = 4

/**
 * The budget a turn of an agent runs under; an absent limit is no limit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Budget {
  readonly maxStepsPerTurn: number | undefined
  readonly maxToolCalls: number | undefined
  readonly maxTokens: number | undefined
  readonly maxWallTime: Duration.Duration | undefined
  readonly toolConcurrency: number
  /** `false` when a policy turns group commit off; `undefined` (on) otherwise. */
  readonly groupCommit: boolean | undefined
}

/**
 * The effective budget of an agent: each field from the Agent's policy, else the Swarm's, and
 * `toolConcurrency` defaulting to {@link defaultToolConcurrency}.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * declare const swarm: Resource.SwarmResource
 * declare const agent: Resource.AgentResource
 * const budget = Resource.effectivePolicy(swarm.spec.policy, agent.spec.policy)
 * budget.toolConcurrency // 4 unless a policy sets it
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const effectivePolicy = (
  swarm: Partial<AgentPolicy> | undefined,
  agent: Partial<AgentPolicy> | undefined
): Budget => ({
  maxStepsPerTurn: agent?.maxStepsPerTurn ?? swarm?.maxStepsPerTurn,
  maxToolCalls: agent?.maxToolCalls ?? swarm?.maxToolCalls,
  maxTokens: agent?.maxTokens ?? swarm?.maxTokens,
  maxWallTime: agent?.maxWallTime ?? swarm?.maxWallTime,
  toolConcurrency: agent?.toolConcurrency ?? swarm?.toolConcurrency ?? defaultToolConcurrency,
  groupCommit: agent?.groupCommit ?? swarm?.groupCommit
})
