import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Ref } from "effect"
import { AgentInstance, Instances, Scripted, Turn } from "effect-swarm"
import type { Message, Model } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { tempRoot } from "../workspace/helpers.js"

/** A model that records every request and answers from a script. */
const recording = (steps: ReadonlyArray<Scripted.ScriptStep>) =>
  Effect.gen(function*() {
    const inner = yield* Scripted.make(steps)
    const requests = yield* Ref.make<ReadonlyArray<Model.Request>>([])
    const model: Model.Service = {
      ...inner,
      generate: (request) => Effect.zipRight(Ref.update(requests, (all) => [...all, request]), inner.generate(request))
    }
    return { model, requests }
  })

describe("Turn.abandon", () => {
  it.scoped("closes an interrupted turn: its calls are answered E_TOOL_INTERRUPTED with the reason, the next run starts fresh", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const runs = yield* Ref.make(0)
      const started = yield* Deferred.make<void>()
      // Idempotent, so a resume WOULD run it again: abandon must not.
      const slow = (hang: boolean): TestAgent.TestTool => ({
        item: { name: "db__scan" },
        idempotent: true,
        handler: () =>
          Effect.gen(function*() {
            yield* Ref.update(runs, (n) => n + 1)
            yield* Deferred.succeed(started, undefined)
            if (hang) return yield* Effect.never
            return "scanned"
          })
      })
      yield* Effect.scoped(Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          storage: { root },
          tools: [slow(true)],
          script: [{ toolCalls: [{ name: "db__scan", id: "s1" }, { name: "db__scan", id: "s2" }] }]
        })
        const fiber = yield* Effect.fork(agent.run("scan everything"))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
      }))
      // Both calls started (they run concurrently) and neither finished.
      assert.strictEqual(yield* Ref.get(runs), 2)
      // The instance reopened from its files (another process): the turn is still open.
      const { model, requests } = yield* recording([{ text: "fresh answer" }])
      const agent = yield* TestAgent.make({ storage: { root }, tools: [slow(false)], model })
      const abandoned = yield* Turn.abandon(agent.instance, "the caller's request timed out")
      assert.isTrue(Option.isSome(abandoned))
      const closed = Option.getOrThrow(abandoned)
      assert.deepStrictEqual([...closed.toolCallIds].sort(), ["s1", "s2"])
      assert.strictEqual(closed.reason, "the caller's request timed out")

      const record = (yield* agent.records).find((r) => r.type === "turn.abandoned")
      assert.isDefined(record)
      assert.strictEqual(record!.turnId, closed.turnId)
      assert.strictEqual(record!.reason, "the caller's request timed out")
      const tools = (yield* agent.transcript).filter((l) => l.startsWith("tool db__scan"))
      assert.strictEqual(tools.length, 2)
      for (const line of tools) {
        assert.include(line, "E_TOOL_INTERRUPTED")
        assert.include(line, "the caller's request timed out")
      }
      const [turn] = yield* AgentInstance.history(agent.instance)
      assert.strictEqual(turn!.finishReason, "interrupted")
      const instances = yield* Instances.make({ root }).pipe(Effect.provide(NodeFileSystem.layer))
      const listing = yield* instances.list(TestAgent.defaultRef.workspaceId)
      assert.deepStrictEqual(listing.instances.map((m) => m.status), ["idle"])

      // The next run is a new turn: the old calls are not run again, the model is asked once.
      const result = yield* agent.run("try again")
      yield* TestAgent.assertFinish(result, "text_response")
      assert.notStrictEqual(result.turnId, closed.turnId)
      assert.strictEqual(yield* Ref.get(runs), 2)
      const sent = yield* Ref.get(requests)
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(
        sent[0]!.messages.filter((m) => "createdAt" in m && (m as Message.Message).data.role === "tool").length,
        2
      )
      assert.isTrue(Option.isNone(yield* Turn.resume(agent.instance)))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("on a closed turn (or a fresh instance) it is a no-op that writes nothing", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ storage: "temp", script: [{ text: "done" }] })
      assert.isTrue(Option.isNone(yield* Turn.abandon(agent.instance, "nothing to do")))
      yield* agent.run("hi")
      const before = yield* agent.records
      const messages = (yield* agent.messages).length
      assert.isTrue(Option.isNone(yield* Turn.abandon(agent.instance, "nothing to do")))
      assert.deepStrictEqual(yield* agent.records, before)
      assert.strictEqual((yield* agent.messages).length, messages)
      const [turn] = yield* AgentInstance.history(agent.instance)
      assert.strictEqual(turn!.finishReason, "text_response")
    }))

  it.scoped("a turn waiting for approval: the calls stop waiting and are answered, approve is refused after", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make(0)
      const agent = yield* TestAgent.make({
        tools: [{
          item: { name: "ops__deploy" },
          needsApproval: true,
          handler: () => Effect.as(Ref.update(ran, (n) => n + 1), "deployed")
        }],
        script: [{ toolCalls: [{ name: "ops__deploy", id: "d1" }] }, { text: "ok, new topic" }]
      })
      yield* TestAgent.assertFinish(yield* agent.run("deploy"), "awaiting_approval")
      const closed = yield* Turn.abandon(agent.instance, "the user moved on")
      assert.deepStrictEqual(Option.map(closed, (a) => a.toolCallIds), Option.some(["d1"]))
      assert.deepStrictEqual(yield* AgentInstance.pendingApprovals(agent.instance), [])
      const refused = yield* Effect.flip(AgentInstance.approve(agent.instance, "d1"))
      assert.strictEqual(refused._tag, "ApprovalNotPending")
      yield* TestAgent.assertFinish(yield* agent.run("something else"), "text_response")
      assert.strictEqual(yield* Ref.get(ran), 0)
      const tool = (yield* agent.transcript).find((l) => l.startsWith("tool ops__deploy"))!
      assert.include(tool, "E_TOOL_INTERRUPTED")
      assert.include(tool, "the user moved on")
    }))
})
