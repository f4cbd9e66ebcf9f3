// Second hostile review of agents__spawn (issue 16, session 11): what `list` reports. Public API only: a
// durable orchestrator of the `team` fixture on real files, the scripted model (the only fake), TestClock.
// The finding (list forgets spawns after a restart) is documented behaviour for now; persisting is open.
import { assert, describe } from "@effect/vitest"
import { Effect, Scope } from "effect"
import { Orchestrator } from "effect-swarm"
import { closeOnClock, durableContext, loadCalls, scopedTest } from "../orchestrator/helpers.js"

describe("review s11: spawn and list", () => {
  scopedTest(
    "list shows the spawns of this orchestrator's lifetime: empty after a restart on the same root (documented)",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-review-s11-spawn-")
        const bundle = yield* loadCalls
        const ref = (o: Orchestrator.Service) => ({ workspaceId: o.workspaceId, agentName: "lead", instanceKey: "t1" })
        const scope = yield* Scope.make()
        const first = yield* Orchestrator.make(bundle, "team").pipe(Effect.provide(context), Scope.extend(scope))
        const spawned = yield* first.agentsApi!.forInstance(ref(first)).spawn({ target: "worker", instanceKey: "w1" })
        assert.isTrue(spawned.spawned)
        assert.deepStrictEqual((yield* first.agentsApi!.forInstance(ref(first)).list()).map((r) => r.instanceKey), [
          "w1"
        ])
        yield* closeOnClock(scope, { _tag: "Success", value: undefined } as never)
        const second = yield* Orchestrator.make(bundle, "team").pipe(Effect.provide(context))
        const lead = second.agentsApi!.forInstance(ref(second))
        // Documented (docs/orchestrator.md, spawn): list shows the spawns of this orchestrator's lifetime; the
        // records are in memory. Persisting them (<caller>/inbox/spawned.jsonl) is left open (issue 16).
        assert.deepStrictEqual((yield* lead.list()).map((r) => r.instanceKey), [])
        const again = yield* lead.spawn({ target: "worker", instanceKey: "w1" })
        // `spawned` is decided by the running orchestrator's instances: the restarted one holds none at w1.
        assert.isTrue(again.spawned)
        assert.deepStrictEqual((yield* lead.list()).map((r) => r.instanceKey), ["w1"])
      }),
    30_000
  )
})
