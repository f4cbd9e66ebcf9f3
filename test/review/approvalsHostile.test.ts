// Review of durable approvals (issue 15) with decisions that do not match a pending call: unknown ids,
// the same call decided twice (one after the other, and at the same time), a call decided both ways.
// Public API only (TestAgent, durable on a temporary state root); the scripted model is the only fake.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { AgentInstance } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { tempRoot } from "../workspace/helpers.js"

/** A tool that needs approval and records every run. */
const gatedTool = (runs: Array<string>): TestAgent.TestTool => ({
  item: { name: "ops__deploy" },
  handler: (args) => Effect.sync(() => void runs.push(String(args.target))).pipe(Effect.as("deployed")),
  needsApproval: true
})

const tagOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isSuccess(exit) ? "ok" : exit.cause._tag === "Fail" ? exit.cause.error._tag : `died: ${String(exit.cause)}`

describe("review: approvals that match no pending call", () => {
  it.scoped(
    "unknown ids are ApprovalNotPending listing the pending calls; a call approved twice at once runs once; a decided call cannot be decided again",
    () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const runs: Array<string> = []
        const agent = yield* TestAgent.make({
          storage: { root },
          tools: [gatedTool(runs)],
          script: [
            {
              toolCalls: [
                { name: "ops__deploy", id: "c1", arguments: { target: "staging" } },
                { name: "ops__deploy", id: "c2", arguments: { target: "prod" } }
              ]
            },
            { text: "done" }
          ]
        })
        const paused = yield* agent.run("deploy both")
        yield* TestAgent.assertFinish(paused, "awaiting_approval")

        for (const id of ["nope", "", "c1 ", "C1"]) {
          const error = yield* Effect.flip(AgentInstance.approve(agent.instance, id))
          assert.strictEqual(error._tag, "ApprovalNotPending", JSON.stringify(id))
          assert.deepStrictEqual((error as { readonly pending?: ReadonlyArray<string> }).pending, ["c1", "c2"])
        }
        assert.strictEqual(
          (yield* Effect.flip(AgentInstance.deny(agent.instance, "nope", "no")))._tag,
          "ApprovalNotPending"
        )

        // c1 approved twice at the same time: one decision is taken, the other is refused.
        const a = yield* Effect.fork(Effect.exit(AgentInstance.approve(agent.instance, "c1")))
        const b = yield* Effect.fork(Effect.exit(AgentInstance.approve(agent.instance, "c1")))
        const outcomes = [tagOf(yield* Fiber.join(a)), tagOf(yield* Fiber.join(b))].sort()
        assert.deepStrictEqual(outcomes, ["ApprovalNotPending", "ok"])
        assert.deepStrictEqual((yield* AgentInstance.pendingApprovals(agent.instance)).map((p) => p.toolCallId), ["c2"])

        // c2 approved and denied at the same time: exactly one decision wins, the turn ends once.
        const yes = yield* Effect.fork(Effect.exit(AgentInstance.approve(agent.instance, "c2")))
        const no = yield* Effect.fork(Effect.exit(AgentInstance.deny(agent.instance, "c2", "not today")))
        const decided = [tagOf(yield* Fiber.join(yes)), tagOf(yield* Fiber.join(no))].sort()
        assert.deepStrictEqual(decided, ["ApprovalNotPending", "ok"])
        assert.deepStrictEqual(yield* AgentInstance.pendingApprovals(agent.instance), [])
        assert.strictEqual((yield* Effect.flip(AgentInstance.approve(agent.instance, "c1")))._tag, "ApprovalNotPending")

        // Each call ran at most once and has exactly one result; the turn ended with the model's reply.
        assert.include(runs, "staging")
        assert.isAtMost(runs.filter((r) => r === "prod").length, 1)
        const lines = yield* agent.transcript
        assert.strictEqual(lines.filter((l) => l.startsWith("tool ops__deploy")).length, 2)
        assert.strictEqual(lines.at(-1), "assistant: done")
      }).pipe(Effect.provide(NodeContext.layer)),
    30_000
  )
})
