// Second hostile review of agents__spawn (issue 16, session 11): what `list` reports. Public API only: a
// durable orchestrator of the `team` fixture on real files, the scripted model (the only fake), TestClock.
// The finding (list forgot spawns after a restart, and a key spawned before said spawned: true again) is
// fixed: the records are in `<caller>/inbox/spawned.jsonl` (test/orchestrator/spawnRecords.test.ts has the rest).
import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { Orchestrator } from "effect-swarm"
import { closeOnClock, durableContext, loadCalls, scopedTest } from "../orchestrator/helpers.js"

describe("review s11: spawn and list", () => {
  scopedTest(
    "list keeps the spawns across a restart on the same root, and a key spawned before says spawned: false",
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
        yield* closeOnClock(scope, Exit.void)
        const second = yield* Orchestrator.make(bundle, "team").pipe(Effect.provide(context))
        const lead = second.agentsApi!.forInstance(ref(second))
        // Before the fix: [] (the records were in memory).
        assert.deepStrictEqual((yield* lead.list()).map((r) => r.instanceKey), ["w1"])
        const again = yield* lead.spawn({ target: "worker", instanceKey: "w1" })
        // Before the fix: true (decided by the restarted orchestrator's instances alone, and it held none at w1).
        assert.isFalse(again.spawned)
        assert.deepStrictEqual((yield* lead.list()).map((r) => r.instanceKey), ["w1"])
      }),
    30_000
  )
})
