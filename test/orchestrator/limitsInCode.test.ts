// Limits given in code to AgentsApi.make / AgentsTool.wire (not through Orchestrator.make, which checked them
// already): a NaN limit was no limit at all, 0 refused every call, and a default timeout that is not a
// duration ("soon") was a defect (Duration.decode throws) instead of a typed error.
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AgentsApi, AgentsTool } from "effect-swarm"

const router: AgentsApi.Router = {
  request: () => Effect.die("not called"),
  send: () => Effect.die("not called"),
  spawn: () => Effect.die("not called")
}
const policy = AgentsApi.policyOf({ swarmName: "team", entryAgent: "lead", agents: ["lead", "worker"] })

const refused: ReadonlyArray<readonly [string, Partial<AgentsApi.Options>, string]> = [
  ["maxPendingAsync", { maxPendingAsync: Number.NaN }, "NaN"],
  ["maxPendingAsync", { maxPendingAsync: 0 }, "0"],
  ["maxInbox", { maxInbox: 1.5 }, "1.5"],
  ["maxSpawned", { maxSpawned: -1 }, "-1"],
  ["defaultTimeout", { defaultTimeout: "soon" as never }, "soon"],
  ["defaultTimeout", { defaultTimeout: 0 }, "0"]
]

describe("limits given in code to AgentsApi.make and AgentsTool.wire", () => {
  for (const [option, given, shown] of refused) {
    it.scoped(`${option} ${shown}: InvalidOption naming the option and where, from both`, () =>
      Effect.gen(function*() {
        const viaMake = yield* Effect.flip(AgentsApi.make({ router, policy, ...given }))
        assert.strictEqual(viaMake._tag, "InvalidOption")
        assert.strictEqual(viaMake.option, option)
        assert.strictEqual(viaMake.given, shown)
        assert.include(viaMake.message, "AgentsApi.make")
        assert.include(viaMake.message, `option ${option} is ${shown}`)
        const viaWire = yield* Effect.flip(AgentsTool.wire(given))
        assert.strictEqual(viaWire._tag, "InvalidOption")
        assert.strictEqual(viaWire.option, option)
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  }

  it.scoped("valid limits (Infinity: none) are accepted", () =>
    Effect.gen(function*() {
      const api = yield* AgentsApi.make({
        router,
        policy,
        maxPendingAsync: Infinity,
        maxInbox: 10,
        maxSpawned: 5,
        defaultTimeout: "30 seconds"
      })
      assert.isDefined(api.forInstance)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
