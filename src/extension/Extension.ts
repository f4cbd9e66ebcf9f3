/**
 * Extensions: an Extension resource's `entry` module exports `register(api, config)`, called once per
 * agent instance with an {@link ExtensionApi.ExtensionApi} bound to that instance's own pipeline, tool
 * registry, state and events (goondan X1-X4).
 *
 * One {@link Environment} per instance, built once by {@link environment} (or {@link load}) and
 * disposed with its `Scope`: its middlewares step aside, its tools are unregistered, its event
 * handlers unsubscribed, the dispose functions extensions registered run, and changed state is saved.
 * The turn loop calls `saveState` at the end of every turn; only states whose content changed are
 * written.
 *
 * Differences from the reference: a module is imported by file URL (the reference used a bare path);
 * a missing `register`, an import failure, a `register` that throws, rejects or hangs past
 * `registerTimeout` is a typed {@link ExtensionLoadError} naming the extension, its file and what to do;
 * middlewares may be Effect- or Promise-style, and their own failures are `MiddlewareError`s naming
 * them; event handlers never block or fail a turn; an environment is disposed with its scope instead of
 * living forever.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as path from "node:path"
import type { EventBus } from "../event/EventBus.js"
import type * as Pipeline from "../pipeline/Pipeline.js"
import * as Bundle from "../resource/Bundle.js"
import type { AgentResource } from "../resource/Resource.js"
import type * as ToolRegistry from "../tool/ToolRegistry.js"
import type { ExtensionState, ExtensionStateError } from "../workspace/ExtensionState.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"
import { ExtensionLoadError } from "./ExtensionError.js"
import * as Build from "./internal/build.js"

/**
 * One extension to load: its name, its entry module and its merged config.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition {
  /** The Extension's `metadata.name`: names its state file and prefixes its middlewares. */
  readonly name: string
  /** The entry module (absolute, or relative to the working directory). */
  readonly entry: string
  /** The Extension's `spec.config` with the Agent's per-use `config` merged over it. */
  readonly config: { readonly [key: string]: unknown }
  /** Where the Extension is declared (for error messages). */
  readonly resourceFile?: string | undefined
}

/**
 * The extensions an agent of a bundle uses, in its declaration order, with their configs merged
 * (`Bundle.extensionUses`) and each entry the file `Bundle.load` validated.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Extension } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const names = Effect.map(Extension.definitions(bundle, "coordinator"), (ds) => ds.map((d) => d.name))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const definitions = (
  bundle: Bundle.Bundle,
  agent: string | Bundle.Entry<AgentResource>
): Effect.Effect<ReadonlyArray<Definition>, ExtensionLoadError> => {
  const entry = typeof agent === "string" ? Bundle.find(bundle, "Agent", agent) : agent
  if (entry === undefined) {
    const known = Bundle.entriesOf(bundle, "Agent").map((a) => a.resource.metadata.name)
    return Effect.fail(
      new ExtensionLoadError({
        code: "E_EXT_AGENT_NOT_FOUND",
        extension: "(none)",
        file: bundle.root,
        reason: `no Agent named '${String(agent)}' in the bundle`,
        suggestion: `use one of: ${known.join(", ") || "(the bundle has no agents)"}`
      })
    )
  }
  return Effect.succeed(
    Bundle.extensionUses(bundle, entry).map((use) => ({
      name: use.extension.resource.metadata.name,
      entry: use.extension.entryFile ?? path.resolve(use.extension.rootDir, use.extension.resource.spec.entry),
      config: use.config,
      resourceFile: use.extension.file
    }))
  )
}

/**
 * A loaded extension environment of one instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface Environment {
  /** The extensions loaded, in registration order. */
  readonly extensions: ReadonlyArray<Definition>
  /**
   * Writes the state of every extension whose content changed since it was loaded or last saved, and
   * returns their names. The turn loop runs it at the end of every turn (also a failed one).
   */
  readonly saveState: Effect.Effect<ReadonlyArray<string>, ExtensionStateError>
  /** Emits an extension event to this instance's extensions, from the host; done when every handler finished. */
  readonly emit: (name: string, payload?: unknown) => Effect.Effect<void>
  /**
   * Hands a turn-loop record the instance wrote (`approval.requested`, `approval.resolved`,
   * `tools.dispatched`, `budget.exceeded`, `turn.abandoned`) to the handlers of its type, after the fact;
   * other types are ignored. The turn loop calls it; those records are not published on the bus.
   */
  readonly deliverRecord: (record: { readonly type: string }) => void
}

/**
 * What {@link load} needs: the instance and the pipeline and registry that are its own.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  readonly extensions: ReadonlyArray<Definition>
  /** The instance: its state lives under it, its runtime events are the ones delivered. */
  readonly instance: InstanceRef
  /** The instance's own pipeline (middlewares are registered there). */
  readonly pipeline: Pipeline.Service
  /** The instance's own tool registry (extension tools are registered there). */
  readonly registry: ToolRegistry.Service
  /** How long one `register` may take (default 30 seconds, on `Clock`). */
  readonly registerTimeout?: Duration.DurationInput | undefined
  /**
   * How long one event handler call may take before it is left behind with a warning and the instance's
   * next handlers and events are delivered (default 30 seconds, on `Clock`; `Duration.infinity` for no
   * deadline). `api.events.on(type, handler, { timeout })` sets it per handler.
   */
  readonly handlerTimeout?: Duration.DurationInput | undefined
  /**
   * How many extension events one chain of handlers may emit (a handler of `a` emits `b`, a handler of `b`
   * emits `c`, ...) before the next emit of the chain is dropped with a warning (default 32). It bounds a
   * handler that emits the event it handles.
   */
  readonly maxEventChain?: number | undefined
  /**
   * How many emitted extension events may be in delivery at once (their handlers not yet finished) before
   * the next emit is dropped with a warning (default 1024). It bounds an extension that emits in a loop
   * faster than its handlers finish.
   */
  readonly maxPendingEvents?: number | undefined
}

/**
 * What {@link environment} needs: {@link LoadOptions} with the extensions read from the bundle.
 *
 * @since 0.1.0
 * @category models
 */
export interface EnvironmentOptions extends Omit<LoadOptions, "extensions"> {
  readonly bundle: Bundle.Bundle
  /** The agent (a name in the bundle's local scope, or its entry). */
  readonly agent: string | Bundle.Entry<AgentResource>
}

/**
 * Loads extensions into one instance: imports each entry, in order, and calls its `register(api,
 * config)` (awaiting an async one), stopping at the first failure. The environment lives as long as the
 * scope; when loading fails, what the earlier extensions registered is disposed at once.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Extension, Pipeline, ToolRegistry } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const pipeline = yield* Pipeline.make()
 *   const registry = yield* ToolRegistry.make
 *   const env = yield* Extension.load({
 *     extensions: [{ name: "audit", entry: "/abs/extensions/audit.mjs", config: { level: "info" } }],
 *     instance: { workspaceId: "default", agentName: "coder", instanceKey: "main" },
 *     pipeline,
 *     registry
 *   })
 *   // ... run turns; after each: yield* env.saveState
 * })
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const load: (
  options: LoadOptions
) => Effect.Effect<Environment, ExtensionLoadError | ExtensionStateError, EventBus | ExtensionState | Scope.Scope> =
  Effect.fn("Extension.load")(function*(options: LoadOptions) {
    const parent = yield* Scope.Scope
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    const built = yield* Build.build(options).pipe(Scope.extend(scope), Effect.exit)
    if (Exit.isFailure(built)) {
      yield* Scope.close(scope, built)
      return yield* Effect.failCause(built.cause)
    }
    return built.value
  })

/**
 * Builds the extension environment of one instance of a bundle's agent: {@link definitions} then
 * {@link load}. This is the seam `AgentInstance` calls once per instance, in the instance's scope, with
 * the instance's own pipeline and registry (`AgentInstance.fromBundle` does); the turn loop then runs
 * `saveState` at the end of every turn.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, Extension, Pipeline, ToolRegistry } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const pipeline = yield* Pipeline.make()
 *   const registry = yield* ToolRegistry.make
 *   const env = yield* Extension.environment({
 *     bundle,
 *     agent: "coordinator",
 *     instance: { workspaceId: "team", agentName: "coordinator", instanceKey: "local" },
 *     pipeline,
 *     registry
 *   })
 *   yield* env.saveState
 * })
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const environment: (
  options: EnvironmentOptions
) => Effect.Effect<Environment, ExtensionLoadError | ExtensionStateError, EventBus | ExtensionState | Scope.Scope> =
  Effect.fn("Extension.environment")(function*(options: EnvironmentOptions) {
    const extensions = yield* definitions(options.bundle, options.agent)
    return yield* load({ ...options, extensions })
  })
