import { assert, describe, it } from "@effect/vitest"
import { Effect, Queue, Ref } from "effect"
import type { Message, Middleware, RuntimeEvent } from "effect-swarm"
import { ContextPolicy, ContextWindow, EventBus, MessageEvent, Pipeline } from "effect-swarm"
import {
  appendAll,
  assistant,
  Live,
  policy,
  prng,
  summarizer,
  text,
  toolResult,
  truth,
  turn,
  user,
  violations
} from "./helpers.js"

const system = "You are a long-running agent. Keep going."

/**
 * Runs `body` inside one turn of a fresh pipeline with the context window registered; `step()` runs a
 * step whose core checks nothing and returns the view it was given, reporting the true input tokens.
 */
const withWindow = <A, E>(
  options: ContextWindow.Options,
  body: (tools: {
    readonly state: Middleware.ConversationState
    readonly step: () => Effect.Effect<ReadonlyArray<Message.Message>, Middleware.PipelineError>
    readonly window: ReturnType<typeof ContextWindow.middleware>
  }) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    const window = ContextWindow.middleware(options)
    yield* pipeline.register("step", window.middleware, { name: "context-window" })
    const state = yield* Ref.make<A | undefined>(undefined)
    const conversation = yield* (yield* Effect.promise(() => import("effect-swarm"))).Middleware.conversationInMemory()
    let stepIndex = 0
    yield* pipeline.runTurn(
      { agentName: "long", instanceKey: "1", turnId: "turn-1", conversation },
      (turnCtx) =>
        Effect.gen(function*() {
          const step = () =>
            Effect.gen(function*() {
              const seen = yield* Ref.make<ReadonlyArray<Message.Message>>([])
              yield* pipeline.runStep({ turn: turnCtx, stepIndex: stepIndex++, toolCatalog: [] }, (ctx) =>
                Effect.gen(function*() {
                  const view = ContextWindow.viewOf(ctx) ?? (yield* ctx.conversation.get).messages
                  yield* Ref.set(seen, view)
                  const input = truth(options.system ?? "") + view.reduce((n, m) => n + truth(m), 0)
                  return {
                    status: "completed" as const,
                    shouldContinue: false,
                    toolCalls: [],
                    toolResults: [],
                    metadata: {},
                    tokenUsage: { promptTokens: input, completionTokens: 10, totalTokens: input + 10 }
                  }
                }))
              return yield* Ref.get(seen)
            })
          yield* Ref.set(state, yield* body({ state: conversation, step, window }))
          return { turnId: "turn-1", finishReason: "text_response" as const }
        })
    )
    return (yield* Ref.get(state))!
  })

describe("ContextWindow", () => {
  // CPU-bound: 2-4 s on an idle machine, 14 s at load 20, so an explicit timeout (vitest's default is 30 s).
  it.scoped(
    "window: 10,000 messages on a 4k-token model: every input fits, no orphans, pinned kept",
    () =>
      Effect.gen(function*() {
        const { model } = yield* summarizer
        const p = policy({ strategy: "window", windowTokens: 4096, onOverflow: "truncate-tool-results" })
        const limit = 4096 - p.reserveTokens
        const rand = prng(7)
        yield* withWindow({ policy: p, model, system }, ({ state, step, window }) =>
          Effect.gen(function*() {
            const pinned = new Set<string>()
            let total = 0
            let steps = 0
            let truncatedSteps = 0
            let omittedSteps = 0
            while (total < 10_000) {
              const t = turn(rand, { pin: total % 2000 === 0 && total > 0, huge: rand() < 0.01 })
              if (t[0]!.metadata["swarm.pinned"] === true) pinned.add(t[0]!.id)
              // Steps happen before each assistant message, as in the turn loop.
              for (const m of t) {
                if (m.data.role === "assistant") {
                  const view = yield* step()
                  steps++
                  const input = truth(system) + view.reduce((n, v) => n + truth(v), 0)
                  if (steps > 1) assert.isAtMost(input, limit, `step ${steps}: ${input} tokens`)
                  assert.deepStrictEqual(violations(view), [], `step ${steps}`)
                  const ids = new Set(view.map((v) => v.id))
                  for (const id of pinned) assert.isTrue(ids.has(id), `pinned ${id} missing at step ${steps}`)
                  const conversation = yield* state.get
                  assert.strictEqual(view.at(-1)?.id, conversation.messages.at(-1)?.id)
                  if (view.some((v) => v.metadata["swarm.context"] === "truncated")) truncatedSteps++
                  if (view[0]?.metadata["swarm.context"] === "omitted") omittedSteps++
                }
                yield* appendAll(state, [m])
                total++
              }
            }
            const conversation = yield* state.get
            assert.isAtLeast(conversation.messages.length, 10_000)
            assert.isAbove(omittedSteps, steps / 2)
            assert.isAbove(truncatedSteps, 0)
            // Append-only growth never rebuilt the index.
            assert.strictEqual(window.state.index.rebuilds, 0)
            assert.isAbove(window.state.calibration, 1.05)
          })).pipe(Effect.provide(Live))
      }),
    120_000
  )

  it.scoped("step.started records what was sent and which range was left out", () =>
    Effect.gen(function*() {
      const { model } = yield* summarizer
      const p = policy({ strategy: "window", windowTokens: 2048, reserveTokens: 256 })
      const bus = yield* EventBus.EventBus
      const sub = yield* bus.subscribe
      yield* withWindow({ policy: p, model, system }, ({ state, step }) =>
        Effect.gen(function*() {
          const rand = prng(3)
          for (let i = 0; i < 40; i++) yield* appendAll(state, turn(rand))
          yield* appendAll(state, [user("the newest question")])
          return yield* step()
        }))
      const all = Array.from(yield* Queue.takeAll(sub))
      const started = all.find((e): e is typeof RuntimeEvent.StepStarted.Type => e.type === "step.started")
      assert.isDefined(started?.context)
      const ctx = started!.context!
      assert.strictEqual(ctx.strategy, "window")
      assert.strictEqual(ctx.windowTokens, 2048)
      assert.isAtMost(ctx.estimatedTokens, ctx.budgetTokens)
      assert.isBelow(ctx.sentMessages, ctx.totalMessages)
      assert.strictEqual(ctx.omitted?.fromSeq, 1)
      assert.isDefined(ctx.omitted?.toSeq)
      assert.strictEqual(started!.llmInputMessages?.[0]?.role, "system")
      assert.include(started!.llmInputMessages?.[1]?.content ?? "", "earlier messages (seq 1..")
    }).pipe(Effect.provide(Live)))

  it.scoped("a newest turn that does not fit fails the step with ContextOverflow naming the sizes", () =>
    Effect.gen(function*() {
      const { model } = yield* summarizer
      const p = policy({ strategy: "window", windowTokens: 4096 })
      const error = yield* withWindow({ policy: p, model, system }, ({ state, step }) =>
        Effect.gen(function*() {
          yield* appendAll(state, [user("read the big file"), assistant("", ["c1"]), toolResult("c1", text(40_000))])
          return yield* Effect.flip(step())
        }))
      const overflow = ContextWindow.overflowOf(error)
      assert.isDefined(overflow)
      assert.strictEqual(overflow!.windowTokens, 4096)
      assert.strictEqual(overflow!.reserveTokens, 1024)
      assert.isAbove(overflow!.turnTokens, 9000)
      assert.include(overflow!.message, "truncate-tool-results")
      assert.include(error.message, "does not fit the context window")
    }).pipe(Effect.provide(Live)))

  it.scoped("truncate-tool-results cuts the largest result first, with a marker the model can read", () =>
    Effect.gen(function*() {
      const { model } = yield* summarizer
      const p = policy({ strategy: "window", windowTokens: 4096, onOverflow: "truncate-tool-results" })
      const view = yield* withWindow({ policy: p, model, system }, ({ state, step }) =>
        Effect.gen(function*() {
          yield* appendAll(state, [
            user("read both files"),
            assistant("", ["small", "big"]),
            toolResult("small", text(800)),
            toolResult("big", text(40_000))
          ])
          return yield* step()
        }))
      const big = view.find((m) => m.data.toolCallId === "big")!
      const small = view.find((m) => m.data.toolCallId === "small")!
      assert.strictEqual(big.metadata["swarm.context"], "truncated")
      assert.include(JSON.stringify(big.data.content), "truncated by the context window")
      assert.notProperty(small.metadata, "swarm.context")
      assert.deepStrictEqual(violations(view), [])
    }).pipe(Effect.provide(Live)))

  it.scoped("pinning a message through a replace event keeps it in every view", () =>
    Effect.gen(function*() {
      const { model } = yield* summarizer
      const p = policy({ strategy: "window", windowTokens: 2048, reserveTokens: 256 })
      yield* withWindow({ policy: p, model }, ({ state, step, window }) =>
        Effect.gen(function*() {
          const first = user("the project codename is BLUEBIRD")
          yield* appendAll(state, [first, assistant("noted")])
          const rand = prng(11)
          for (let i = 0; i < 60; i++) yield* appendAll(state, turn(rand))
          yield* appendAll(state, [user("what is the codename?")])
          const before = yield* step()
          assert.isFalse(before.some((m) => m.id === first.id))
          yield* state.emit(ContextWindow.pin(first))
          const after = yield* step()
          assert.isTrue(after.some((m) => m.id === first.id))
          assert.strictEqual(after[1]?.id, first.id)
          assert.strictEqual(window.state.index.rebuilds, 1)
          yield* state.emit(MessageEvent.truncate)
          yield* appendAll(state, [user("fresh start")])
          const fresh = yield* step()
          assert.deepStrictEqual(fresh.map((m) => m.data.content), ["fresh start"])
        }))
    }).pipe(Effect.provide(Live)))

  it.scoped("summarize: each range is folded once, and a restart reuses the recorded summary", () =>
    Effect.gen(function*() {
      const { calls, model } = yield* summarizer
      const p = policy({ strategy: "summarize", windowTokens: 4096 })
      const saved: Array<ContextWindow.SummaryRecord> = []
      const saveSummary = (_ctx: Middleware.StepContext, s: ContextWindow.SummaryRecord) =>
        Effect.sync(() => void saved.push(s))
      const rand = prng(5)
      const messages: Array<Message.Message> = []
      const firstRun = yield* withWindow(
        { policy: p, model, system, saveSummary },
        ({ state, step, window }) =>
          Effect.gen(function*() {
            while (messages.length < 3000) {
              for (const m of turn(rand)) {
                if (m.data.role === "assistant") {
                  const view = yield* step()
                  assert.deepStrictEqual(violations(view), [])
                  const input = truth(system) + view.reduce((n, v) => n + truth(v), 0)
                  assert.isAtMost(input, 4096)
                }
                yield* appendAll(state, [m])
                messages.push(m)
              }
            }
            yield* appendAll(state, [user("and now?")])
            messages.push(messages.at(-1)!)
            const view = yield* step()
            return { view, folds: window.state.folds, calls: yield* Ref.get(calls) }
          })
      )
      assert.isAbove(saved.length, 5)
      assert.strictEqual(firstRun.calls, saved.length)
      // The folds tile the conversation: each starts right after the previous one's last message.
      const position = new Map(messages.map((m, i) => [m.id, i]))
      for (let k = 1; k < saved.length; k++) {
        assert.strictEqual(position.get(saved[k]!.fromId), position.get(saved[k - 1]!.throughId)! + 1)
      }
      const head = firstRun.view[0]!
      assert.strictEqual(head.metadata["swarm.context"], "summary")
      assert.include(String(head.data.content), `summary #${saved.length}`)

      // A restart: a new middleware over the same conversation, reading the recorded folds.
      const before = yield* Ref.get(calls)
      const restarted = yield* withWindow(
        { policy: p, model, system, summaries: saved.slice(), saveSummary },
        ({ state, step, window }) =>
          Effect.gen(function*() {
            yield* appendAll(state, messages.slice(0, -1))
            const view = yield* step()
            return { view, folds: window.state.folds }
          })
      )
      assert.strictEqual(restarted.folds, 0)
      assert.strictEqual(yield* Ref.get(calls), before)
      assert.include(String(restarted.view[0]!.data.content), `summary #${saved.length}`)
    }).pipe(Effect.provide(Live)))

  it("resolve takes the window from the Model's options and refuses a strategy without one", () => {
    const ok = ContextPolicy.resolve({
      agent: "a",
      swarmSpec: { strategy: "summarize", reserveTokens: 500 },
      agentSpec: { strategy: "window" },
      model: { options: { contextWindow: 8192 } }
    })
    assert.isTrue(ok._tag === "Right" && ok.right.strategy === "window" && ok.right.windowTokens === 8192)
    assert.isTrue(ok._tag === "Right" && ok.right.reserveTokens === 500)
    const missing = ContextPolicy.resolve({ agent: "a", agentSpec: { strategy: "summarize" } })
    assert.isTrue(missing._tag === "Left" && missing.left.message.includes("options.contextWindow on the Model"))
    const tiny = ContextPolicy.resolve({ agent: "a", agentSpec: { strategy: "window", windowTokens: 60 } })
    assert.isTrue(tiny._tag === "Left" && tiny.left.field === "reserveTokens")
  })
})
