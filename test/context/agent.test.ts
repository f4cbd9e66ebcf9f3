import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Ref, Stream } from "effect"
import type { Model } from "effect-swarm"
import {
  AgentInstance,
  ContextWindow,
  EventBus,
  Instances,
  Message,
  MessageEvent,
  MessageStore,
  RuntimeEventLog,
  Turn
} from "effect-swarm"
import { tempRoot } from "../workspace/helpers.js"
import { fromMessages, policy, prng, truth, turn, violations } from "./helpers.js"

const ref = { workspaceId: "w", agentName: "long", instanceKey: "1" }
const system = "You are a long-running agent."

/** The scripted model of a 4k-token window: answers summary calls and turns, and records each input's size. */
const scripted = Effect.gen(function*() {
  const summaries = yield* Ref.make(0)
  const inputs = yield* Ref.make<ReadonlyArray<ReadonlyArray<Message.Message>>>([])
  const reply = (text: string, tokens: number): Model.Response => ({
    message: { role: "assistant", content: text },
    text,
    toolCalls: [],
    finishReason: "stop",
    usage: { inputTokens: tokens, outputTokens: 5 },
    metadata: { provider: "scripted" }
  })
  const model: Model.Service = {
    provider: "scripted",
    model: "window-4k",
    generate: (request) =>
      Effect.gen(function*() {
        const tokens = truth(request.system ?? "") +
          request.messages.reduce((n, m) => n + truth(m), 0)
        if (request.system?.startsWith("You keep the running summary") === true) {
          return reply(`summary #${yield* Ref.updateAndGet(summaries, (n) => n + 1)}`, tokens)
        }
        yield* Ref.update(inputs, (all) => [...all, request.messages as ReadonlyArray<Message.Message>])
        return reply("ok", tokens)
      }),
    stream: () => Stream.dieMessage("not used")
  }
  return { model, summaries, inputs }
})

describe("ContextWindow in an agent", () => {
  it.scoped(
    "summarize on a durable instance: inputs fit, folds are recorded once and survive a restart, load keeps everything",
    () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const stores = yield* Layer.build(Layer.mergeAll(
          MessageStore.layer({ root }),
          RuntimeEventLog.layer({ root }),
          Instances.layer({ root }),
          EventBus.layer()
        ))
        const { inputs, model, summaries } = yield* scripted
        const context = policy({ strategy: "summarize", windowTokens: 4096 })
        // A long history written before the agent starts.
        const rand = prng(21)
        const seeded: Array<Message.Message> = []
        while (seeded.length < 2000) seeded.push(...turn(rand))
        const store = yield* MessageStore.MessageStore.pipe(Effect.provide(stores))
        yield* store.append(ref, seeded.map(MessageEvent.append)).pipe(Effect.provide(stores))

        const open = AgentInstance.make({ ref, model, system, context }).pipe(Effect.provide(stores))
        yield* Effect.scoped(Effect.gen(function*() {
          const agent = yield* open
          for (let i = 0; i < 3; i++) yield* Turn.run(agent, `question ${i}`)
        }))
        const folds = yield* Ref.get(summaries)
        assert.isAbove(folds, 0)
        const log = yield* RuntimeEventLog.RuntimeEventLog.pipe(Effect.provide(stores))
        const records = Chunk.toArray(yield* Stream.runCollect(log.read(ref)).pipe(Effect.provide(stores)))
        const recorded = records.flatMap((r) => {
          const s = ContextWindow.summaryFromRecord(r)
          return s === undefined ? [] : [s]
        })
        assert.strictEqual(recorded.length, folds)
        const started = records.filter((r) => r.type === "step.started")
        assert.isTrue(
          started.some((r) => typeof r.context === "object" && r.context !== null && "summarized" in r.context)
        )

        // A restart: the recorded folds are read back; nothing is summarised again.
        yield* Effect.scoped(Effect.gen(function*() {
          const agent = yield* open
          yield* Turn.run(agent, "after the restart")
        }))
        assert.strictEqual(yield* Ref.get(summaries), folds)
        const all = yield* Ref.get(inputs)
        for (const [i, input] of all.entries()) {
          assert.deepStrictEqual(violations(input), [], `input ${i}`)
          const tokens = truth(system) + input.reduce((n, m) => n + truth(m), 0)
          assert.isAtMost(tokens, 4096 - context.reserveTokens, `input ${i}`)
        }
        const last = all.at(-1)!
        assert.include(String(last[0]!.data.content), `summary #${folds}`)
        assert.strictEqual(last.at(-1)?.data.content, "after the restart")

        const loaded = yield* store.load(ref).pipe(Effect.provide(stores))
        assert.strictEqual(loaded.messages.length, seeded.length + 4 * 2)
        assert.deepStrictEqual(loaded.messages.slice(0, seeded.length).map((m) => m.id), seeded.map((m) => m.id))
      }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.scoped("pinned through the API and by a toolCall middleware: both stay in every later input", () =>
    Effect.gen(function*() {
      const inputs = yield* Ref.make<ReadonlyArray<ReadonlyArray<Message.Message>>>([])
      let calls = 0
      const model: Model.Service = {
        provider: "scripted",
        model: "window-2k",
        generate: (request) =>
          Effect.gen(function*() {
            yield* Ref.update(inputs, (all) => [...all, request.messages as ReadonlyArray<Message.Message>])
            const first = calls++ === 0
            return {
              message: first
                ? { role: "assistant", content: "", toolCalls: [{ id: "k1", name: "kv__get", arguments: {} }] }
                : { role: "assistant", content: "ok" },
              text: first ? "" : "ok",
              toolCalls: first ? [{ id: "k1", name: "kv__get", arguments: {} }] : [],
              finishReason: first ? "tool-calls" : "stop",
              usage: {},
              metadata: { provider: "scripted" }
            } satisfies Model.Response
          }),
        stream: () => Stream.dieMessage("not used")
      }
      const rand = prng(9)
      const seeded: Array<Message.Message> = []
      while (seeded.length < 300) seeded.push(...turn(rand))
      const agent = yield* AgentInstance.makeInMemory(
        { ref, model, system, context: policy({ strategy: "window", windowTokens: 2048, reserveTokens: 256 }) },
        fromMessages(seeded)
      ).pipe(Effect.provide(EventBus.layer()))
      yield* agent.tools.register(
        { name: "kv__get", parameters: { type: "object" } },
        () => Effect.succeed({ secret: 42 })
      )
      yield* agent.pipeline.register(
        "toolCall",
        (ctx, next) => ctx.toolName === "kv__get" ? Effect.map(next, (r) => ({ ...r, pinned: true })) : next
      )
      assert.isTrue(yield* AgentInstance.pin(agent, seeded[0]!.id))
      assert.isFalse(yield* AgentInstance.pin(agent, "no-such-message"))
      yield* Turn.run(agent, "look it up")
      for (let i = 0; i < 4; i++) yield* Turn.run(agent, `a long question ${"x".repeat(2400)} ${i}`)
      const all = yield* Ref.get(inputs)
      const last = all.at(-1)!.map((m) => m.id)
      assert.include(last, seeded[0]!.id)
      const conversation = yield* AgentInstance.conversation(agent)
      const result = conversation.messages.find((m) => m.data.toolCallId === "k1")!
      assert.strictEqual(result.metadata[ContextWindow.pinnedKey], true)
      assert.include(last, result.id)
      for (const input of all) assert.deepStrictEqual(violations(input), [])
      // The view left most of the history out.
      assert.isBelow(all.at(-1)!.length, 40)
    }))

  it.scoped("a turn whose newest input does not fit fails Turn.run with the ContextOverflow itself, and keeps it in the log", () =>
    Effect.gen(function*() {
      const { model } = yield* scripted
      const agent = yield* AgentInstance.makeInMemory(
        { ref, model, system, context: policy({ strategy: "window", windowTokens: 2048, reserveTokens: 256 }) },
        fromMessages([])
      ).pipe(Effect.provide(EventBus.layer()))
      const error = yield* Effect.flip(Turn.run(agent, `far too long ${"y".repeat(40_000)}`))
      assert.strictEqual(error._tag, "ContextOverflow")
      if (error._tag === "ContextOverflow") {
        assert.strictEqual(error.windowTokens, 2048)
        assert.isAbove(error.turnTokens, 2048)
      }
      // The input is kept: the log is never touched by the window.
      const conversation = yield* AgentInstance.conversation(agent)
      assert.include(Message.text(conversation.messages[0]!.data), "far too long")
    }))

  it.scoped("a tool pins its own result with ctx.pin(): the tool message is written pinned", () =>
    Effect.gen(function*() {
      let first = true
      const model: Model.Service = {
        provider: "scripted",
        model: "pins",
        generate: () =>
          Effect.sync(() => {
            const call = first
            first = false
            return {
              message: call ?
                { role: "assistant", content: "", toolCalls: [{ id: "p1", name: "notes__keep", arguments: {} }] } :
                { role: "assistant", content: "done" },
              text: call ? "" : "done",
              toolCalls: call ? [{ id: "p1", name: "notes__keep", arguments: {} }] : [],
              finishReason: call ? "tool-calls" : "stop",
              usage: {},
              metadata: { provider: "scripted" }
            } satisfies Model.Response
          }),
        stream: () => Stream.dieMessage("not used")
      }
      const agent = yield* AgentInstance.makeInMemory(
        { ref, model, system, context: policy({ strategy: "window", windowTokens: 2048, reserveTokens: 256 }) },
        fromMessages([])
      ).pipe(Effect.provide(EventBus.layer()))
      yield* agent.tools.register(
        { name: "notes__keep", parameters: { type: "object" } },
        (_args, ctx) =>
          Effect.sync(() => {
            ctx.pin?.()
            return { kept: true }
          })
      )
      yield* Turn.run(agent, "keep a note")
      const conversation = yield* AgentInstance.conversation(agent)
      const result = conversation.messages.find((m) => m.data.toolCallId === "p1")!
      assert.strictEqual(result.metadata[ContextWindow.pinnedKey], true)
    }))
})
