/**
 * The in-process hosts: the instance of an address is an `AgentInstance` in this process, opened durable
 * through `AgentInstance.fromBundle` (the bundle's model, prompt, tools, extensions; the workspace stores)
 * or in memory from the bundle's model and prompt (tests, benchmarks); its turns run on fibers.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as AgentInstance from "../../agent/AgentInstance.js"
import * as Policy from "../../agent/Policy.js"
import * as Turn from "../../agent/Turn.js"
import type * as EventBus from "../../event/EventBus.js"
import * as Model from "../../model/Model.js"
import type { RuntimeInfo, TurnResult } from "../../pipeline/Middleware.js"
import * as Bundle from "../../resource/Bundle.js"
import { Instances } from "../../workspace/Instances.js"
import * as LeanScope from "../../workspace/internal/leanScope.js"
import { MessageStore } from "../../workspace/MessageStore.js"
import { RuntimeEventLog } from "../../workspace/RuntimeEventLog.js"
import * as AgentAddress from "../AgentAddress.js"
import type { Hosted, RunOptions, Service, Target } from "../AgentHost.js"
import { attach } from "../AgentsTool.js"
import { AgentTurnFailed, HostCrashed } from "../OrchestratorError.js"
import * as Calls from "./calls.js"
import * as Inbox from "./inbox.js"
import * as Mailbox from "./mailbox.js"

const tagOf = (e: unknown): unknown => typeof e === "object" && e !== null && "_tag" in e ? e._tag : undefined

/**
 * A turn that crashed its instance: it died, or its storage failed (the instance reopens from its files).
 * A storage failure because another writer holds the instance (`InstanceLocked`: another orchestrator on
 * this state root) is no crash: reopening cannot cure it, so its requester gets `AgentTurnFailed` naming
 * the holder instead of a restart loop.
 */
export const isCrash = (cause: Cause.Cause<unknown>): boolean => {
  if (Cause.isInterruptedOnly(cause)) return false
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return true
  const e = failure.value
  return tagOf(e) === "TurnStorageError" && tagOf((e as { readonly cause?: unknown }).cause) !== "InstanceLocked"
}

/** The error tag and message of a failed turn's cause. */
export const describe = (cause: Cause.Cause<unknown>): { errorTag: string; detail: string } => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    const tag = typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : "Error"
    const detail = e instanceof Error ? e.message : String(e)
    return { errorTag: tag, detail }
  }
  return { errorTag: "Defect", detail: Cause.pretty(cause).split("\n")[0] ?? "the turn died" }
}

/** Runs one turn on an opened instance: a resumed envelope continues the open turn of the log first. */
export const runTurn = (
  instance: AgentInstance.AgentInstance,
  input: Mailbox.TurnInput,
  options: RunOptions
): Effect.Effect<TurnResult, unknown> => {
  const turnInput = Mailbox.turnInput(input, options.onDelta)
  return options.resume ?
    Effect.flatMap(
      Turn.resume(instance),
      Option.match({ onNone: () => Turn.run(instance, turnInput), onSome: Effect.succeed })
    ) :
    Turn.run(instance, turnInput)
}

/** Of inbox `ids`, those whose turn is in the instance's log, and the one whose turn is still open. */
export const logState = (instance: AgentInstance.AgentInstance, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const found = Inbox.inLog(yield* AgentInstance.conversation(instance), new Set(ids))
    // The last input's turn is open when the log has no end for it (running, interrupted, awaiting approval).
    const turns = yield* AgentInstance.history(instance)
    const open = found.last !== undefined && turns.at(-1)?.finishReason === undefined ? found.last : undefined
    return { started: Array.from(found.started), open }
  })

/** The agents API an instance is opened with: the target's, else the one of `calls` for this instance. */
const agentsOf = (target: Target) =>
  target.agents ?? target.calls?.forInstance({ workspaceId: target.workspaceId, ...target.address })

/** The in-process {@link Hosted} of an opened instance (after the agents tool and `target.setup`). */
const hosted = (target: Target, instance: AgentInstance.AgentInstance) =>
  Effect.gen(function*() {
    if (target.calls !== undefined) yield* attach(target.calls, instance)
    if (target.setup !== undefined) yield* target.setup(instance)
    const label = AgentAddress.format(target.address)
    const result: Hosted = {
      generation: target.generation,
      pid: undefined,
      run: (input, options) =>
        runTurn(instance, input, options).pipe(
          Effect.catchAllCause((cause): Effect.Effect<never, AgentTurnFailed | HostCrashed> => {
            if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
            const { detail, errorTag } = describe(cause)
            return isCrash(cause) ?
              Effect.fail(new HostCrashed({ address: label, generation: target.generation, detail })) :
              Effect.fail(new AgentTurnFailed({ address: label, errorTag, detail }))
          })
        ),
      exited: Effect.never,
      abandon: (reason) =>
        Turn.abandon(instance, reason).pipe(
          Effect.asVoid,
          Effect.mapError((e) => new HostCrashed({ address: label, generation: target.generation, detail: e.message }))
        ),
      inLog: (ids) => logState(instance, ids),
      // The instance's resources are released with the scope it was opened in.
      stop: () => Effect.void
    }
    return result
  })

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
  // Without the caller's Scope: an instance's resources belong to the scope its start is given.
  const context = Context.omit(Scope.Scope)(yield* Effect.context<EventBus.EventBus | FileSystem.FileSystem>())
  const host: Service = {
    kind: "inMemory",
    start: (target) =>
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
          ...(agentsOf(target) === undefined ? {} : { agents: agentsOf(target)! })
        }).pipe(Effect.mapError(failed(address)), Effect.flatMap((instance) => hosted(target, instance)))
      }).pipe(Effect.provide(context)),
    persistStatus: () => Effect.void
  }
  return host
})

/** Durable instances opened by `AgentInstance.fromBundle` on the workspace stores in context. */
export const durable = Effect.gen(function*() {
  // Without the caller's Scope: an instance's resources belong to the scope its start is given.
  const context = Context.omit(Scope.Scope)(
    yield* Effect.context<Exclude<AgentInstance.FromBundleRequirements, Scope.Scope>>()
  )
  const instances = yield* Instances
  const store = yield* MessageStore
  const eventLog = yield* RuntimeEventLog
  const host: Service = {
    kind: "inProcess",
    root: instances.root,
    start: (target) =>
      // Added first, so it runs last: once the instance is closed, its log files and locks are let go (an
      // idle release frees them; the next start reopens them).
      Effect.zipRight(
        LeanScope.addFinalizer(() => {
          const ref = { workspaceId: target.workspaceId, ...target.address }
          return Effect.zipRight(store.release(ref), eventLog.release(ref))
        }),
        AgentInstance.fromBundle(target.bundle, {
          agent: target.agent,
          instanceKey: target.address.instanceKey,
          swarm: target.swarm,
          workspaceId: target.workspaceId,
          ...(target.model === undefined ? {} : { model: target.model }),
          ...(agentsOf(target) === undefined ? {} : { agents: agentsOf(target)! })
        }).pipe(
          Effect.provide(context),
          Effect.mapError(failed(target.address)),
          Effect.flatMap((instance) => hosted(target, instance))
        )
      ),
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
