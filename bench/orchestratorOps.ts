/**
 * Effect operations per in-process round trip (issue 16): deterministic where the machine's times are not.
 * A swarm built under an op-counting supervisor (its workers inherit it: `FiberMap.runtime` forks them from
 * the building fiber) runs `lead@o -> worker@o` requests; a bare `Turn.run` of the same callee shape runs
 * under the same supervisor. Framework operations = round trip - bare turn (both truncate their log).
 */
import type * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as AgentInstance from "../src/agent/AgentInstance.js"
import * as Loop from "../src/agent/internal/loop.js"
import * as Turn from "../src/agent/Turn.js"
import * as MessageEvent from "../src/conversation/MessageEvent.js"
import type * as EventBus from "../src/event/EventBus.js"
import type * as Model from "../src/model/Model.js"
import * as AgentsTool from "../src/orchestrator/AgentsTool.js"
import * as Orchestrator from "../src/orchestrator/Orchestrator.js"
import type * as Middleware from "../src/pipeline/Middleware.js"
import type * as Bundle from "../src/resource/Bundle.js"

/** Counts every Effect operation the fiber runtime evaluates (with op supervision on). */
class OpCounter extends Supervisor.AbstractSupervisor<void> {
  ops = 0
  value = Effect.void
  override onEffect(): void {
    this.ops++
  }
}

const truncate = (instance: AgentInstance.AgentInstance) => Loop.appendAll(instance, [MessageEvent.truncate])

/** Operations per bare turn and per round trip (mean of `n` each, after a warm-up). */
export const roundTripOps = async (
  runtime: ManagedRuntime.ManagedRuntime<EventBus.EventBus | NodeContext.NodeContext, never>,
  bundle: Bundle.Bundle,
  model: Model.Service,
  n = 200
) => {
  const counter = new OpCounter()
  const counted = <A, E, R>(e: Effect.Effect<A, E, R>) =>
    Effect.supervised(e, counter).pipe(
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    )
  const scope = await runtime.runPromise(Scope.make())
  try {
    const bare = await runtime.runPromise(
      AgentInstance.makeInMemory({ ref: { workspaceId: "bench", agentName: "worker", instanceKey: "ops" }, model })
        .pipe(Scope.extend(scope))
    )
    const opened = new Map<string, AgentInstance.AgentInstance>()
    const lead: Middleware.AgentsApi = await runtime.runPromise(
      counted(Effect.gen(function*() {
        const calls = yield* AgentsTool.wire()
        const orchestrator = yield* Orchestrator.makeInMemory(bundle, "bench", {
          models: { lead: model, worker: model },
          agents: calls.agents,
          setup: (instance, context) =>
            Effect.zipRight(
              calls.setup(instance, context),
              Effect.sync(() => void opened.set(instance.label, instance))
            )
        })
        yield* orchestrator.request("lead@o", "open")
        return calls.api.forInstance({ workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "o" })
      })).pipe(Scope.extend(scope))
    )
    const request = lead.request({ target: "worker", input: "ping" })
    await runtime.runPromise(counted(request))
    const worker = opened.get("worker@o")!
    const bareTurn = counted(Effect.tap(Turn.run(bare, "ping"), () => truncate(bare)))
    const roundTrip = counted(Effect.tap(request, () => truncate(worker)))
    for (let i = 0; i < 50; i++) {
      await runtime.runPromise(bareTurn)
      await runtime.runPromise(roundTrip)
    }
    counter.ops = 0
    for (let i = 0; i < n; i++) await runtime.runPromise(bareTurn)
    const bareOps = counter.ops / n
    counter.ops = 0
    for (let i = 0; i < n; i++) await runtime.runPromise(roundTrip)
    const roundTripOps = counter.ops / n
    return { bareOps, roundTripOps, frameworkOps: roundTripOps - bareOps }
  } finally {
    await runtime.runPromise(Scope.close(scope, Exit.void))
  }
}
