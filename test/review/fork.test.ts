// Hostile review of time travel (issue 15): AgentInstance.fork with seqs and keys that are not ones.
// Public API only (TestAgent from effect-swarm/testing), durable on a temporary state root.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { AgentInstance } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { tempRoot } from "../workspace/helpers.js"

const twoTurns = Effect.gen(function*() {
  const root = yield* tempRoot
  const agent = yield* TestAgent.make({ storage: { root }, script: [{ text: "first" }, { text: "second" }] })
  yield* agent.run("one")
  yield* agent.run("two")
  return agent
})

/** The failure's tag, or "forked agent@<key>" when fork succeeded. */
const forkOutcome = (agent: TestAgent.TestAgent, atSeq: number, key: string) =>
  Effect.map(
    Effect.exit(AgentInstance.fork(agent.instance, atSeq, key)),
    (exit) =>
      Exit.isSuccess(exit)
        ? `forked ${exit.value.label}`
        : Exit.isFailure(exit) && exit.cause._tag === "Fail"
        ? exit.cause.error._tag
        : "died"
  )

describe("review: fork refuses what is not a seq or an instance key", () => {
  it.scoped(
    "fork(atSeq) with NaN or a fractional seq is a ForkError (docs: a seq of the log, else ForkError)",
    () =>
      Effect.gen(function*() {
        const agent = yield* twoTurns
        assert.strictEqual(yield* forkOutcome(agent, Number.NaN, "at-nan"), "ForkError")
        assert.strictEqual(yield* forkOutcome(agent, 1.5, "at-frac"), "ForkError")
      }).pipe(Effect.provide(NodeContext.layer)),
    30_000
  )

  it.scoped(
    "fork into an empty instance key or one with control characters is refused (AgentAddress refuses both)",
    () =>
      Effect.gen(function*() {
        const agent = yield* twoTurns
        // Today these create instances "agent@" and "agent@a\u0000b" that no orchestrator address can name.
        assert.notInclude(yield* forkOutcome(agent, 2, ""), "forked")
        assert.notInclude(yield* forkOutcome(agent, 2, "a\u0000b"), "forked")
      }).pipe(Effect.provide(NodeContext.layer)),
    30_000
  )
})
