/**
 * `AgentInstance.fromBundle`: its options, errors, requirements and the fork-aware opening (the wiring
 * itself is in `bundle.ts`). Public through `AgentInstance`.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type * as EventBus from "../../event/EventBus.js"
import type { ExtensionLoadError } from "../../extension/ExtensionError.js"
import type * as Model from "../../model/Model.js"
import type { ModelConfigError } from "../../model/ModelError.js"
import type { AgentsApi } from "../../pipeline/Middleware.js"
import type * as Pipeline from "../../pipeline/Pipeline.js"
import type * as Bundle from "../../resource/Bundle.js"
import type { BundleError } from "../../resource/BundleError.js"
import type * as Resource from "../../resource/Resource.js"
import type * as ToolExecutor from "../../tool/ToolExecutor.js"
import type * as ToolModule from "../../tool/ToolModule.js"
import type { ToolNameError } from "../../tool/ToolName.js"
import type { ExtensionState, ExtensionStateError } from "../../workspace/ExtensionState.js"
import type { Instances } from "../../workspace/Instances.js"
import type { MessageStore } from "../../workspace/MessageStore.js"
import type { RuntimeEventLog } from "../../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import { type AgentConfigError, type PolicyError, TurnStorageError } from "../AgentError.js"
import type * as Policy from "../Policy.js"
import * as FromBundle from "./bundle.js"
import type { AgentInstance, ApprovalPredicate } from "./instance.js"

/**
 * Options of {@link fromBundle}: which Agent of the bundle and which instance of it, plus what to
 * replace or add. Everything else is read from the bundle.
 *
 * @since 0.1.0
 * @category models
 */
export interface FromBundleOptions {
  /** The Agent: its name in the bundle's local scope, or its entry. */
  readonly agent: string | Bundle.Entry<Resource.AgentResource>
  readonly instanceKey: string
  /**
   * The Swarm whose `spec.policy` applies (a name or an entry). Default: the only local Swarm listing the
   * agent, else the one `Bundle.selectSwarm` picks if it lists the agent; none otherwise.
   */
  readonly swarm?: string | Bundle.Entry<Resource.SwarmResource> | undefined
  /** Default: the Swarm's `spec.instanceKey`, else its name, else `default` (through `WorkspacePaths.workspaceId`). */
  readonly workspaceId?: string | undefined
  /** Replaces the Agent's Model resource (a scripted model in tests and demos). */
  readonly model?: Model.Service | undefined
  /** Passed to `Model.make` for the Agent's Model resource (an `HttpClient`, a script). */
  readonly modelOptions?: Model.LayerOptions | undefined
  /** Applied over the Swarm -> Agent policy. */
  readonly policy?: Partial<Policy.Policy> | undefined
  /** Tool resource names not to register (e.g. tools that need a network the host does not have). */
  readonly skipTools?: ReadonlyArray<string> | undefined
  /** Load the Agent's extensions (default `true`). */
  readonly extensions?: boolean | undefined
  readonly needsApproval?: ApprovalPredicate | undefined
  readonly executor?: ToolExecutor.Options | undefined
  readonly pipeline?: Pipeline.Options | undefined
  readonly agents?: AgentsApi | undefined
}

/**
 * Every failure of {@link fromBundle}: the bundle does not describe a runnable agent (`AgentConfigError`,
 * `BundleError` for an unreadable `systemRef`, `ModelConfigError`), a tool or extension does not load, the
 * `policy` option has a value no turn can run under (`PolicyError`), or the instance's storage fails.
 *
 * @since 0.1.0
 * @category errors
 */
export type FromBundleError =
  | AgentConfigError
  | BundleError
  | ModelConfigError
  | ToolModule.ToolModuleError
  | ToolNameError
  | ExtensionLoadError
  | ExtensionStateError
  | TurnStorageError
  | PolicyError

/**
 * What {@link fromBundle} needs from its context: the workspace stores, the event bus, the file system
 * (prompt files) and a scope (the instance, its event sink and its extensions live as long as it). A
 * `ToolRuntime` in context is used for the Agent's sandboxed tools (without one they fail with
 * `AgentConfigError`).
 *
 * @since 0.1.0
 * @category models
 */
export type FromBundleRequirements =
  | EventBus.EventBus
  | MessageStore
  | RuntimeEventLog
  | Instances
  | ExtensionState
  | FileSystem.FileSystem
  | Scope.Scope

/** Opens a durable instance of one Agent of a loaded bundle (see `AgentInstance.fromBundle`). */
export const fromBundle: (
  bundle: Bundle.Bundle,
  options: FromBundleOptions
) => Effect.Effect<AgentInstance, FromBundleError, FromBundleRequirements> = Effect.fn("AgentInstance.fromBundle")(
  function*(bundle: Bundle.Bundle, options: FromBundleOptions) {
    // Without this call's span: the instance keeps `reopen` as long as it lives, and the span would keep its
    // call-site capture and this call's arguments (measured: ~2 KB per idle instance). A fork's span is a
    // child of the span current when it is opened instead.
    const context = Context.omit(Tracer.ParentSpan)(yield* Effect.context<FromBundleRequirements>())
    // A fork is opened the same way, on the model this instance uses.
    const reopen = (resolved: FromBundle.Resolved) => (next: InstanceRef) =>
      Effect.contextWithEffect((current: Context.Context<never>) =>
        Effect.provide(
          fromBundle(bundle, {
            ...options,
            agent: resolved.agent,
            instanceKey: next.instanceKey,
            model: resolved.model
          }),
          Context.merge(current, context)
        )
      ).pipe(Effect.catchIf((e) => e._tag !== "TurnStorageError", (e) =>
        Effect.fail(
          new TurnStorageError({
            instance: `${next.agentName}@${next.instanceKey}`,
            operation: "opening the instance from its bundle",
            detail: e.message,
            cause: e
          })
        )))
    return yield* FromBundle.open(bundle, options, reopen)
  }
)
