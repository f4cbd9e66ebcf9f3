/**
 * A small swarm for the inter-agent call tests: scripted agents (the only fake: the LLM boundary),
 * created on first use, each with the AgentsApi wired as the orchestrator wires it (ctx.agents,
 * ToolContext.runtime, the agents tool and reply delivery), and a router that runs the callee's turn
 * with Turn.run (interrupting the wait interrupts the turn).
 */
import { Effect, FiberSet, Scope, Stream } from "effect"
import type { AgentInstance, Model, Scripted, Turn } from "effect-swarm"
import { AgentsApi, AgentsTool, Middleware, Turn as TurnM } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

export interface AgentSpec {
  readonly script?: ReadonlyArray<Scripted.ScriptStep>
  readonly model?: Model.Service
  readonly callable?: ReadonlyArray<string>
  readonly tools?: ReadonlyArray<TestAgent.TestTool>
}

export interface Kit {
  readonly api: AgentsApi.Service
  readonly agent: (name: string, key?: string) => Effect.Effect<TestAgent.TestAgent>
  readonly run: (name: string, input: string, key?: string) => Effect.Effect<Middleware.TurnResult, unknown>
  /** Every `agent@key` whose turn was started, in order. */
  readonly started: Array<string>
}

export const workspaceId = "w"

export const makeSwarm = (
  specs: Readonly<Record<string, AgentSpec>>,
  options?: {
    readonly root?: string
    readonly maxPendingAsync?: number
    readonly maxInbox?: number
    /** Models by agent name that override the spec (a restarted process gets fresh scripts). */
    readonly models?: Readonly<Record<string, Model.Service>>
  }
) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const fibers = yield* FiberSet.make()
    const instances = new Map<string, TestAgent.TestAgent>()
    const lock = yield* Effect.makeSemaphore(1)
    const started: Array<string> = []
    // The router needs the API (to wire new instances) and the API the router: tie the knot once.
    const holder: { api?: AgentsApi.Service } = {}
    const agent = (name: string, key = "main"): Effect.Effect<TestAgent.TestAgent> =>
      lock.withPermits(1)(Effect.suspend(() => {
        const id = `${name}@${key}`
        const existing = instances.get(id)
        if (existing !== undefined) return Effect.succeed(existing)
        const spec = specs[name]!
        const ref = { workspaceId, agentName: name, instanceKey: key }
        return TestAgent.make({
          ref,
          ...(options?.models?.[name] !== undefined ?
            { model: options.models[name] } :
            spec.model !== undefined ?
            { model: spec.model } :
            { script: spec.script ?? [] }),
          ...(spec.tools === undefined ? {} : { tools: spec.tools }),
          agents: holder.api!.forInstance(ref),
          storage: options?.root === undefined ? "memory" : { root: options.root }
        }).pipe(
          Effect.tap((a) => AgentsTool.attach(holder.api!, a.instance)),
          Effect.tap((a) => Effect.sync(() => instances.set(id, a))),
          Effect.orDie,
          Scope.extend(scope)
        )
      }))
    const turn = (instance: AgentInstance.AgentInstance, input: Turn.Input) =>
      Effect.suspend(() => {
        started.push(instance.label)
        return TurnM.run(instance, input)
      })
    const failed = (e: { readonly message: string }) =>
      new Middleware.AgentsApiError({ code: "AGENT_TURN_FAILED", message: e.message })
    const router: AgentsApi.Router = {
      request: (name, key, input) =>
        Effect.flatMap(agent(name, key), (a) => turn(a.instance, input)).pipe(Effect.mapError(failed)),
      send: (name, key, input) =>
        Effect.flatMap(agent(name, key), (a) => FiberSet.run(fibers, Effect.ignore(turn(a.instance, input)))).pipe(
          Effect.asVoid
        ),
      spawn: (name, key) =>
        Effect.suspend(() => {
          const had = instances.has(`${name}@${key}`)
          return Effect.as(agent(name, key), !had)
        })
    }
    const agentCallable: Record<string, ReadonlyArray<string> | undefined> = {}
    for (const [name, spec] of Object.entries(specs)) agentCallable[name] = spec.callable
    const api = yield* AgentsApi.make({
      router,
      policy: AgentsApi.policyOf({ swarmName: "team", entryAgent: "a", agents: Object.keys(specs), agentCallable }),
      ...(options?.root === undefined ? {} : { root: options.root }),
      ...(options?.maxPendingAsync === undefined ? {} : { maxPendingAsync: options.maxPendingAsync }),
      ...(options?.maxInbox === undefined ? {} : { maxInbox: options.maxInbox })
    })
    holder.api = api
    const kit: Kit = {
      api,
      agent,
      run: (name, input, key) => Effect.flatMap(agent(name, key), (a) => a.run(input)),
      started
    }
    return kit
  })

/** A model that never answers and records that its call was interrupted. */
export const hangingModel = (interrupted: { value: boolean; calls: number }): Model.Service => ({
  provider: "scripted",
  model: "hang",
  generate: () =>
    Effect.suspend(() => {
      interrupted.calls++
      return Effect.never
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => void (interrupted.value = true)))),
  stream: () => Stream.never
})
