/**
 * `--otel [endpoint]` of the commands that run turns (`run`, `send`, `approve`, `deny`): the command runs
 * inside `Observability.layer`, which exports its traces and metrics over OTLP/HTTP and flushes them when
 * the command ends. The usual variables turn it on without the flag: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), or `OTEL_TRACES_EXPORTER` naming an exporter (`otlp`, `console`);
 * `OTEL_SDK_DISABLED=true` turns it off. `OTEL_SERVICE_NAME` and the other `OTEL_*` variables apply as in
 * `Observability.layer`.
 *
 * The OpenTelemetry packages are optional peer dependencies: they are loaded only when telemetry is on,
 * and when they are missing the command fails with {@link OtelUnavailable} naming what to install.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { OtelUnavailable } from "../CliError.js"

/** The value a bare `--otel` gets (`Cli.cli`): the `OTEL_*` endpoint, else localhost:4318. @internal */
export const bare = "env"

const requested = Config.all({
  disabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  endpoint: Config.option(Config.nonEmptyString("OTEL_EXPORTER_OTLP_ENDPOINT")),
  tracesEndpoint: Config.option(Config.nonEmptyString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
  exporter: Config.option(Config.string("OTEL_TRACES_EXPORTER"))
})

/**
 * Runs `self` with telemetry when `--otel` was given (its endpoint, or {@link bare}) or the environment
 * asks for it; otherwise runs it unchanged, loading nothing.
 *
 * @internal
 */
export const traced = <A, E, R>(
  flag: Option.Option<string>,
  self: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const env = yield* requested
    const fromEnv = Option.isSome(env.endpoint) || Option.isSome(env.tracesEndpoint) ||
      (Option.isSome(env.exporter) && env.exporter.value.trim() !== "" && env.exporter.value.trim() !== "none")
    if (env.disabled || (Option.isNone(flag) && !fromEnv)) return yield* self
    const Observability = yield* Effect.tryPromise({
      try: () => import("../../observability/Observability.js"),
      catch: (cause) => new OtelUnavailable({ detail: cause instanceof Error ? cause.message : String(cause) })
    })
    const endpoint = Option.filter(flag, (e) => e !== bare)
    return yield* self.pipe(
      Effect.provide(Observability.layer(Option.isSome(endpoint) ? { endpoint: endpoint.value } : {}))
    )
  })
