/**
 * The Swarm kind and its policy.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as ObjectRef from "../../ObjectRef.js"
import * as IssueMessage from "../issueMessage.js"
import { ContextSpec } from "./context.js"
import { NonEmptyString, NonNegativeInt, NonNegativeNumber, PositiveInt, ref, resource, show } from "./envelope.js"
import { budgetFields } from "./policy.js"

/**
 * A Swarm's `spec.policy`: the turn budget of its agents (each Agent's `spec.policy` overrides it
 * field by field), their lifecycle, shutdown, supervision (crash backoff) and restart intensity
 * (`restart: { maxRestarts, withinSeconds }`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SwarmPolicy = Schema.Struct({
  ...budgetFields,
  lifecycle: Schema.optional(Schema.Struct({
    /**
     * An instance with no turn running and nothing queued for this long is released (its worker, instance
     * and files closed; the next message reopens it from its log). Default 900; 0 never releases. Only
     * orchestrators with a state root release (an in-memory instance's log would be lost).
     */
    idleSeconds: Schema.optional(NonNegativeNumber),
    /** Accepted for goondan bundles; not used (the reference declared it and never used it either). */
    ttlSeconds: Schema.optional(NonNegativeNumber),
    /** Accepted for goondan bundles; not used. */
    gcGraceSeconds: Schema.optional(NonNegativeNumber)
  })),
  shutdown: Schema.optional(Schema.Struct({
    /** How long an in-flight turn may run on once a shutdown starts (default 30, the reference's). */
    gracePeriodSeconds: Schema.optional(NonNegativeNumber)
  })),
  // Supervision of the instances (defaults and formula: Supervision in src/orchestrator).
  supervision: Schema.optional(Schema.Struct({
    crashThreshold: Schema.optional(NonNegativeInt),
    initialBackoffSeconds: Schema.optional(NonNegativeNumber),
    maxBackoffSeconds: Schema.optional(NonNegativeNumber),
    healthyUptimeSeconds: Schema.optional(NonNegativeNumber),
    /** How often reconcile runs (default 5, the reference's). */
    reconcileIntervalSeconds: Schema.optional(NonNegativeNumber)
  })),
  restart: Schema.optional(Schema.Struct({
    maxRestarts: Schema.optional(NonNegativeInt),
    withinSeconds: Schema.optional(PositiveInt)
  }))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const SwarmSpec = Schema.Struct({
  entryAgent: ref("Agent"),
  agents: Schema.Array(ref("Agent")).pipe(
    Schema.filter((xs) => xs.length > 0 || "a Swarm must list at least one agent")
  ),
  instanceKey: Schema.optional(NonEmptyString),
  policy: Schema.optional(SwarmPolicy),
  context: Schema.optional(ContextSpec),
  /**
   * Who may call whom in this swarm: caller agent name to the agent names it may call (`"*"`: every
   * other member). An entry replaces the caller Agent's own `spec.callableAgents`.
   */
  callableAgents: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(NonEmptyString) }))
}).pipe(
  Schema.filter((s) =>
    s.agents.some((a) => ObjectRef.sameTarget(a, s.entryAgent)) ?
      true :
      {
        path: ["entryAgent"],
        message: IssueMessage.encode(`entryAgent ${ObjectRef.format(s.entryAgent)} must be included in agents`, {
          suggestion: `add ${show(`Agent/${s.entryAgent.name}`)} to spec.agents`
        })
      }
  ),
  Schema.filter((s) => {
    if (s.callableAgents === undefined) return true
    const members = new Set(s.agents.map((a) => a.name))
    const issues: Array<{ path: Array<string>; message: string }> = []
    for (const [caller, targets] of Object.entries(s.callableAgents)) {
      if (!members.has(caller)) {
        issues.push({
          path: ["callableAgents", caller],
          message: IssueMessage.encode(`callableAgents names ${show(caller)}, which is not an agent of this Swarm`, {
            suggestion: `use one of ${[...members].map(show).join(", ")}`
          })
        })
      }
      targets.forEach((t, i) => {
        if (t !== "*" && !members.has(t)) {
          issues.push({
            path: ["callableAgents", caller, String(i)],
            message: IssueMessage.encode(
              `callableAgents.${caller} names ${show(t)}, which is not an agent of this Swarm`,
              {
                suggestion: `use one of ${[...members].map(show).join(", ")}, or "*" for all of them`
              }
            )
          })
        }
      })
    }
    return issues.length === 0 ? true : issues
  })
)

/** @since 0.1.0 @category schemas */
export const Swarm = resource("Swarm", SwarmSpec)
/** @since 0.1.0 @category models */
export type SwarmResource = typeof Swarm.Type
