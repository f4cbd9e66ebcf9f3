import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import {
  AgentInstance,
  EventBus,
  ExtensionState,
  Instances,
  Jsonl,
  MessageStore,
  Policy,
  RuntimeEventLog,
  Turn
} from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { newProbe, probedDurable, tempRoot } from "../workspace/helpers.js"

const ref = { workspaceId: "w", agentName: "a", instanceKey: "k" }

// The durable stores on a temporary root, every durable write going through a probe that can tear and fail it.
const durableStores = Effect.gen(function*() {
  const root = yield* tempRoot
  const probe = newProbe()
  const stores = Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root }),
    EventBus.layer()
  ).pipe(Layer.provide(Layer.merge(probedDurable(probe, Jsonl.DurableFile.node), NodeFileSystem.layer)))
  return { context: yield* Layer.build(stores), probe }
})

describe("review s15 (lead): a failed durable write in the middle of a turn, then the disk comes back", () => {
  for (const idempotent of [true, false]) {
    it.scoped(`the same instance goes on, and what it knows is what the log holds (idempotent: ${idempotent})`, () =>
      Effect.gen(function*() {
        const { context, probe } = yield* durableStores
        const { Scripted } = yield* Effect.promise(() => import("effect-swarm"))
        const model = yield* Scripted.make([
          { toolCalls: [{ name: "t__run", arguments: {} }] },
          { text: "after the failure" },
          { toolCalls: [{ name: "t__run", arguments: {} }] },
          { text: "second turn done" },
          { text: "third" }
        ])
        let runs = 0
        const agent = yield* AgentInstance.make({
          ref,
          model,
          policy: Policy.resolve({}),
          tools: { t__run: { idempotent } }
        })
          .pipe(Effect.provide(context))
        yield* agent.tools.register({ name: "t__run", parameters: { type: "object" } }, () =>
          Effect.sync(() => {
            runs++
            // The write that follows this call (its result, or with group commit its step) is torn, then fails.
            if (runs === 1) probe.failNextWriteAfter = 7
            return { ok: runs }
          })).pipe(Effect.orDie)
        const first = yield* Effect.exit(Turn.run(agent, "one"))
        probe.failNextWriteAfter = undefined
        const second = yield* Effect.exit(Turn.run(agent, "two"))
        const third = yield* Effect.exit(Turn.run(agent, "three"))
        const inMemory = (yield* AgentInstance.conversation(agent)).messages.map((m) => `${m.data.role}:${m.id}`)
        const onDisk = (yield* Effect.provide(
          Effect.flatMap(MessageStore.MessageStore, (s) => s.load(ref)),
          context
        )).messages.map((m) => `${m.data.role}:${m.id}`)
        // The failed turn: a typed error, one sentence per clause (the detail's own period is not doubled).
        assert.isTrue(first._tag === "Failure")
        const error = first._tag === "Failure" ? String(first.cause) : ""
        assert.include(error, "TurnStorageError")
        assert.notInclude(error, "..")
        // The disk came back: the same instance runs the next turns.
        assert.isTrue(second._tag === "Success" && second.value.finishReason === "text_response", String(second))
        assert.isTrue(third._tag === "Success" && third.value.finishReason === "text_response", String(third))
        assert.strictEqual(runs, 2)
        // The call ran, its result could not be written: the answer the next turn gives it must not tell the
        // model that it did not run (a non-idempotent tool would be called again as if nothing had happened).
        const messages = (yield* AgentInstance.conversation(agent)).messages
        const answer = messages[2]!.data
        assert.strictEqual(answer.role, "tool")
        const output = typeof answer.content === "string" ? answer.content : JSON.stringify(answer.content)
        assert.include(output, "E_TOOL_INTERRUPTED")
        assert.include(output, "may or may not have taken effect")
        assert.notInclude(output, "before it ran")
        assert.deepStrictEqual(onDisk, inMemory)
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  }

  it.scoped("the turn's end records fail to write: nothing is asked or applied twice", () =>
    Effect.gen(function*() {
      const { context, probe } = yield* durableStores
      const { Scripted } = yield* Effect.promise(() => import("effect-swarm"))
      const inner = yield* Scripted.make([{ text: "hello" }, { text: "second" }, { text: "third" }])
      let calls = 0
      const model = {
        ...inner,
        generate: (request: Parameters<typeof inner.generate>[0]) =>
          Effect.tap(inner.generate(request), () =>
            Effect.sync(() => {
              calls++
              // The write after this reply's message (the turn's end records) is torn and fails.
              if (calls === 1) {
                probe.onSync = Effect.sync(() => {
                  probe.failNextWriteAfter = 3
                  probe.onSync = undefined
                })
              }
            }))
      }
      const agent = yield* AgentInstance.make({ ref, model }).pipe(Effect.provide(context))
      const first = yield* Effect.exit(Turn.run(agent, "one"))
      probe.failNextWriteAfter = undefined
      const second = yield* Effect.exit(Turn.run(agent, "two"))
      const messages = (yield* AgentInstance.conversation(agent)).messages.map((m) =>
        `${m.data.role}:${typeof m.data.content === "string" ? m.data.content : "..."}`
      )
      const onDisk = (yield* Effect.provide(Effect.flatMap(MessageStore.MessageStore, (s) => s.load(ref)), context))
        .messages.map((m) => `${m.data.role}:${typeof m.data.content === "string" ? m.data.content : "..."}`)
      // The turn's messages were durable; its end records were not: the caller hears of the storage failure.
      assert.isTrue(first._tag === "Failure" && String(first.cause).includes("TurnStorageError"), String(first))
      // The next run neither asks the model for the ended turn again nor writes its reply twice.
      assert.isTrue(second._tag === "Success" && second.value.finishReason === "text_response", String(second))
      assert.strictEqual(calls, 2)
      const expected = ["user:one", "assistant:hello", "user:two", "assistant:second"]
      assert.deepStrictEqual(messages, expected)
      assert.deepStrictEqual(onDisk, expected)
      const turns = yield* AgentInstance.history(agent)
      assert.deepStrictEqual(turns.map((t) => [t.input, t.finishReason]), [["one", "text_response"], [
        "two",
        "text_response"
      ]])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("the input message fails to write: the turn does not start, and the input is nowhere", () =>
    Effect.gen(function*() {
      const { context, probe } = yield* durableStores
      const { Scripted } = yield* Effect.promise(() => import("effect-swarm"))
      const model = yield* Scripted.make([{ text: "answer" }])
      const agent = yield* AgentInstance.make({ ref, model }).pipe(Effect.provide(context))
      probe.failNextWriteAfter = 5
      const first = yield* Effect.exit(Turn.run(agent, "lost"))
      probe.failNextWriteAfter = undefined
      assert.isTrue(first._tag === "Failure" && String(first.cause).includes("TurnStorageError"), String(first))
      const second = yield* Turn.run(agent, "kept")
      assert.strictEqual(second.finishReason, "text_response")
      const text = (m: { readonly data: { readonly role: string; readonly content: unknown } }) =>
        `${m.data.role}:${typeof m.data.content === "string" ? m.data.content : "..."}`
      const expected = ["user:kept", "assistant:answer"]
      assert.deepStrictEqual((yield* AgentInstance.conversation(agent)).messages.map(text), expected)
      const onDisk = yield* Effect.provide(Effect.flatMap(MessageStore.MessageStore, (s) => s.load(ref)), context)
      assert.deepStrictEqual(onDisk.messages.map(text), expected)
      assert.deepStrictEqual((yield* AgentInstance.history(agent)).map((t) => t.input), ["kept"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("review s15 (lead): budget records", () => {
  it.scoped("maxWallTime's budget.exceeded gives the limit as value and the time taken as used", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        tools: [{ item: { name: "t__slow" }, handler: () => Effect.as(Effect.sleep("1 hour"), "late") }],
        policy: Policy.resolve({ maxWallTime: "30 seconds" }),
        script: [{ toolCalls: [{ name: "t__slow", id: "s1" }] }, { text: "never" }]
      })
      // A turn middleware that takes 10 s before the turn's body starts: the turn took 40 s in all.
      yield* agent.instance.pipeline.register("turn", (_ctx, next) => Effect.zipRight(Effect.sleep("10 seconds"), next))
      const fiber = yield* Effect.fork(agent.run("go"))
      yield* TestClock.adjust("41 seconds")
      yield* TestAgent.assertFinish(yield* Fiber.join(fiber), "budget_exceeded", "maxWallTime")
      const exceeded = (yield* agent.records).find((r) => r.type === "budget.exceeded")
      // It gave the elapsed time as the limit (40,000 ms for a 30 s budget).
      assert.deepStrictEqual(
        exceeded !== undefined && "value" in exceeded ? [exceeded.value, exceeded.used] : undefined,
        [30_000, 40_000]
      )
    }))
})
