/**
 * The built-in `agents` tool (`agents__request`, `agents__send`, `agents__spawn`, `agents__list`,
 * `agents__catalog`) and the delivery of async replies, wired into one instance with {@link attach}.
 *
 * Only agents allowed to call others (a non-empty `callableAgents`) get them: the tools join the
 * instance's registry, so they are in its step catalog, and a step middleware writes the async replies
 * waiting in the instance's inbox into its conversation before each step (a user message whose source
 * is `{ type: "agent", kind: "reply", correlationId }`, so the model reads them and the log keeps them).
 * Failed calls reach the model as tool errors carrying the `AGENT_*` code and a suggestion.
 *
 * `agents__spawn` creates (or finds) an instance of a callable agent: the key is the one given, or a
 * fresh `<agent>-<time>-<random>`; the new instance works in the bundle's directory like every other
 * instance (the reference's per-instance `cwd` is not supported: tools get their directory from the
 * runtime config, not from the caller).
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import type { AgentInstance } from "../agent/AgentInstance.js"
import * as Message from "../conversation/Message.js"
import * as MessageEvent from "../conversation/MessageEvent.js"
import * as Middleware from "../pipeline/Middleware.js"
import * as Bundle from "../resource/Bundle.js"
import type * as NativeTools from "../sandbox/NativeTools.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"
import { ToolFailure } from "../tool/ToolError.js"
import type { ToolHandler } from "../tool/ToolRegistry.js"
import type { InstanceRef } from "../workspace/WorkspacePaths.js"
import { type CallPolicy, make, type Options, policyOf, type Reply, type Router, type Service } from "./AgentsApi.js"
import * as ReplyMessage from "./internal/replyMessage.js"
import * as OrchestratorRouter from "./internal/router.js"
import type * as Orchestrator from "./Orchestrator.js"
import type { InvalidOption } from "./OrchestratorError.js"

/**
 * The tools' catalog items (names, descriptions, JSON Schemas).
 *
 * @example
 * ```ts
 * import { AgentsTool } from "effect-swarm"
 * AgentsTool.items.map((item) => item.name) // ["agents__request", "agents__send", ...]
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const items: ReadonlyArray<ToolCatalogItem> = [
  {
    name: "agents__request",
    description:
      "Ask another agent and wait for its reply (or, with async: true, get a correlation id now and its reply in a later step).",
    parameters: {
      type: "object",
      properties: {
        target: { type: "string", description: "the agent's name" },
        input: { type: "string", description: "what to ask" },
        instanceKey: { type: "string", description: "which instance; default: your own key" },
        timeoutMs: { type: "integer", minimum: 1, description: "default 60000" },
        async: { type: "boolean" }
      },
      required: ["target", "input"],
      additionalProperties: false
    }
  },
  {
    name: "agents__send",
    description: "Send a message to another agent without waiting for it.",
    parameters: {
      type: "object",
      properties: {
        target: { type: "string" },
        input: { type: "string" },
        instanceKey: { type: "string", description: "default: your own key" }
      },
      required: ["target", "input"],
      additionalProperties: false
    }
  },
  {
    name: "agents__spawn",
    description: "Create (or find) an instance of an agent you may call; returns its instanceKey.",
    parameters: {
      type: "object",
      properties: { target: { type: "string" }, instanceKey: { type: "string" } },
      required: ["target"],
      additionalProperties: false
    }
  },
  {
    name: "agents__list",
    description: "The instances you spawned (includeAll: every instance spawned in this workspace).",
    parameters: { type: "object", properties: { includeAll: { type: "boolean" } }, additionalProperties: false }
  },
  {
    name: "agents__catalog",
    description: "The agents of this swarm and the ones you may call.",
    parameters: { type: "object", properties: {}, additionalProperties: false }
  }
]

const toFailure = (e: Middleware.AgentsApiError) =>
  new ToolFailure({
    name: "AgentsApiError",
    message: e.chain === undefined ? e.message : `${e.message} (chain: ${e.chain.join(" -> ")})`,
    code: e.code,
    ...(e.suggestion === undefined ? {} : { suggestion: e.suggestion })
  })

const str = (u: unknown): string | undefined => typeof u === "string" ? u : undefined

/**
 * The handlers, by tool name, answering for the instance that runs the tool call.
 *
 * @example
 * ```ts
 * import type { AgentsApi } from "effect-swarm"
 * import { AgentsTool } from "effect-swarm"
 * declare const api: AgentsApi.Service
 * const request = AgentsTool.handlers(api, "w")["agents__request"]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const handlers = (api: Service, workspaceId: string): Readonly<Record<string, ToolHandler>> => {
  const of = (ctx: { readonly agentName: string; readonly instanceKey: string }) =>
    api.forInstance({ workspaceId, agentName: ctx.agentName, instanceKey: ctx.instanceKey })
  return {
    agents__request: (args, ctx) =>
      of(ctx).request({
        target: str(args.target) ?? "",
        input: str(args.input),
        instanceKey: args.instanceKey as string | undefined,
        timeoutMs: args.timeoutMs as number | undefined,
        async: args.async === true
      }).pipe(Effect.mapError(toFailure)),
    agents__send: (args, ctx) =>
      of(ctx).send({
        target: str(args.target) ?? "",
        input: str(args.input),
        instanceKey: args.instanceKey as string | undefined
      }).pipe(Effect.mapError(toFailure)),
    agents__spawn: (args, ctx) =>
      of(ctx).spawn({ target: str(args.target) ?? "", instanceKey: args.instanceKey as string | undefined }).pipe(
        Effect.mapError(toFailure)
      ),
    agents__list: (args, ctx) =>
      Effect.map(of(ctx).list({ includeAll: args.includeAll === true }), (instances) => ({ instances })).pipe(
        Effect.mapError(toFailure)
      ),
    agents__catalog: (_args, ctx) => of(ctx).catalog.pipe(Effect.mapError(toFailure))
  }
}

/**
 * The text the model reads for an async reply.
 *
 * @example
 * ```ts
 * import { AgentsTool } from "effect-swarm"
 * AgentsTool.replyText({
 *   v: 1, correlationId: "corr-1", agentName: "worker", instanceKey: "t1", status: "ok", response: "3", receivedAt: 0
 * }) // "[async reply from worker@t1 to request corr-1: ok]\n3"
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const replyText: (reply: Reply) => string = ReplyMessage.text

/**
 * The step middleware that writes waiting async replies into the conversation of `ref` before the
 * step's model call. A reply already in the conversation (a crash after writing it, before the inbox
 * heard) is not written twice.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { AgentInstance, AgentsApi } from "effect-swarm"
 * import { AgentsTool } from "effect-swarm"
 * declare const api: AgentsApi.Service
 * declare const instance: AgentInstance.AgentInstance
 * const wired = instance.pipeline.register("step", AgentsTool.deliverReplies(api, instance.ref), { priority: -1_000_000 })
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const deliverReplies = (api: Service, ref: InstanceRef): Middleware.StepMiddleware => (ctx, next) =>
  Effect.gen(function*() {
    // An inbox that cannot be read (a corrupt line, `AGENT_INBOX_FAILED` naming file:line) fails the step.
    const inboxFailed = (e: Middleware.AgentsApiError) =>
      new Middleware.MiddlewareError({ middleware: "agents-replies", message: `${e.message}; ${e.suggestion ?? ""}` })
    const waiting = yield* Effect.mapError(api.pendingReplies(ref), inboxFailed)
    if (waiting.length > 0) {
      const have = ReplyMessage.deliveredIds((yield* ctx.conversation.get).messages)
      for (const reply of waiting) {
        if (have.has(reply.correlationId)) continue
        const message = yield* Message.make({ role: "user", content: ReplyMessage.text(reply) }, {
          source: ReplyMessage.source(reply),
          metadata: { "swarm.turnId": ctx.turnId, ...ReplyMessage.metadata(reply) }
        })
        yield* ctx.emitMessageEvent(MessageEvent.append(message))
      }
      yield* Effect.mapError(api.markDelivered(ref, waiting.map((r) => r.correlationId)), inboxFailed)
    }
    return yield* next
  })

/**
 * Wires inter-agent calls into an instance: when its agent may call others, registers the `agents`
 * tools in its registry and the reply-delivery step middleware in its pipeline (outermost, so every
 * other middleware and the model see the replies). Returns whether the agent may call others.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsApi, AgentsTool } from "effect-swarm"
 * declare const instance: import("effect-swarm").AgentInstance.AgentInstance
 * const wired = Effect.flatMap(AgentsApi.AgentsApi, (api) => AgentsTool.attach(api, instance))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const attach = (api: Service, instance: AgentInstance): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    if (api.callable(instance.ref.agentName).length === 0) return false
    const hs = handlers(api, instance.ref.workspaceId)
    for (const item of items) {
      yield* instance.tools.register(item, hs[item.name]!).pipe(Effect.orDie)
    }
    yield* instance.pipeline.register("step", deliverReplies(api, instance.ref), {
      priority: -1_000_000,
      name: "agents-replies"
    })
    return true
  })

/**
 * The call policy of the orchestrator's Swarm: its agents, each Agent's `spec.callableAgents` and the
 * Swarm's `spec.callableAgents`.
 *
 * @example
 * ```ts
 * import type { Bundle, Orchestrator } from "effect-swarm"
 * import { AgentsTool } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * declare const orchestrator: Orchestrator.Service
 * AgentsTool.policyOfSwarm(bundle, orchestrator).callable("lead") // the allow-list of lead
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const policyOfSwarm = (bundle: Bundle.Bundle, orchestrator: Orchestrator.Service): CallPolicy => {
  const selected = Bundle.selectSwarm(bundle, orchestrator.swarm)
  const swarm = Either.isRight(selected) ? selected.right.resource : undefined
  const agentCallable: Record<string, ReadonlyArray<string> | undefined> = {}
  for (const a of orchestrator.agents) agentCallable[a.name] = a.resource.spec.callableAgents
  return policyOf({
    swarmName: orchestrator.swarm,
    entryAgent: orchestrator.entryAgent,
    agents: orchestrator.agents.map((a) => a.name),
    agentCallable,
    swarmCallable: swarm?.spec.callableAgents
  })
}

/**
 * A {@link Router} over an orchestrator's mailboxes: `request` waits for the callee's turn (a timeout
 * interrupts the wait, which cancels the turn or unqueues it), `send` returns once enqueued. Instances
 * are created on their first message, so `spawn` only reserves an address: `spawned` says whether the
 * orchestrator did not know it yet.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Orchestrator } from "effect-swarm"
 * import { AgentsTool } from "effect-swarm"
 * declare const orchestrator: Orchestrator.Service
 * const reply = AgentsTool.routerOf(orchestrator).request("worker", "t1", { text: "count to 3" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const routerOf = (orchestrator: Orchestrator.Service): Router => OrchestratorRouter.routerOf(orchestrator)

/**
 * Inter-agent calls for an orchestrator: pass `agents` and `setup` to `Orchestrator.make` / `layer`
 * options. Every instance gets the AgentsApi as `ctx.agents` and `ToolContext.runtime.agents`; agents
 * allowed to call others get the `agents` tool and reply delivery ({@link attach}). `nativeTools` is
 * the host side of `ctx.callAgent` for sandboxed tools (provide it with `NativeTools.layer`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentsTool, Orchestrator } from "effect-swarm"
 * declare const bundle: import("effect-swarm").Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const calls = yield* AgentsTool.wire({ root: "/srv/swarm" })
 *   const orchestrator = yield* Orchestrator.make(bundle, undefined, { agents: calls.agents, setup: calls.setup })
 *   return yield* orchestrator.request("lead@main", "plan the release")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const wire = (
  options?: Omit<Options, "router" | "policy">
): Effect.Effect<
  {
    readonly api: Service
    readonly agents: (context: Orchestrator.InstanceContext) => Middleware.AgentsApi
    readonly setup: (instance: AgentInstance, context: Orchestrator.InstanceContext) => Effect.Effect<void>
    readonly nativeTools: (workspaceId: string) => NativeTools.Service
    /** Binds the API to its orchestrator now (else its first instance does); again after a reload. */
    readonly bind: (bundle: Bundle.Bundle, orchestrator: Orchestrator.Service) => void
  },
  InvalidOption,
  Scope.Scope | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    // The orchestrator is known once it opens its first instance: bind it then.
    const bound: { router?: Router; policy?: CallPolicy; bundle?: Bundle.Bundle } = {}
    // The bound router's effect when it is bound (calls are made while their effect runs: no suspend per call).
    const to = <A, E>(f: (r: Router) => Effect.Effect<A, E>) =>
      bound.router === undefined ? Effect.suspend(() => f(bound.router!)) : f(bound.router)
    const router: Router = {
      request: (a, k, i) => to((r) => r.request(a, k, i)),
      send: (a, k, i) => to((r) => r.send(a, k, i)),
      spawn: (a, k) => to((r) => r.spawn(a, k)),
      submit: (a, k, i) => to((r) => r.submit!(a, k, i)),
      requestWithin: (a, k, i, ms) => to((r) => r.requestWithin!(a, k, i, ms)),
      submitWithin: (a, k, i, ms) => to((r) => r.submitWithin!(a, k, i, ms)),
      wake: (a, k) => Effect.suspend(() => bound.router?.wake?.(a, k) ?? Effect.void)
    }
    const policy: CallPolicy = {
      get swarmName() {
        return bound.policy?.swarmName ?? ""
      },
      get entryAgent() {
        return bound.policy?.entryAgent ?? ""
      },
      get agents() {
        return bound.policy?.agents ?? []
      },
      callable: (caller) => bound.policy?.callable(caller) ?? []
    }
    const api = yield* make({ ...options, router, policy })
    // Bound again on a new bundle (`Orchestrator.reload`): the policy follows the Swarm's agents.
    const bindTo = (bundle: Bundle.Bundle, orchestrator: Orchestrator.Service) => {
      if (bound.bundle !== bundle) {
        bound.router = routerOf(orchestrator)
        bound.policy = policyOfSwarm(bundle, orchestrator)
        bound.bundle = bundle
      }
    }
    const bind = (context: Orchestrator.InstanceContext) => bindTo(context.bundle, context.orchestrator)
    return {
      api,
      agents: (context) => {
        bind(context)
        return api.forInstance({
          workspaceId: context.orchestrator.workspaceId,
          agentName: context.address.agentName,
          instanceKey: context.address.instanceKey
        })
      },
      setup: (instance, context) => Effect.suspend(() => Effect.asVoid((bind(context), attach(api, instance)))),
      nativeTools: api.nativeTools,
      bind: bindTo
    }
  })
