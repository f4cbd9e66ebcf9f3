/**
 * Metrics derived from the spans the runtime opens (turn, step, model call, tool call), recorded when a
 * span ends, so the numbers and the traces can never disagree. Also turns a model call's token usage into
 * a cost attribute and metric when a price is known for its model: the layer's `prices` table, else the
 * price its Model resource declared (the span's `effect_swarm.price.*` attributes).
 *
 * @internal
 */
import type { Attributes, AttributeValue, Meter } from "@opentelemetry/api"
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { maxToolName } from "../../pipeline/internal/genAi.js"
import * as Redact from "./redact.js"

/** Prices of one model in US dollars per million tokens. @internal */
export interface Price {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
}

const str = (v: AttributeValue | undefined): string | undefined => typeof v === "string" ? v : undefined
const num = (v: AttributeValue | undefined): number => typeof v === "number" ? v : 0

/** The span's own price (from its Model resource's `spec.price`), when it carries one. */
const spanPrice = (attributes: Attributes): Price | undefined => {
  const input = attributes["effect_swarm.price.input_per_million"]
  const output = attributes["effect_swarm.price.output_per_million"]
  return typeof input === "number" && typeof output === "number"
    ? { inputPerMillion: input, outputPerMillion: output }
    : undefined
}

/** The layer's `prices` entry for the span's model wins over the span's own price. */
const costOf = (attributes: Attributes, prices: Readonly<Record<string, Price>>): number | undefined => {
  const model = str(attributes["gen_ai.request.model"])
  const price = (model !== undefined && Object.hasOwn(prices, model) ? prices[model] : undefined) ??
    spanPrice(attributes)
  if (price === undefined) return undefined
  return (num(attributes["gen_ai.usage.input_tokens"]) * price.inputPerMillion +
    num(attributes["gen_ai.usage.output_tokens"]) * price.outputPerMillion) / 1_000_000
}

const pick = (attributes: Attributes, keys: ReadonlyArray<string>): Attributes => {
  const out: Attributes = {}
  for (const key of keys) if (attributes[key] !== undefined) out[key] = attributes[key]
  return out
}

/**
 * The tool name label of a tool call's metrics: `_OTHER` for a call to a tool the agent does not have
 * (a name the model made up: one metric series per invented name otherwise, and the name is the model's).
 */
const toolLabels = (a: Attributes, keys: ReadonlyArray<string>): Attributes => {
  const out = pick(a, keys)
  if (a["error.type"] === "E_TOOL_NOT_IN_CATALOG" || a["error.type"] === "E_TOOL_NOT_FOUND") {
    out["gen_ai.tool.name"] = "_OTHER"
  }
  return out
}

/** The operations of a model-call span (`chat {model}`, or `text_completion {model}`). */
const isModelCall = (operation: AttributeValue | undefined): boolean =>
  operation === "chat" || operation === "text_completion"

/** @internal */
export const processor = (meter: Meter, prices: Readonly<Record<string, Price>>): SpanProcessor => {
  const seconds = { unit: "s" }
  const turnDuration = meter.createHistogram("effect_swarm.turn.duration", { ...seconds, description: "Turn duration" })
  const stepDuration = meter.createHistogram("effect_swarm.step.duration", { ...seconds, description: "Step duration" })
  const toolDuration = meter.createHistogram("effect_swarm.tool.duration", {
    ...seconds,
    description: "Tool call duration"
  })
  const toolErrors = meter.createCounter("effect_swarm.tool.errors", { description: "Tool calls that failed" })
  const retries = meter.createCounter("effect_swarm.model.retries", {
    description: "Model calls repeated after empty or malformed output"
  })
  const budgetStops = meter.createCounter("effect_swarm.turn.budget_stops", { description: "Turns ended by a budget" })
  const modelDuration = meter.createHistogram("gen_ai.client.operation.duration", {
    ...seconds,
    description: "GenAI operation duration"
  })
  const tokens = meter.createHistogram("gen_ai.client.token.usage", {
    unit: "{token}",
    description: "Tokens used per model call"
  })
  const cost = meter.createCounter("effect_swarm.cost", { unit: "USD", description: "Model cost from the price table" })
  const firstChunk = meter.createHistogram("gen_ai.client.operation.time_to_first_chunk", {
    ...seconds,
    description: "Time from a streamed model call's start to its first chunk"
  })
  // The conventions' own duration metrics of agent invocations and tool executions (by operation, agent or
  // tool, and error type), beside ours (by finish reason, by tool status).
  const agentDuration = meter.createHistogram("gen_ai.invoke_agent.duration", {
    ...seconds,
    description: "GenAI agent invocation duration"
  })
  const executeToolDuration = meter.createHistogram("gen_ai.execute_tool.duration", {
    ...seconds,
    description: "GenAI tool execution duration"
  })
  const httpRetries = meter.createCounter("effect_swarm.model.http_retries", {
    description: "Model HTTP requests repeated after a transient failure (429, 5xx, connection, timeout)"
  })

  return {
    onStart: () => {},
    // Before the span is read-only: the cost becomes an attribute of the model-call span.
    onEnding: (span: Span) => {
      // Error text (log lines, exceptions, the status) can hold what a provider echoed back: a key, a token.
      Redact.span(span)
      const operation = span.attributes["gen_ai.operation.name"]
      if (operation === "execute_tool") {
        const name = span.attributes["gen_ai.tool.name"]
        if (typeof name === "string" && name.length > maxToolName) {
          span.setAttribute("gen_ai.tool.name", `${name.slice(0, maxToolName)}... (${name.length} characters)`)
        }
        return
      }
      if (!isModelCall(operation)) return
      const usd = costOf(span.attributes, prices)
      if (usd !== undefined) span.setAttribute("effect_swarm.cost.usd", usd)
    },
    onEnd: (span: ReadableSpan) => {
      const a = span.attributes
      for (const event of span.events) {
        if (event.name === "effect_swarm.model.retry") {
          httpRetries.add(
            1,
            pick(event.attributes ?? {}, ["gen_ai.provider.name", "http.response.status_code", "error.type"])
          )
        }
      }
      const duration = span.duration[0] + span.duration[1] / 1e9
      const operation = a["gen_ai.operation.name"]
      if (operation === "invoke_agent") {
        turnDuration.record(duration, pick(a, ["gen_ai.agent.name", "effect_swarm.turn.finish_reason"]))
        agentDuration.record(duration, pick(a, ["gen_ai.operation.name", "gen_ai.agent.name", "error.type"]))
        if (a["effect_swarm.turn.finish_reason"] === "budget_exceeded") {
          budgetStops.add(1, pick(a, ["gen_ai.agent.name", "effect_swarm.turn.limit"]))
        }
      } else if (span.name === "effect-swarm.step") {
        stepDuration.record(duration, pick(a, ["gen_ai.agent.name"]))
        if (a["effect_swarm.step.retry"] !== undefined) {
          retries.add(1, pick(a, ["gen_ai.agent.name", "effect_swarm.step.retry"]))
        }
      } else if (operation === "execute_tool") {
        toolDuration.record(duration, toolLabels(a, ["gen_ai.tool.name", "effect_swarm.tool.status"]))
        executeToolDuration.record(duration, toolLabels(a, ["gen_ai.operation.name", "gen_ai.tool.name", "error.type"]))
        if (a["error.type"] !== undefined) toolErrors.add(1, toolLabels(a, ["gen_ai.tool.name", "error.type"]))
      } else if (isModelCall(operation)) {
        const model = pick(a, ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model"])
        modelDuration.record(duration, model)
        tokens.record(num(a["gen_ai.usage.input_tokens"]), { ...model, "gen_ai.token.type": "input" })
        tokens.record(num(a["gen_ai.usage.output_tokens"]), { ...model, "gen_ai.token.type": "output" })
        const usd = costOf(a, prices)
        if (usd !== undefined) cost.add(usd, pick(a, ["gen_ai.request.model"]))
        const ttfc = a["gen_ai.response.time_to_first_chunk"]
        if (typeof ttfc === "number") firstChunk.record(ttfc, model)
      }
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve()
  }
}
