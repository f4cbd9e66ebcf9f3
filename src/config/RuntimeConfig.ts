/**
 * The tool runtime configuration (seed: compozy's `runtime.New(ctx, type, ...opts)`), as immutable
 * validated values and Effect Layers.
 *
 * - `make(type, ...options)` builds a {@link Config} or fails with a {@link BuildError} listing every
 *   problem. It returns an `Either`, which is also an `Effect`, so `yield*` works in generators and the
 *   synchronous path stays allocation-light (see BENCHMARKS.md).
 * - `layer`, `layerConfig` (environment variables through effect `Config`) and `override` (environment
 *   overlays as Layer composition) provide the {@link RuntimeConfig} service.
 * - `decode(input)` validates an encoded object (JSON / YAML) through effect `Schema`; it agrees with
 *   `make` on every valid and invalid input (tested).
 *
 * Unlike the seed, every field is validated, lists are deep-copied and de-duplicated, and the config
 * never claims a permission the sandbox cannot enforce (see `ToolRuntime.capabilities`).
 *
 * Layout: `internal/runtimeConfigModel` (models, defaults), `internal/runtimeConfigRules` (one check
 * per field), `internal/runtimeConfigBuilder` (the fast builder), `internal/runtimeConfigOptions` (the
 * options), `internal/runtimeConfigSchema` (the Schema path), `internal/runtimeConfigEnv` (the
 * environment); this module re-exports them and holds the service and its layers.
 *
 * @since 0.1.0
 */
import type * as Config_ from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { BuildError } from "./BuildError.js"
import type { Option } from "./internal/runtimeConfigBuilder.js"
import { make, update } from "./internal/runtimeConfigBuilder.js"
import { config } from "./internal/runtimeConfigEnv.js"
import type { Config, Input } from "./internal/runtimeConfigModel.js"
import { fromInput } from "./internal/runtimeConfigOptions.js"

export * from "./internal/runtimeConfigBuilder.js"
export * from "./internal/runtimeConfigEnv.js"
export * from "./internal/runtimeConfigModel.js"
export * from "./internal/runtimeConfigOptions.js"
export * from "./internal/runtimeConfigRules.js"
export * from "./internal/runtimeConfigSchema.js"

// ---------------------------------------------------------------------------------------------------
// Service and layers
// ---------------------------------------------------------------------------------------------------

/**
 * The runtime configuration the sandbox runs tools under.
 *
 * @since 0.1.0
 * @category tags
 */
export class RuntimeConfig extends Context.Tag("effect-swarm/RuntimeConfig")<RuntimeConfig, Config>() {}

/**
 * A layer holding a validated config.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * const Base = RuntimeConfig.layer("bun", RuntimeConfig.withEntrypointPath("./tools/main.ts"))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (runtimeType: string, ...options: ReadonlyArray<Option>): Layer.Layer<RuntimeConfig, BuildError> =>
  Layer.effect(RuntimeConfig, make(runtimeType, ...options))

/**
 * Applies options on top of the upstream {@link RuntimeConfig} and re-validates the result: write
 * the base once and stack environment overlays with `Layer.provide`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const Base = RuntimeConfig.layer("bun", RuntimeConfig.withEntrypointPath("./tools/main.ts"))
 * const Production = RuntimeConfig.override(
 *   RuntimeConfig.withEnvironment("production"),
 *   RuntimeConfig.withMaxMemoryMB(512)
 * ).pipe(Layer.provide(Base))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const override = (...options: ReadonlyArray<Option>): Layer.Layer<RuntimeConfig, BuildError, RuntimeConfig> =>
  Layer.effect(RuntimeConfig, Effect.flatMap(RuntimeConfig, (base) => update(base, ...options)))

/**
 * A layer built from {@link config} (environment variables by default). Config errors (a missing or
 * malformed variable) and validation errors both surface as typed failures.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Layer } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const FromMap = RuntimeConfig.layerConfig().pipe(
 *   Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["RUNTIME_TYPE", "node"]]))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  source: Config_.Config<Input> = config
): Layer.Layer<RuntimeConfig, BuildError | ConfigError.ConfigError> =>
  Layer.effect(RuntimeConfig, Effect.flatMap(source, (input) => fromInput(input)))

/**
 * The permissions the sandbox enforces: `bunPermissions` when set (seed compatibility), otherwise
 * `permissions`.
 *
 * @since 0.1.0
 * @category getters
 */
export const effectivePermissions = (config: Config): ReadonlyArray<string> =>
  config.bunPermissions.length > 0 ? config.bunPermissions : config.permissions
