/**
 * How the orchestrator opens the instance of an address: durable through `AgentInstance.fromBundle` (the
 * bundle's model, prompt, tools, extensions; the workspace stores), or in memory from the bundle's model
 * and prompt (tests, benchmarks).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as AgentInstance from "../../agent/AgentInstance.js"
import * as Policy from "../../agent/Policy.js"
import type * as EventBus from "../../event/EventBus.js"
import * as Model from "../../model/Model.js"
import type { AgentsApi, RuntimeInfo } from "../../pipeline/Middleware.js"
import * as Bundle from "../../resource/Bundle.js"
import type * as Resource from "../../resource/Resource.js"
import { Instances } from "../../workspace/Instances.js"
import * as AgentAddress from "../AgentAddress.js"
import { AgentTurnFailed } from "../OrchestratorError.js"
import * as Calls from "./calls.js"

export interface Target {
  readonly bundle: Bundle.Bundle
  readonly swarm: Bundle.Entry<Resource.SwarmResource>
  readonly workspaceId: string
  readonly agentNames: ReadonlyArray<string>
  readonly address: AgentAddress.AgentAddress
  readonly agent: Bundle.Entry<Resource.AgentResource>
  readonly model: Model.Service | undefined
  readonly agents: AgentsApi | undefined
}

export interface Host {
  readonly open: (target: Target) => Effect.Effect<AgentInstance.AgentInstance, AgentTurnFailed, Scope.Scope>
  readonly persistStatus: (
    workspaceId: string,
    address: AgentAddress.AgentAddress,
    status: "crashed" | "stopped",
    reason: string
  ) => Effect.Effect<void>
}

const failed = (address: AgentAddress.AgentAddress) => (e: { readonly _tag: string; readonly message: string }) =>
  new AgentTurnFailed({ address: AgentAddress.format(address), errorTag: e._tag, detail: e.message })

const runtimeInfo = (target: Target, system: string | undefined): RuntimeInfo => ({
  agent: { name: target.address.agentName, bundleRoot: target.bundle.root, prompt: { system } },
  swarm: {
    swarmName: target.swarm.resource.metadata.name,
    entryAgent: target.swarm.resource.spec.entryAgent.name,
    selfAgent: target.address.agentName,
    availableAgents: target.agentNames,
    // The allow-list the agents tool enforces (Agent's callableAgents, replaced by the Swarm's entry), not
    // every member: a middleware reading this must not believe it may call an agent that will be refused.
    callableAgents: Calls.resolveCallable(
      target.agentNames,
      target.address.agentName,
      target.agent.resource.spec.callableAgents,
      target.swarm.resource.spec.callableAgents
    )
  }
})

/** Instances whose log lives in memory, from the bundle's model and system prompt (no tools, no extensions). */
export const inMemory = Effect.gen(function*() {
  const context = yield* Effect.context<EventBus.EventBus | FileSystem.FileSystem>()
  const host: Host = {
    open: (target) =>
      Effect.gen(function*() {
        const { address, agent, bundle } = target
        const model = target.model ?? (yield* Effect.gen(function*() {
          const ref = agent.resource.spec.modelConfig.modelRef
          const entry = Bundle.resolve(bundle, ref, agent)
          if (entry?.resource.kind !== "Model") {
            return yield* failed(address)({
              _tag: "ModelConfigError",
              message: `Model/${ref.name} is not in the bundle`
            })
          }
          return yield* Model.make(entry.resource, entry.script === undefined ? {} : { script: entry.script }).pipe(
            Effect.mapError(failed(address))
          )
        }))
        const system = yield* Bundle.systemPrompt(agent).pipe(Effect.mapError(failed(address)))
        return yield* AgentInstance.makeInMemory({
          ref: { workspaceId: target.workspaceId, agentName: address.agentName, instanceKey: address.instanceKey },
          model,
          system,
          params: agent.resource.spec.modelConfig.params,
          policy: Policy.resolve(target.swarm.resource.spec.policy, agent.resource.spec.policy),
          tools: AgentInstance.toolSettingsOf(Bundle.toolCatalog(bundle, agent)),
          runtime: runtimeInfo(target, system),
          ...(target.agents === undefined ? {} : { agents: target.agents })
        }).pipe(Effect.mapError(failed(address)))
      }).pipe(Effect.provide(context)),
    persistStatus: () => Effect.void
  }
  return host
})

/** Durable instances opened by `AgentInstance.fromBundle` on the workspace stores in context. */
export const durable = Effect.gen(function*() {
  const context = yield* Effect.context<Exclude<AgentInstance.FromBundleRequirements, Scope.Scope>>()
  const instances = yield* Instances
  const host: Host = {
    open: (target) =>
      AgentInstance.fromBundle(target.bundle, {
        agent: target.agent,
        instanceKey: target.address.instanceKey,
        swarm: target.swarm,
        workspaceId: target.workspaceId,
        ...(target.model === undefined ? {} : { model: target.model }),
        ...(target.agents === undefined ? {} : { agents: target.agents })
      }).pipe(Effect.provide(context), Effect.mapError(failed(target.address))),
    persistStatus: (workspaceId, address, status, reason) =>
      instances.setStatus({ workspaceId, ...address }, status, reason).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning(`${AgentAddress.format(address)}: cannot record status ${status}: ${e.message}`)
        ),
        Effect.asVoid
      )
  }
  return host
})
