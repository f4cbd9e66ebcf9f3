// Hostile review of the orchestrator's session-12 behaviour (issue 16), session 13. Each test failed on main
// before its fix (497d50c): real files under a temporary state root, the public API, the scripted model as
// the only fake, every timer on the TestClock.
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import type { OrchestratorError } from "effect-swarm"
import { Orchestrator } from "effect-swarm"
import { baseLayer, callOutcome, loadCalls, scopedTest } from "../orchestrator/helpers.js"

describe("the orchestrator's limits", () => {
  scopedTest(
    "calls.maxSpawned, maxPendingAsync, maxInbox and mailboxCapacity that are not positive integers are refused at start, naming the option",
    () =>
      Effect.gen(function*() {
        const bundle = yield* loadCalls
        const cases: ReadonlyArray<readonly [string, Orchestrator.Options]> = [
          ["calls.maxSpawned", { calls: { maxSpawned: Number.NaN } }],
          ["calls.maxSpawned", { calls: { maxSpawned: 0 } }],
          ["calls.maxSpawned", { calls: { maxSpawned: -1 } }],
          ["calls.maxSpawned", { calls: { maxSpawned: 1.5 } }],
          ["calls.maxPendingAsync", { calls: { maxPendingAsync: Number.NaN } }],
          ["calls.maxInbox", { calls: { maxInbox: -5 } }],
          ["calls.defaultTimeout", { calls: { defaultTimeout: 0 } }],
          ["mailboxCapacity", { mailboxCapacity: 0 }]
        ]
        for (const [option, options] of cases) {
          const started = yield* Effect.either(Effect.scoped(Orchestrator.makeInMemory(bundle, "team", options)))
          // Before: it started; NaN meant no limit at all, 1.5 meant 2, 0 and -1 refused every spawn, in silence.
          assert.isTrue(started._tag === "Left", `${option}: ${JSON.stringify(options)} started`)
          const refused = (started as { readonly left: OrchestratorError.StartError }).left
          assert.strictEqual(refused._tag, "InvalidOption", `${option}: ${refused.message}`)
          assert.include(refused.message, option)
          assert.include(refused.message, "positive")
        }
        // Valid limits start, and the limit holds.
        const spawns = yield* Effect.scoped(Effect.gen(function*() {
          const o = yield* Orchestrator.makeInMemory(bundle, "team", { calls: { maxSpawned: 2 } })
          const lead = o.agentsApi!.forInstance({ workspaceId: o.workspaceId, agentName: "lead", instanceKey: "t1" })
          const outcomes: Array<string> = []
          for (let i = 0; i < 3; i++) outcomes.push(yield* callOutcome(lead.spawn({ target: "worker" })))
          return outcomes
        }))
        assert.deepStrictEqual(spawns, ["succeeded", "succeeded", "AGENT_SPAWN_LIMIT"])
      }).pipe(Effect.provide(baseLayer))
  )
})
