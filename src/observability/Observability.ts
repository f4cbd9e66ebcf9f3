/**
 * OpenTelemetry for effect-swarm: one layer exports every turn, step, model call, tool call and sandboxed
 * tool run as a trace (OTLP/HTTP, and the console for local use), with the OpenTelemetry GenAI semantic
 * conventions (`gen_ai.operation.name`, `gen_ai.agent.name`, `gen_ai.request.model`,
 * `gen_ai.usage.input_tokens` / `output_tokens`, `gen_ai.tool.name`, `gen_ai.tool.call.id`, `error.type`),
 * and metrics derived from the same spans (turn, step, model and tool durations, tokens by model, tool
 * errors by tool and code, model retries (empty or malformed output, and HTTP retries), streamed time to
 * first chunk, budget stops, cost), and the orchestrator's Effect metrics (active instances, mailbox depth,
 * restarts).
 *
 * Optional: it lives at `effect-swarm/observability` and needs the optional peer dependencies
 * `@effect/opentelemetry`, `@opentelemetry/sdk-trace-base`, `@opentelemetry/sdk-metrics`,
 * `@opentelemetry/resources` and the two `@opentelemetry/exporter-*-otlp-http` packages. Nothing changes
 * for a program that does not provide the layer. Message contents are exported only when asked for
 * (`captureContent`, or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
 *
 * @since 0.1.0
 */
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import * as Config from "effect/Config"
import * as ConfigErrors from "effect/ConfigError"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Pipeline from "../pipeline/Pipeline.js"
import { version } from "../version.js"
import * as SpanMetrics from "./internal/spanMetrics.js"

/**
 * Prices of one model, in US dollars per million tokens.
 *
 * @since 0.1.0
 * @category models
 */
export interface Price {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
}

/**
 * Options of {@link layer}. Every field is optional; the usual `OTEL_*` environment variables apply where
 * a field is absent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `service.name` of the resource. Default: `OTEL_SERVICE_NAME`, else `effect-swarm`. */
  readonly serviceName?: string | undefined
  /**
   * The OTLP/HTTP base URL (`http://localhost:4318`): traces go to `<endpoint>/v1/traces`, metrics to
   * `<endpoint>/v1/metrics`. Default: what the exporters read from `OTEL_EXPORTER_OTLP_ENDPOINT`,
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (else localhost:4318).
   */
  readonly endpoint?: string | undefined
  /** Extra HTTP headers (an API key). Default: `OTEL_EXPORTER_OTLP_HEADERS`, read by the exporters. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /**
   * Where spans go: `otlp`, `console`, both, or none. Default: `OTEL_TRACES_EXPORTER` (comma-separated),
   * else `otlp`.
   */
  readonly traces?: ReadonlyArray<"otlp" | "console"> | undefined
  /** Whether metrics are exported over OTLP. Default: `OTEL_METRICS_EXPORTER` is not `none`. */
  readonly metrics?: boolean | undefined
  /** Metric export interval. Default: `OTEL_METRIC_EXPORT_INTERVAL` (ms), else 60 seconds. */
  readonly metricInterval?: Duration.DurationInput | undefined
  /**
   * Prices per model name (as sent to the provider): each model call gets an `effect_swarm.cost.usd`
   * attribute and adds to the `effect_swarm.cost` metric. An entry here overrides the Model resource's
   * `spec.price`, which applies to the models this table does not name.
   */
  readonly prices?: Readonly<Record<string, Price>> | undefined
  /**
   * Whether spans carry contents: the model's input and output messages and system prompt, the tools'
   * arguments and results (each attribute capped at 16 KiB). Default:
   * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is `true`, else off: no content leaves the process.
   */
  readonly captureContent?: boolean | undefined
}

/** How long closing the layer waits for each flush (spans, metrics), as `@effect/opentelemetry` does. */
const shutdownTimeout = Duration.seconds(3)

// `metricInterval` as milliseconds; zero, negative or infinite intervals are refused (the SDK's reader
// throws on them, which crashed the layer).
const positiveMillis = (input: Duration.DurationInput): Effect.Effect<number, ConfigError.ConfigError> => {
  const decoded = Duration.decodeUnknown(input)
  const ms = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
  return Number.isFinite(ms) && ms > 0 ? Effect.succeed(ms) : Effect.fail(
    ConfigErrors.InvalidData(
      ["metricInterval"],
      `metricInterval must be a positive, finite duration (e.g. "60 seconds"), got ${String(input)}`
    )
  )
}

const endpointVariables = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
] as const

// An OTLP/HTTP endpoint must be an http(s) URL: the exporters threw on one that does not parse (a dead layer),
// and took `localhost:4318` (scheme `localhost:`) or `ftp://...` silently, exporting nothing.
const httpUrl = (field: string, value: string): Effect.Effect<void, ConfigError.ConfigError> => {
  let protocol: string | undefined
  try {
    protocol = new URL(value).protocol
  } catch {
    protocol = undefined
  }
  return protocol === "http:" || protocol === "https:" ? Effect.void : Effect.fail(
    ConfigErrors.InvalidData(
      [field],
      `${field} must be an http(s) URL such as http://localhost:4318 (the OTLP/HTTP base), got '${value}'`
    )
  )
}

const exportersFromEnv = Config.string("OTEL_TRACES_EXPORTER").pipe(
  Config.withDefault("otlp"),
  Config.map((s) =>
    s.split(",").map((x) => x.trim()).filter((x): x is "otlp" | "console" => x === "otlp" || x === "console")
  )
)

/**
 * The OpenTelemetry layer: provides Effect's tracer backed by the OpenTelemetry SDK (so the runtime's
 * turn, step and tool spans open and carry GenAI attributes) and exports spans and span-derived metrics.
 * Closing the layer flushes both, waiting at most 3 seconds (on `Clock`) for each.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Observability } from "effect-swarm/observability"
 * declare const program: Effect.Effect<void>
 * program.pipe(
 *   Effect.provide(Observability.layer({
 *     endpoint: "http://localhost:4318",
 *     prices: { "gpt-4.1-mini": { inputPerMillion: 0.4, outputPerMillion: 1.6 } }
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const serviceName = options.serviceName ??
      (yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("effect-swarm")))
    const traces = options.traces ?? (yield* exportersFromEnv)
    const metricsOn = options.metrics ??
      (yield* Config.string("OTEL_METRICS_EXPORTER").pipe(Config.withDefault("otlp"))) !== "none"
    const interval = options.metricInterval !== undefined
      ? yield* positiveMillis(options.metricInterval)
      : yield* Config.number("OTEL_METRIC_EXPORT_INTERVAL").pipe(
        Config.withDefault(60_000),
        Config.validate({
          message: "OTEL_METRIC_EXPORT_INTERVAL must be a positive, finite number of milliseconds (e.g. 60000)",
          validation: (ms) => Number.isFinite(ms) && ms > 0
        })
      )
    if (options.endpoint !== undefined) yield* httpUrl("endpoint", options.endpoint)
    // The exporters read the variables themselves; a bad one is refused here rather than thrown by them.
    for (const name of endpointVariables) {
      const value = yield* Config.option(Config.string(name))
      if (value._tag === "Some") yield* httpUrl(name, value.value)
    }
    const base = options.endpoint?.replace(/\/+$/, "")
    const http = (path: string) => ({
      ...(base === undefined ? {} : { url: `${base}${path}` }),
      ...(options.headers === undefined ? {} : { headers: { ...options.headers } })
    })

    // The runtime's Effect metrics (effect/Metric: the orchestrator's active instances, mailbox depth,
    // restarts) are read at each export next to the span-derived ones.
    const effectMetrics = yield* Metrics.makeProducer.pipe(
      Effect.provide(Resource.layer({ serviceName, serviceVersion: version }))
    )
    const meterProvider = new MeterProvider({
      resource: resourceFromAttributes({ "service.name": serviceName, "service.version": version }),
      readers: metricsOn
        ? [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter(http("/v1/metrics")),
            exportIntervalMillis: interval,
            exportTimeoutMillis: Math.min(interval, 30_000),
            metricProducers: [effectMetrics]
          })
        ]
        : []
    })
    // Released after the tracer (acquired first): the spans ending at shutdown still count.
    // Bounded on `Clock` like the tracer's flush (3 s): a collector that accepts the connection and never
    // answers held the close for the exporter's request timeout or the reader's (up to 30 s).
    yield* Effect.addFinalizer(() =>
      Effect.tryPromise(() => meterProvider.shutdown()).pipe(
        // Finalizers run uninterruptibly: the wait must be interruptible for the timeout to end it.
        Effect.interruptible,
        Effect.timeoutOption(shutdownTimeout),
        Effect.flatMap((done) =>
          done._tag === "Some" ? Effect.void : Effect.logWarning(
            `Observability: the metrics exporter did not answer within ${
              Duration.format(shutdownTimeout)
            } at shutdown; the last metrics are not exported`
          )
        ),
        Effect.catchAll((e) => Effect.logWarning(`Observability: flushing metrics failed: ${e.message}`))
      )
    )
    const processors: Array<SpanProcessor> = [
      SpanMetrics.processor(meterProvider.getMeter("effect-swarm", version), options.prices ?? {})
    ]
    if (traces.includes("otlp")) processors.push(new BatchSpanProcessor(new OTLPTraceExporter(http("/v1/traces"))))
    if (traces.includes("console")) processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()))
    const capture = options.captureContent ??
      (yield* Config.boolean("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT").pipe(Config.withDefault(false)))
    const sdk = NodeSdk.layer(() => ({
      resource: { serviceName, serviceVersion: version },
      spanProcessor: processors,
      // No attribute value longer than a captured content attribute (16 KiB and its marker) is exported:
      // values the model chooses (a tool name, a call id) are cut there too.
      tracerConfig: { spanLimits: { attributeValueLengthLimit: 16_400 } }
    })).pipe(Layer.discard)
    return capture ? Layer.merge(sdk, Layer.locallyScoped(Pipeline.captureContent, true)) : sdk
  }))
