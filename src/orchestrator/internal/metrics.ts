/**
 * The orchestrator's Effect metrics (effect/Metric, in the global registry): recorded whether or not
 * observability is on; `Observability.layer` exports them over OTLP next to the span-derived metrics.
 *
 * - `effect_swarm.orchestrator.active_instances` (gauge, by `effect_swarm.swarm`): instances started on
 *   their host and not yet closed (up when a generation opens its instance, down when it closes: idle
 *   release, stop, restart, crash, shutdown).
 * - `effect_swarm.orchestrator.mailbox_depth` (histogram, by `gen_ai.agent.name`): the depth of an
 *   instance's mailbox when a message is accepted, that message included.
 * - `effect_swarm.orchestrator.restarts` (counter, by `gen_ai.agent.name` and `effect_swarm.restart.reason`:
 *   `crash`, `crash_loop_backoff` (a crash restarted after a backoff), `manual` (`Orchestrator.restart`) or
 *   `config_change` (`Orchestrator.reload`)).
 */
import type * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

export const activeInstances = Metric.gauge("effect_swarm.orchestrator.active_instances", {
  description: "Agent instances started on their host and not yet closed"
})

export const mailboxDepth = Metric.histogram(
  "effect_swarm.orchestrator.mailbox_depth",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 11 }),
  "Mailbox depth of an instance when a message is accepted (that message included)"
)

export const restarts = Metric.counter("effect_swarm.orchestrator.restarts", {
  description: "Agent instance restarts, by agent and reason",
  incremental: true
})

export type RestartReason = "crash" | "crash_loop_backoff" | "manual" | "config_change"

/** One more (or, with -1, one fewer) active instance in the swarm. */
export const instanceDelta = (swarm: string, delta: 1 | -1): Effect.Effect<void> =>
  Metric.incrementBy(Metric.tagged(activeInstances, "effect_swarm.swarm", swarm), delta)

/** The tagged histogram per agent name, made once (tagging per message costs a key and a lookup each). */
const depthByAgent = new Map<string, Metric.Metric.Histogram<number>>()

/**
 * Records a mailbox depth synchronously, where the message is accepted (no Effect operation on the request's
 * hot path). It carries its agent tag only, not the accepting fiber's metric labels (`Effect.tagMetrics`):
 * the sender's labels say nothing about the callee's mailbox.
 */
export const unsafeRecordDepth = (agentName: string, depth: number): void => {
  let metric = depthByAgent.get(agentName)
  if (metric === undefined) {
    metric = Metric.tagged(mailboxDepth, "gen_ai.agent.name", agentName)
    depthByAgent.set(agentName, metric)
  }
  metric.unsafeUpdate(depth, [])
}

export const restarted = (agentName: string, reason: RestartReason): Effect.Effect<void> =>
  Metric.increment(
    Metric.tagged(Metric.tagged(restarts, "gen_ai.agent.name", agentName), "effect_swarm.restart.reason", reason)
  )
