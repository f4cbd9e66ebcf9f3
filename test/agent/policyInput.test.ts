/**
 * A budget policy given in code is checked when the instance opens: a value no turn can run under is a
 * PolicyError naming the field, never dropped (a `maxToolCalls: 0` read as "no limit") and never a turn
 * that runs anyway (`toolConcurrency: 0`, `maxStepsPerTurn: NaN`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { AgentError, Policy } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

const script = [{ toolCalls: [{ name: "w__work", id: "c1", arguments: {} }] }, { text: "ok" }]
const tools = [{ item: { name: "w__work" }, handler: () => Effect.succeed("done") }]

const refused = (policy: Policy.Policy) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(TestAgent.make({ tools, policy, script }))
    assert.ok(error instanceof AgentError.PolicyError, `expected PolicyError, got ${String(error)}`)
    return error
  })

describe("a budget policy given in code", () => {
  it.scoped("Policy.resolve keeps maxToolCalls: 0 and the instance refuses it (it was read as no limit)", () =>
    Effect.gen(function*() {
      const policy = Policy.resolve({ maxToolCalls: 0 })
      assert.strictEqual(policy.maxToolCalls, 0)
      const error = yield* refused(policy)
      assert.strictEqual(error.field, "maxToolCalls")
      assert.match(
        error.message,
        /policy\.maxToolCalls must be a positive integer, got 0\. .*leave it out for no limit/
      )
    }))

  it.scoped("toolConcurrency 0, maxStepsPerTurn NaN or 2.5, maxTokens -1 are refused by field (they ran turns)", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Policy.Policy]> = [
        ["toolConcurrency", { ...Policy.defaults, toolConcurrency: 0 }],
        ["maxStepsPerTurn", { ...Policy.defaults, maxStepsPerTurn: Number.NaN }],
        ["maxStepsPerTurn", { ...Policy.defaults, maxStepsPerTurn: 2.5 }],
        ["maxTokens", { ...Policy.defaults, maxTokens: -1 }],
        ["maxToolCalls", Policy.resolve({}, { maxToolCalls: "3" })]
      ]
      for (const [field, policy] of cases) {
        const error = yield* refused(policy)
        assert.strictEqual(error.field, field, JSON.stringify(policy))
      }
    }))

  it.scoped("a wall time that is not a positive duration is refused, in code and through resolve", () =>
    Effect.gen(function*() {
      for (
        const policy of [
          { ...Policy.defaults, maxWallTime: Duration.zero },
          Policy.resolve({ maxWallTime: "soon" }),
          Policy.resolve({ maxWallTime: -5 }),
          Policy.resolve({ maxWallTime: "0 seconds" })
        ]
      ) {
        const error = yield* refused(policy)
        assert.strictEqual(error.field, "maxWallTime")
        assert.match(error.message, /must be a positive duration/)
      }
    }))

  it.scoped("valid policies still open and run: resolve's layers override each other field by field", () =>
    Effect.gen(function*() {
      const policy = Policy.resolve({ maxToolCalls: 5, maxWallTime: "30s" }, { maxToolCalls: 1 })
      assert.strictEqual(policy.maxToolCalls, 1)
      assert.ok(policy.maxWallTime !== undefined && Duration.toMillis(policy.maxWallTime) === 30_000)
      const agent = yield* TestAgent.make({ tools, policy, script })
      const result = yield* agent.run("go")
      yield* TestAgent.assertFinish(result, "text_response")
      assert.deepStrictEqual(yield* Effect.exit(Policy.check(policy)).pipe(Effect.map((e) => e._tag)), "Success")
    }))
})
