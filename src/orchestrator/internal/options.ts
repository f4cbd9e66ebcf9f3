/**
 * What building an orchestrator takes (`Orchestrator.Options`): per-instance setup, models, supervision and
 * lifecycle overrides, mailbox capacity, the inter-agent calls it wires, the state root of the durable
 * inbox; documented here and re-exported by `Orchestrator.ts`.
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as AgentInstance from "../../agent/AgentInstance.js"
import type * as Model from "../../model/Model.js"
import type { AgentsApi as MiddlewareAgentsApi } from "../../pipeline/Middleware.js"
import type * as Bundle from "../../resource/Bundle.js"
import type * as Resource from "../../resource/Resource.js"
import type * as AgentAddress from "../AgentAddress.js"
import type * as AgentsApi from "../AgentsApi.js"
import type * as Supervision from "../Supervision.js"
import type { Service } from "./api.js"
import type * as Lifecycle from "./lifecycle.js"

/**
 * What `setup` and `agents` of {@link Options} receive for each instance they prepare.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Orchestrator } from "effect-swarm"
 * const setup: Orchestrator.Options["setup"] = (_instance, context: Orchestrator.InstanceContext) =>
 *   Effect.log(`opening ${context.address.agentName}@${context.address.instanceKey}`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface InstanceContext {
  readonly address: AgentAddress.AgentAddress
  readonly agent: Bundle.Entry<Resource.AgentResource>
  readonly bundle: Bundle.Bundle
  readonly orchestrator: Service
}

export interface WakeOption {
  /**
   * An idle (or released) caller is woken by an async reply: it gets one turn whose input is the reply
   * (a burst of replies: one turn, the others delivered at its first step). Not a busy caller (its next
   * step reads them), nor a stopped, crashed or approval-waiting one (they wait in its inbox). Default
   * true; false: replies wait for the caller's next turn.
   */
  readonly wakeOnReply?: boolean | undefined
}

/**
 * The limits of the inter-agent calls the orchestrator wires (see {@link Options.calls}).
 *
 * @example
 * ```ts
 * import type { Orchestrator } from "effect-swarm"
 * const limits: Orchestrator.CallLimits = { maxPendingAsync: 20, defaultTimeout: "30 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CallLimits = Omit<AgentsApi.Options, "router" | "policy" | "root"> & WakeOption

/**
 * Inter-agent calls wired by the caller (`AgentsTool.wire`'s result), for {@link Options.calls}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsTool, Bundle, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const calls: Orchestrator.WiredCalls = yield* AgentsTool.wire({ root: "/srv/swarm" })
 *   return yield* Orchestrator.make(bundle, undefined, { calls })
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WiredCalls extends WakeOption {
  readonly api: AgentsApi.Service
  readonly agents: (context: InstanceContext) => MiddlewareAgentsApi
}

/**
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import type { Orchestrator } from "effect-swarm"
 * const options: Orchestrator.Options = {
 *   mailboxCapacity: 100,
 *   lifecycle: { gracePeriod: Duration.seconds(5) },
 *   calls: { maxPendingAsync: 20 }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The workspace of the instances' files (default: the Swarm's `spec.instanceKey`, else its name). */
  readonly workspaceId?: string | undefined
  /** A model per agent name instead of the bundle's (tests: a scripted model). */
  readonly models?: { readonly [agentName: string]: Model.Service } | undefined
  /** Prepares a new instance (register tools, middlewares, extensions) before its first turn. */
  readonly setup?:
    | ((instance: AgentInstance.AgentInstance, context: InstanceContext) => Effect.Effect<
      void,
      Cause.YieldableError,
      Scope.Scope
    >)
    | undefined
  /** The agents API an instance's middlewares and tools call other agents through. */
  readonly agents?: ((context: InstanceContext) => MiddlewareAgentsApi) | undefined
  /** Overrides of the Swarm's supervision settings (`spec.policy.supervision`, `spec.policy.restart`). */
  readonly supervision?: Partial<Supervision.Settings> | undefined
  /** Queued messages per instance before `send` / `request` are refused with `AGENT_MAILBOX_FULL` (default 1000). */
  readonly mailboxCapacity?: number | undefined
  /** Overrides of the Swarm's lifecycle settings (grace period, idle release, reconcile interval). */
  readonly lifecycle?: Partial<Lifecycle.Settings> | undefined
  /**
   * Inter-agent calls, wired by default on every host (`AgentsTool.wire` under the state root): each
   * instance gets its agents API (`ctx.agents`, `ToolContext.runtime.agents`; a child-process host carries
   * it over IPC) and, when its agent may call others, the `agents` tool and async reply delivery. Pass the
   * API's limits here (`{ maxPendingAsync, maxInbox, defaultTimeout }`), `AgentsTool.wire`'s result to use
   * that one, or `false` to wire nothing. Not wired by default when `agents` is given (wired by hand).
   */
  readonly calls?: false | CallLimits | WiredCalls | undefined
  /**
   * The state root of the durable inbox (default: the host's, e.g. the `Instances` store's root for
   * `make`; in-memory hosts have none, and then nothing survives the process).
   */
  readonly root?: string | undefined
}
