// An in-memory instance (no state root) that truncates its context keeps what it must, however many turns it
// runs: its conversation is folded into its base as the durable store compacts into its snapshot, and the
// ended turns the fold dropped leave its loop log and its records (issue 16: before, every message, event
// and record of every turn stayed in memory). Counts, not bytes or times; the model is the only fake.
import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import { AgentInstance, Conversation, MessageEvent } from "effect-swarm"
import { foldAfter } from "../../src/agent/internal/write.js"
import { baseLayer, echoModel, inMemory, scopedTest } from "./helpers.js"

/** An in-memory orchestrator whose alpha truncates its conversation at the end of every turn. */
const truncating = Effect.gen(function*() {
  const opened: Array<AgentInstance.AgentInstance> = []
  const orchestrator = yield* inMemory({ alpha: echoModel().service, beta: echoModel().service }, {
    setup: (instance) =>
      Effect.zipRight(
        Effect.sync(() => opened.push(instance)),
        instance.pipeline.register("turn", (ctx, next) =>
          Effect.tap(next, () => Effect.orDie(ctx.conversation.emit(MessageEvent.truncate))))
      )
  })
  return { orchestrator, opened }
})

/** What the instance keeps in memory: events past its base, current messages, ended turns, loop records. */
const retained = (instance: AgentInstance.AgentInstance) =>
  Effect.gen(function*() {
    const c = yield* AgentInstance.conversation(instance)
    return {
      events: Conversation.eventCount(c),
      messages: c.messages.length,
      ended: instance.state.log.ended.size,
      records: (yield* instance.state.storage.records).length
    }
  })

describe("in-memory instances stay bounded", () => {
  scopedTest(
    "300 turns that truncate keep at most the fold threshold of events, turns and records",
    () =>
      Effect.gen(function*() {
        const { opened, orchestrator } = yield* truncating
        const peaks = { events: 0, ended: 0, records: 0 }
        for (let i = 0; i < 300; i++) {
          const result = yield* orchestrator.request("alpha@m", `ping ${i}`)
          assert.strictEqual(result.finishReason, "text_response")
          const r = yield* retained(opened[0]!)
          peaks.events = Math.max(peaks.events, r.events)
          peaks.ended = Math.max(peaks.ended, r.ended)
          peaks.records = Math.max(peaks.records, r.records)
        }
        assert.strictEqual(opened.length, 1)
        // Each turn appends 3 events (input, reply, truncate) and writes 2 records (started, completed): 900
        // events and 600 records over the run when nothing is folded.
        assert.isAtMost(peaks.events, foldAfter + 3)
        assert.isAtMost(peaks.ended, foldAfter)
        assert.isAtMost(peaks.records, 2 * foldAfter)
        const last = yield* retained(opened[0]!)
        assert.strictEqual(last.messages, 0)
        // Still a working instance: its next turn sees only its own input.
        const next = yield* orchestrator.request("alpha@m", "after")
        assert.strictEqual(next.finishReason, "text_response")
      }).pipe(Effect.provide(baseLayer)),
    // 300 turns: a few seconds quietly, tens of seconds on the loaded shared machine.
    120_000
  )

  scopedTest(
    "a fork at a seq folded away is refused as for a compacted log; the current seq still forks",
    () =>
      Effect.gen(function*() {
        const { opened, orchestrator } = yield* truncating
        for (let i = 0; i < 40; i++) yield* orchestrator.request("alpha@f", `ping ${i}`)
        const instance = opened[0]!
        const c = yield* AgentInstance.conversation(instance)
        assert.isAbove(c.baseSeq, 0, "the conversation was folded")
        const refused = yield* Effect.flip(AgentInstance.fork(instance, 1, "early"))
        assert.strictEqual(refused._tag, "ForkError")
        assert.include(refused.message, "folded into the snapshot")
        const forked = yield* AgentInstance.fork(instance, c.lastSeq, "now")
        assert.strictEqual((yield* AgentInstance.conversation(forked)).messages.length, 0)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest("a conversation that only grows is never folded (nothing is dead)", () =>
    Effect.gen(function*() {
      const opened: Array<AgentInstance.AgentInstance> = []
      const orchestrator = yield* inMemory({ alpha: echoModel().service, beta: echoModel().service }, {
        setup: (instance) => Effect.sync(() => void opened.push(instance))
      })
      for (let i = 0; i < 50; i++) yield* orchestrator.request("alpha@g", `ping ${i}`)
      const c = yield* AgentInstance.conversation(opened[0]!)
      assert.deepStrictEqual([c.baseSeq, c.messages.length, Conversation.eventCount(c)], [0, 100, 100])
      assert.strictEqual((yield* AgentInstance.history(opened[0]!)).length, 50)
    }).pipe(Effect.provide(baseLayer)))
})
