/**
 * Session 16 review of the context window (issue 19) as an attacker and a new user: text outside ASCII
 * (CJK, emoji) was estimated at 4 characters a token, so a CJK conversation sent several times the window;
 * a `windowTokens` larger than the model's own window and nonsense limits given in code were taken as is.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Ref } from "effect"
import type { Message } from "effect-swarm"
import { ContextPolicy, ContextWindow, Middleware, Pipeline, Tokens } from "effect-swarm"
import { appendAll, assistant, Live, policy, summarizer, user } from "../context/helpers.js"

// Lower bounds of the real tokenizers (o200k / cl100k, Anthropic's): a CJK character is at least one token,
// an emoji at least one (most are 2-4), Cyrillic about 2-3 characters a token.
const atLeast = (text: string) => {
  let n = 0
  for (const ch of text) n += /[\u3000-\u9fff\uac00-\ud7af]/.test(ch) || ch.codePointAt(0)! > 0xffff ? 1 : 0.25
  return Math.ceil(n)
}

describe("s16 review: token estimates outside ASCII", () => {
  it("CJK, kana, Hangul and emoji count at least a token a character; ASCII is unchanged", () => {
    for (const provider of ["openai", "anthropic", "scripted"]) {
      const t = Tokens.estimate(provider)
      for (
        const sample of ["日本語のテキストです。", "한국어 텍스트", "中文文本，很长的句子", "😀🎉🚀👍", "Привет, мир"]
      ) {
        const text = sample.repeat(50)
        assert.isAtLeast(t.countText(text), atLeast(text), `${provider}: ${sample}`)
      }
      assert.strictEqual(t.countText("x".repeat(400)), Math.ceil(400 / Tokens.charsPerToken[provider]!))
    }
    assert.strictEqual(Tokens.estimate("openai").countText("你好，世界"), 5)
    assert.strictEqual(Tokens.estimate("openai").countText("😀"), 2)
  })

  it.scoped("window: a CJK conversation's view stays inside the window at the first step", () =>
    Effect.gen(function*() {
      const { model } = yield* summarizer
      const p = policy({ strategy: "window", windowTokens: 4096, reserveTokens: 512 })
      const pipeline = yield* Pipeline.Pipeline
      const window = ContextWindow.middleware({ policy: p, model })
      yield* pipeline.register("step", window.middleware, { name: "context-window" })
      const conversation = yield* Middleware.conversationInMemory()
      const sentence = "这是一个很长的中文句子，用来测试上下文窗口是否正确估计令牌数量。"
      const seen = yield* Ref.make<ReadonlyArray<Message.Message>>([])
      yield* pipeline.runTurn(
        { agentName: "cjk", instanceKey: "1", turnId: "turn-1", conversation },
        (turnCtx) =>
          Effect.gen(function*() {
            const state = turnCtx.conversation
            for (let i = 0; i < 60; i++) {
              yield* appendAll(state, [user(sentence.repeat(3)), assistant(sentence.repeat(3))])
            }
            yield* appendAll(state, [user("最新的问题")])
            yield* pipeline.runStep({ turn: turnCtx, stepIndex: 0, toolCatalog: [] }, (ctx) =>
              Effect.gen(function*() {
                yield* Ref.set(seen, ContextWindow.viewOf(ctx) ?? (yield* ctx.conversation.get).messages)
                return {
                  status: "completed" as const,
                  shouldContinue: false,
                  toolCalls: [],
                  toolResults: [],
                  metadata: {}
                }
              }))
            return { turnId: "turn-1", finishReason: "text_response" as const }
          })
      )
      const view = yield* Ref.get(seen)
      const tokens = view.reduce((n, m) => n + atLeast(typeof m.data.content === "string" ? m.data.content : "") + 4, 0)
      assert.isAtMost(tokens, 4096 - 512, `the view holds at least ${tokens} real tokens`)
      assert.isAbove(view.length, 2)
      assert.strictEqual(view.at(-1)?.data.content, "最新的问题")
    }).pipe(Effect.provide(Live)))
})

/** One step of a fresh pipeline with the context window over `messages`: the view sent, or the step's failure. */
const stepOver = (p: ContextPolicy.Policy, messages: ReadonlyArray<Message.Message>) =>
  Effect.gen(function*() {
    const { model } = yield* summarizer
    const pipeline = yield* Pipeline.Pipeline
    yield* pipeline.register("step", ContextWindow.middleware({ policy: p, model }).middleware, {
      name: "context-window"
    })
    const conversation = yield* Middleware.conversationInMemory()
    return yield* pipeline.runTurn(
      { agentName: "pins", instanceKey: "1", turnId: "turn-1", conversation },
      (turnCtx) =>
        Effect.gen(function*() {
          yield* appendAll(turnCtx.conversation, messages)
          yield* pipeline.runStep({ turn: turnCtx, stepIndex: 0, toolCatalog: [] }, () =>
            Effect.succeed({
              status: "completed" as const,
              shouldContinue: false,
              toolCalls: [],
              toolResults: [],
              metadata: {}
            }))
          return { turnId: "turn-1", finishReason: "text_response" as const }
        })
    ).pipe(Effect.flip)
  }).pipe(Effect.provide(Live))

describe("s16 review: pinned messages that alone exceed the window", () => {
  it.scoped("the ContextOverflow says the pinned messages are the cause and how to unpin them", () =>
    Effect.gen(function*() {
      for (const onOverflow of ["fail", "truncate-tool-results"] as const) {
        const p = policy({ strategy: "window", windowTokens: 4096, reserveTokens: 512, onOverflow })
        const error = yield* stepOver(p, [
          user("x".repeat(20_000), true),
          assistant("noted"),
          user("a small question")
        ])
        const overflow = ContextWindow.overflowOf(error)
        assert.isDefined(overflow, String(error))
        assert.isAbove(overflow!.pinnedTokens, overflow!.budgetTokens)
        assert.include(overflow!.message, "the pinned messages alone need about")
        assert.include(overflow!.message, "AgentInstance.pin(agent, id, false)")
        assert.notInclude(overflow!.message, "set spec.context.onOverflow")
      }
    }))
})

describe("s16 review: nonsense limits", () => {
  const refused = (input: Parameters<typeof ContextPolicy.resolve>[0], field: string, text: string) => {
    const resolved = ContextPolicy.resolve(input)
    assert.isTrue(Either.isLeft(resolved), `${field} accepted: ${JSON.stringify(input)}`)
    const error = Either.getLeft(resolved).pipe((o) => o._tag === "Some" ? o.value : undefined)!
    assert.strictEqual(error.field, field)
    assert.include(error.message, text)
  }

  it("a windowTokens larger than the Model's own window is a ContextConfigError naming both", () => {
    refused(
      {
        agent: "a",
        agentSpec: { strategy: "window", windowTokens: 200_000 },
        model: { options: { contextWindow: 8192 } }
      },
      "windowTokens",
      "200000 is larger than the Model's context window (8192"
    )
    refused(
      {
        agent: "a",
        swarmSpec: { windowTokens: 200_000 },
        agentSpec: { strategy: "summarize" },
        model: { options: { contextWindow: 8192 } }
      },
      "windowTokens",
      "larger than the Model's context window"
    )
    // Smaller than the model's window is fine (a budget of one's own).
    assert.isTrue(Either.isRight(ContextPolicy.resolve({
      agent: "a",
      agentSpec: { strategy: "window", windowTokens: 4096 },
      model: { options: { contextWindow: 8192 } }
    })))
  })

  it("limits given in code that YAML validation would refuse are a ContextConfigError, not a NaN budget", () => {
    const spec = (s: ContextPolicy.Spec) => ({
      agent: "a",
      agentSpec: { strategy: "window" as const, windowTokens: 8192, ...s }
    })
    refused(spec({ windowTokens: Number.NaN }), "windowTokens", "a whole number of tokens")
    refused(spec({ windowTokens: -100 }), "windowTokens", "-100")
    refused(spec({ windowTokens: 0 }), "windowTokens", "a whole number of tokens")
    refused(spec({ reserveTokens: -1 }), "reserveTokens", "-1")
    refused(spec({ reserveTokens: Number.NaN }), "reserveTokens", "NaN")
    refused(spec({ margin: 0.9 }), "margin", "[0, 0.5)")
    refused(spec({ margin: Number.NaN }), "margin", "NaN")
    refused(spec({ summary: { maxTokens: 0 } }), "summary.maxTokens", "a whole number of tokens")
    refused(spec({ summary: { keepRatio: 2 } }), "summary.keepRatio", "[0.05, 1)")
    const budget = ContextPolicy.resolve(spec({}))
    assert.isTrue(Either.isRight(budget))
  })
})
