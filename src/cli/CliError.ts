/**
 * The CLI's own errors: what the user typed does not name an instance, or names several. Each message
 * says what was looked for, where, and what exists instead.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * An `agent[@instance]` argument that is not one (empty agent or instance).
 *
 * @example
 * ```ts
 * import { CliError } from "effect-swarm/cli/CliError"
 * new CliError.BadTarget({ target: "@x", reason: "the agent name is empty" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BadTarget extends Schema.TaggedError<BadTarget>("effect-swarm/cli/BadTarget")("BadTarget", {
  target: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `"${this.target}" is not an instance: ${this.reason}. Write agent@instanceKey (or agent alone).`
  }
}

/**
 * The state root (`EFFECT_SWARM_HOME`, default `~/.effect-swarm`) is there but is not a directory.
 *
 * @example
 * ```ts
 * import { CliError } from "effect-swarm/cli/CliError"
 * new CliError.StateRootInvalid({ root: "/tmp/x", reason: "it is a file" }).message
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StateRootInvalid extends Schema.TaggedError<StateRootInvalid>("effect-swarm/cli/StateRootInvalid")(
  "StateRootInvalid",
  {
    root: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `the state root ${this.root} ${this.reason}, not a directory: point EFFECT_SWARM_HOME at a directory ` +
      "(it is created when missing) or move that file away"
  }
}

/**
 * No instance matches `target` under the state root.
 *
 * @since 0.1.0
 * @category errors
 */
export class InstanceNotFound extends Schema.TaggedError<InstanceNotFound>("effect-swarm/cli/InstanceNotFound")(
  "InstanceNotFound",
  {
    target: Schema.String,
    root: Schema.String,
    known: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    const known = this.known.length === 0
      ? "there are no instances there yet (`effect-swarm send` creates one; EFFECT_SWARM_HOME moves the state root)"
      : `known: ${this.known.slice(0, 10).join(", ")}${
        this.known.length > 10 ? `, +${this.known.length - 10} more` : ""
      }`
    return `no instance ${this.target} under ${this.root}; ${known}`
  }
}

/**
 * `target` matches instances in several workspaces (or, given without `@instance`, several instances).
 *
 * @since 0.1.0
 * @category errors
 */
export class AmbiguousInstance extends Schema.TaggedError<AmbiguousInstance>("effect-swarm/cli/AmbiguousInstance")(
  "AmbiguousInstance",
  {
    target: Schema.String,
    candidates: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    return `${this.target} matches ${this.candidates.length} instances (${this.candidates.join(", ")}); ` +
      `name one as agent@instanceKey and, when two workspaces have it, pass --workspace`
  }
}

/**
 * `run`: an agent's Model has no API key in the environment and no `--fallback-model` was given.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingModelKey extends Schema.TaggedError<MissingModelKey>("effect-swarm/cli/MissingModelKey")(
  "MissingModelKey",
  {
    agent: Schema.String,
    model: Schema.String,
    tried: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    return `agent ${this.agent}: ${this.model} has no API key (${this.tried.join(", ")} ${
      this.tried.length === 1 ? "is" : "are"
    } not set); export ${this.tried[0] ?? "the key"}=..., or pass --fallback-model <a Model of the bundle> ` +
      `to run such agents on it (a scripted Model runs offline)`
  }
}

/**
 * `run --fallback-model <name>` names no Model of the bundle.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownFallbackModel
  extends Schema.TaggedError<UnknownFallbackModel>("effect-swarm/cli/UnknownFallbackModel")("UnknownFallbackModel", {
    model: Schema.String,
    known: Schema.Array(Schema.String)
  })
{
  override get message(): string {
    return `--fallback-model ${this.model}: the bundle has no Model/${this.model}; its Models: ${
      this.known.join(", ") || "none"
    }`
  }
}

/**
 * `run --swarm <name>` (or a bundle with several Swarms and no `--swarm`): which Swarm to run is unclear.
 *
 * @since 0.1.0
 * @category errors
 */
export class SwarmChoice extends Schema.TaggedError<SwarmChoice>("effect-swarm/cli/SwarmChoice")("SwarmChoice", {
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.detail} (pass --swarm <name>)`
  }
}

/**
 * `--otel` (or an `OTEL_*` variable) asked for telemetry, but the optional OpenTelemetry packages are not
 * installed.
 *
 * @since 0.1.0
 * @category errors
 */
export class OtelUnavailable extends Schema.TaggedError<OtelUnavailable>("effect-swarm/cli/OtelUnavailable")(
  "OtelUnavailable",
  { detail: Schema.String }
) {
  override get message(): string {
    return `telemetry needs the optional OpenTelemetry packages (${this.detail}); install them: npm i ` +
      `@effect/opentelemetry @opentelemetry/exporter-trace-otlp-http @opentelemetry/exporter-metrics-otlp-http ` +
      `(or unset OTEL_EXPORTER_OTLP_ENDPOINT / drop --otel)`
  }
}
