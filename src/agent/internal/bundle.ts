/**
 * What `AgentInstance.fromBundle` reads from a loaded bundle for one Agent: the Swarm whose policy applies,
 * the model (from the Agent's Model resource), the system prompt, the policy merged Swarm -> Agent ->
 * overrides, the tool settings, the runtime info, and how to register its tools into an instance's own
 * registry (in-process through ToolModule, `spec.runtime` ones through SandboxedTools + ToolRuntime).
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ContextPolicy from "../../context/ContextPolicy.js"
import * as Extension from "../../extension/Extension.js"
import * as Model from "../../model/Model.js"
import type { AgentsApi, RuntimeInfo } from "../../pipeline/Middleware.js"
import type * as Pipeline from "../../pipeline/Pipeline.js"
import * as Bundle from "../../resource/Bundle.js"
import type * as Resource from "../../resource/Resource.js"
import * as SandboxedTools from "../../sandbox/SandboxedTools.js"
import { ToolRuntime } from "../../sandbox/ToolRuntime.js"
import type * as ToolExecutor from "../../tool/ToolExecutor.js"
import * as ToolModule from "../../tool/ToolModule.js"
import { ToolRegistry } from "../../tool/ToolRegistry.js"
import { ToolSources } from "../../tool/ToolSource.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import { AgentConfigError } from "../AgentError.js"
import * as Policy from "../Policy.js"
import type { AgentInstance, ApprovalPredicate, ToolSettings } from "./instance.js"
import * as Open from "./open.js"
import type { Reopen } from "./open.js"

type AgentEntry = Bundle.Entry<Resource.AgentResource>
type SwarmEntry = Bundle.Entry<Resource.SwarmResource>

export interface Resolve {
  readonly agent: string | AgentEntry
  readonly swarm?: string | SwarmEntry | undefined
  readonly workspaceId?: string | undefined
  readonly model?: Model.Service | undefined
  readonly modelOptions?: Model.LayerOptions | undefined
  readonly policy?: Partial<Policy.Policy> | undefined
  readonly skipTools?: ReadonlyArray<string> | undefined
}

const configError = (bundle: Bundle.Bundle, agent: string, field: string, detail: string, suggestion: string) =>
  new AgentConfigError({ agent, file: bundle.root, field, detail, suggestion })

const agentNames = (bundle: Bundle.Bundle) =>
  Bundle.entriesOf(bundle, "Agent").map((a) => a.resource.metadata.name).join(", ") || "(none)"

export const findAgent = (bundle: Bundle.Bundle, agent: string | AgentEntry) => {
  if (typeof agent !== "string") return Effect.succeed(agent)
  const entry = Bundle.find(bundle, "Agent", agent)
  return entry === undefined
    ? Effect.fail(
      configError(
        bundle,
        agent,
        "options.agent",
        "the bundle has no Agent of that name",
        `use one of ${agentNames(bundle)}`
      )
    )
    : Effect.succeed(entry)
}

const listsAgent = (bundle: Bundle.Bundle, swarm: SwarmEntry, agent: AgentEntry) =>
  swarm.resource.spec.agents.some((ref) => Bundle.resolve(bundle, ref, swarm) === agent)

/**
 * The Swarm whose policy applies: the one named, else the only local Swarm listing the agent, else the
 * one `Bundle.selectSwarm` picks when it lists the agent; `undefined` when no Swarm lists it.
 */
export const findSwarm = (bundle: Bundle.Bundle, agent: AgentEntry, swarm: string | SwarmEntry | undefined) => {
  const name = agent.resource.metadata.name
  if (typeof swarm === "object") return Effect.succeed<SwarmEntry | undefined>(swarm)
  if (typeof swarm === "string") {
    const either = Bundle.selectSwarm(bundle, swarm)
    return Either.isRight(either)
      ? Effect.succeed<SwarmEntry | undefined>(either.right)
      : Effect.fail(configError(bundle, name, "options.swarm", either.left, "name a Swarm the bundle declares"))
  }
  const listing = Bundle.entriesOf(bundle, "Swarm").filter((s) => !s.dependency && listsAgent(bundle, s, agent))
  if (listing.length === 1) return Effect.succeed<SwarmEntry | undefined>(listing[0])
  const selected = Bundle.selectSwarm(bundle)
  return Effect.succeed<SwarmEntry | undefined>(
    Either.isRight(selected) && listing.includes(selected.right) ? selected.right : undefined
  )
}

/** The Agent's model: `options.model`, else the service of its Model resource. */
export const modelOf = (bundle: Bundle.Bundle, agent: AgentEntry, options: Resolve) => {
  if (options.model !== undefined) return Effect.succeed(options.model)
  const ref = agent.resource.spec.modelConfig.modelRef
  const entry = Bundle.resolve(bundle, ref, agent)
  if (entry === undefined || entry.resource.kind !== "Model") {
    return Effect.fail(configError(
      bundle,
      agent.resource.metadata.name,
      "spec.modelConfig.modelRef",
      `no Model named ${ref.name} is reachable from the Agent`,
      "declare the Model in the bundle (Bundle.load reports unresolved references), or pass options.model"
    ))
  }
  const script = (entry as Bundle.Entry<Resource.ModelResource>).script
  return Model.make(entry.resource as Resource.ModelResource, {
    ...options.modelOptions,
    ...(options.modelOptions?.script === undefined && script !== undefined ? { script } : {})
  })
}

export const toolSettingsOf = (
  catalog: ReadonlyArray<{
    readonly name: string
    readonly export: { readonly idempotent?: boolean | undefined; readonly needsApproval?: boolean | undefined }
  }>
): Record<string, ToolSettings> => {
  const out: Record<string, ToolSettings> = {}
  for (const t of catalog) out[t.name] = { idempotent: t.export.idempotent, needsApproval: t.export.needsApproval }
  return out
}

/** The context window policy: the Agent's `spec.context` over the Swarm's, the window from the Model's options. */
const contextOf = (bundle: Bundle.Bundle, agent: AgentEntry, swarm: SwarmEntry | undefined) => {
  const model = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
  const resolved = ContextPolicy.resolve({
    agent: agent.resource.metadata.name,
    swarmSpec: swarm?.resource.spec.context,
    agentSpec: agent.resource.spec.context,
    model: model?.resource.kind === "Model" ? (model.resource as Resource.ModelResource).spec : undefined,
    maxOutputTokens: agent.resource.spec.modelConfig.params?.maxTokens
  })
  return Either.isRight(resolved) ? Effect.succeed(resolved.right) : Effect.fail(
    configError(
      bundle,
      agent.resource.metadata.name,
      `spec.context.${resolved.left.field}`,
      resolved.left.detail,
      resolved.left.suggestion
    )
  )
}

/** Everything the instance options need, read from the bundle. */
export const resolve = (bundle: Bundle.Bundle, options: Resolve) =>
  Effect.gen(function*() {
    const agent = yield* findAgent(bundle, options.agent)
    const name = agent.resource.metadata.name
    const swarm = yield* findSwarm(bundle, agent, options.swarm)
    const model = yield* modelOf(bundle, agent, options)
    const system = yield* Bundle.systemPrompt(agent)
    const policy = Policy.resolve(swarm?.resource.spec.policy, agent.resource.spec.policy, options.policy)
    const context = yield* contextOf(bundle, agent, swarm)
    const workspaceId = options.workspaceId ??
      WorkspacePaths.workspaceId(swarm?.resource.spec.instanceKey ?? swarm?.resource.metadata.name ?? "default")
    const catalog = Bundle.toolCatalog(bundle, agent)
    const runtime: RuntimeInfo = {
      agent: { name, bundleRoot: bundle.root, prompt: { system } },
      ...(swarm === undefined ? {} : {
        swarm: {
          swarmName: swarm.resource.metadata.name,
          entryAgent: swarm.resource.spec.entryAgent.name,
          selfAgent: name,
          availableAgents: swarm.resource.spec.agents.map((a) => a.name),
          callableAgents: swarm.resource.spec.agents.map((a) => a.name).filter((a) => a !== name)
        }
      })
    }
    return {
      agent,
      swarm,
      model,
      system,
      policy,
      context,
      workspaceId,
      catalog,
      runtime,
      tools: toolSettingsOf(catalog)
    }
  })

/**
 * Registers the Agent's tools into the instance's own registry, each Tool resource once: in-process
 * (ToolModule) or, with `spec.runtime`, sandboxed (SandboxedTools, on the ToolRuntime in context).
 */
export const registerTools = (
  bundle: Bundle.Bundle,
  agent: AgentEntry,
  instance: AgentInstance,
  skip: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.serviceOption(ToolRuntime)
    const tools = new Set(Bundle.toolCatalog(bundle, agent).map((t) => t.tool))
    for (const tool of tools) {
      const resource = tool.resource
      if (skip.includes(resource.metadata.name)) continue
      if (resource.spec.runtime === undefined) {
        const loaded = yield* ToolModule.load(ToolModule.fromResource(resource, tool.rootDir, tool))
        for (const t of loaded.tools) yield* instance.tools.register(t.item, t.handler, t.options)
        continue
      }
      if (Option.isNone(runtime)) {
        return yield* configError(
          bundle,
          agent.resource.metadata.name,
          "spec.tools",
          `Tool/${resource.metadata.name} runs sandboxed (spec.runtime.type ${resource.spec.runtime.type}) and ` +
            "no ToolRuntime is provided",
          "provide ToolRuntime.layer (with a RuntimeConfig layer) to AgentInstance.fromBundle, or list the tool in " +
            "options.skipTools"
        )
      }
      yield* SandboxedTools.register(resource, tool.rootDir, tool).pipe(
        Effect.provideService(ToolRuntime, runtime.value),
        Effect.provideService(ToolRegistry, instance.tools)
      )
    }
  })

/**
 * Attaches the Agent's tools of other kinds (`McpServer/<name>`) from the `ToolSources` in context; an
 * Agent that names such a tool without a source for its kind is a configuration error, never silently
 * short of tools.
 */
const attachSources = (bundle: Bundle.Bundle, agent: AgentEntry, instance: AgentInstance) =>
  Effect.gen(function*() {
    const name = agent.resource.metadata.name
    const kinds = new Set((agent.resource.spec.tools ?? []).map((ref) => ref.kind).filter((k) => k !== "Tool"))
    if (kinds.size === 0) return
    const sources = yield* Effect.serviceOption(ToolSources)
    const missing = [...kinds].filter((k) => Option.isNone(sources) || !sources.value.kinds.includes(k))
    if (missing.length > 0) {
      return yield* configError(
        bundle,
        name,
        "spec.tools",
        `the agent uses ${missing.join(", ")} tools and no tool source for them is provided`,
        "provide McpServers.layer (effect-swarm/mcp/McpServers) to AgentInstance.fromBundle"
      )
    }
    if (Option.isSome(sources)) {
      yield* sources.value.attach(bundle, agent, instance.tools).pipe(
        Effect.mapError((e) => configError(bundle, name, "spec.tools", e.message, e.suggestion ?? "see the cause"))
      )
    }
  })

/** Opens a durable instance of the Agent as the bundle describes it (see `AgentInstance.fromBundle`). */
export const open = (
  bundle: Bundle.Bundle,
  options: Resolve & OpenOptions,
  reopen: (resolved: Resolved) => Reopen
) =>
  Effect.gen(function*() {
    const resolved = yield* resolve(bundle, options)
    const ref: InstanceRef = {
      workspaceId: resolved.workspaceId,
      agentName: resolved.agent.resource.metadata.name,
      instanceKey: options.instanceKey
    }
    const instance = yield* Open.durable({
      ref,
      model: resolved.model,
      system: resolved.system,
      params: resolved.agent.resource.spec.modelConfig.params,
      policy: resolved.policy,
      context: resolved.context,
      tools: resolved.tools,
      needsApproval: options.needsApproval,
      executor: options.executor,
      pipeline: options.pipeline,
      runtime: resolved.runtime,
      agents: options.agents
    }, reopen(resolved))
    yield* registerTools(bundle, resolved.agent, instance, options.skipTools ?? [])
    yield* attachSources(bundle, resolved.agent, instance)
    // After the tools, so an extension's register sees the Agent's catalog.
    if (options.extensions !== false) {
      const extensions = yield* Extension.definitions(bundle, resolved.agent)
      yield* Open.loadExtensions(instance, { extensions, registerTimeout: options.registerTimeout })
    }
    return instance
  })

/** The options of `fromBundle` that are not read from the bundle. */
export interface OpenOptions {
  readonly instanceKey: string
  readonly extensions?: boolean | undefined
  readonly registerTimeout?: Duration.DurationInput | undefined
  readonly needsApproval?: ApprovalPredicate | undefined
  readonly executor?: ToolExecutor.Options | undefined
  readonly pipeline?: Pipeline.Options | undefined
  readonly agents?: AgentsApi | undefined
}

export type Resolved = Effect.Effect.Success<ReturnType<typeof resolve>>
