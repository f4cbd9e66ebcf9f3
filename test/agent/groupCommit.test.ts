import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import type { MessageEvent } from "effect-swarm"
import { MessageStore, Policy } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"

/** The conversation on disk, read by a store of its own (loading needs no writer lock). */
const onDisk = (root: string) =>
  Effect.flatMap(MessageStore.MessageStore, (store) => store.load(TestAgent.defaultRef)).pipe(
    Effect.map((c) => c.messages.map((m) => m.data.role)),
    Effect.provide(MessageStore.layer({ root }).pipe(Layer.provide(NodeFileSystem.layer))),
    Effect.scoped
  )

/** Counts the instance's durable appends of message events (how many, and how many events each). */
const countAppends = (agent: TestAgent.TestAgent) => {
  const batches: Array<number> = []
  const storage = agent.instance.state.storage as { append: typeof agent.instance.state.storage.append }
  const append = storage.append
  storage.append = (drafts: ReadonlyArray<MessageEvent.Draft>, expectedLastSeq: number) =>
    Effect.tap(append(drafts, expectedLastSeq), () => Effect.sync(() => batches.push(drafts.length)))
  return batches
}

describe("group commit of a step whose calls are all idempotent", () => {
  it.scoped("its assistant message is written with its results in one append; other steps write it first", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const agent = yield* TestAgent.make({
        storage: "temp",
        tools: [
          {
            item: { name: "idem__get", parameters: { type: "object" } },
            idempotent: true,
            handler: () =>
              Effect.zipRight(
                Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release)),
                Effect.succeed({ value: 42 })
              )
          },
          {
            item: { name: "rec__once", parameters: { type: "object" } },
            handler: () => Effect.succeed({ ok: true })
          }
        ],
        script: [
          { toolCalls: [{ name: "idem__get", arguments: {} }] },
          { toolCalls: [{ name: "rec__once", arguments: {} }] },
          { text: "done" }
        ]
      })
      const appends = countAppends(agent)
      const turn = yield* Effect.fork(agent.run("go"))
      yield* Deferred.await(started)
      // While the idempotent tool runs, its step is in the conversation but not yet in the log: a crash
      // now would ask the model for this step again (which `idempotent` allows), never lose an answer.
      assert.deepStrictEqual((yield* agent.messages).map((m) => m.data.role), ["user", "assistant"])
      assert.deepStrictEqual(yield* onDisk(agent.root!), ["user"])
      yield* Deferred.succeed(release, undefined)
      const result = yield* Fiber.join(turn)
      yield* TestAgent.assertFinish(result, "text_response")
      assert.deepStrictEqual(yield* onDisk(agent.root!), [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant"
      ])
      // The input; the idempotent step's assistant message and result together; the other step's
      // assistant message (write-ahead, before its tool runs), then its result; the final answer.
      assert.deepStrictEqual(appends, [1, 2, 1, 1, 1])
    }))

  it.scoped("interrupted while its tool runs, the step is written as the turn stops; the next use re-runs the call", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let runs = 0
      const agent = yield* TestAgent.make({
        storage: "temp",
        tools: [{
          item: { name: "idem__get", parameters: { type: "object" } },
          idempotent: true,
          handler: () =>
            Effect.suspend(() => {
              runs++
              return runs === 1
                ? Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
                : Effect.succeed({ value: runs })
            })
        }],
        script: [{ toolCalls: [{ name: "idem__get", arguments: {} }] }, { text: "done" }, { text: "second" }]
      })
      const turn = yield* Effect.fork(agent.run("go"))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(turn)
      // An interrupted turn stays open in the log with its step, as without group commit (only a crash
      // loses the step): the next use, here or in another process, continues it.
      assert.deepStrictEqual(yield* onDisk(agent.root!), ["user", "assistant"])
      // The idempotent call runs again (the model is not asked for that step again), then the new input's turn.
      const result = yield* agent.run("again")
      assert.strictEqual(TestAgent.replyText(result), "second")
      assert.strictEqual(runs, 2)
      assert.deepStrictEqual(yield* agent.transcript, [
        "user: go",
        "assistant: [calls idem__get]",
        "tool idem__get: ok {\"value\":2}",
        "assistant: done",
        "user: again",
        "assistant: second"
      ])
      assert.deepStrictEqual(yield* onDisk(agent.root!), [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant"
      ])
    }))

  it.scoped("policy groupCommit: false writes every step ahead, idempotent tools too", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const agent = yield* TestAgent.make({
        storage: "temp",
        policy: Policy.resolve({ groupCommit: false }),
        tools: [{
          item: { name: "idem__get", parameters: { type: "object" } },
          idempotent: true,
          handler: () =>
            Effect.zipRight(
              Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release)),
              Effect.succeed({ value: 42 })
            )
        }],
        script: [{ toolCalls: [{ name: "idem__get", arguments: {} }] }, { text: "done" }]
      })
      const appends = countAppends(agent)
      const turn = yield* Effect.fork(agent.run("go"))
      yield* Deferred.await(started)
      // While the idempotent tool runs, its step is already durable: a crash now would not ask the model again.
      assert.deepStrictEqual(yield* onDisk(agent.root!), ["user", "assistant"])
      yield* Deferred.succeed(release, undefined)
      yield* TestAgent.assertFinish(yield* Fiber.join(turn), "text_response")
      // The input; the assistant message before its tool ran; its result; the final answer.
      assert.deepStrictEqual(appends, [1, 1, 1, 1])
    }))
})
