import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Ref } from "effect"
import type { Message } from "effect-swarm"
import { ContextWindow, Middleware, Pipeline } from "effect-swarm"
import { assistant, fromMessages, Live, policy, summarizer, text, toolResult, user, violations } from "./helpers.js"

/** One step over `messages`: the view the core got, or the failure. */
const viewOnce = (options: ContextWindow.Options, messages: ReadonlyArray<Message.Message>) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.Pipeline
    yield* pipeline.register("step", ContextWindow.middleware(options).middleware, { name: "context-window" })
    const conversation = yield* Middleware.conversationInMemory(fromMessages(messages))
    const seen = yield* Ref.make<ReadonlyArray<Message.Message>>([])
    yield* pipeline.runTurn(
      { agentName: "p", instanceKey: "1", turnId: "t", conversation },
      (turn) =>
        Effect.as(
          pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, (ctx) =>
            Effect.as(Ref.set(seen, ContextWindow.viewOf(ctx) ?? messages), {
              status: "completed" as const,
              shouldContinue: false,
              toolCalls: [],
              toolResults: [],
              metadata: {}
            })),
          { turnId: "t", finishReason: "text_response" as const }
        )
    )
    return yield* Ref.get(seen)
  }).pipe(Effect.provide(Live), Effect.either)

const stepArb = fc.record({
  results: fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 3 }),
  text: fc.integer({ min: 0, max: 400 }),
  pin: fc.integer({ min: 0, max: 40 })
})
const turnArb = fc.record({
  user: fc.integer({ min: 1, max: 2000 }),
  pinUser: fc.integer({ min: 0, max: 30 }),
  steps: fc.array(stepArb, { maxLength: 4 }),
  answer: fc.integer({ min: 0, max: 800 })
})

let ids = 0
const build = (turns: ReadonlyArray<typeof turnArb extends fc.Arbitrary<infer T> ? T : never>) => {
  const out: Array<Message.Message> = []
  for (const t of turns) {
    out.push(user(text(t.user), t.pinUser === 0))
    for (const s of t.steps) {
      const calls = s.results.map(() => `p${++ids}`)
      // pin 0: the call message; pin 1: its first result.
      out.push(assistant(text(s.text), calls, s.pin === 0))
      s.results.forEach((size, i) => out.push(toolResult(calls[i]!, text(size), s.pin === 1 && i === 0)))
    }
    out.push(assistant(text(t.answer)))
  }
  return out
}

const seen = { cut: 0, overflow: 0, whole: 0 }

describe("ContextWindow (property)", () => {
  // The property must exercise cutting, not only overflows or conversations that fit whole.
  afterAll(() => {
    assert.isAtLeast(seen.cut, 15, JSON.stringify(seen))
  })

  it.effect.prop(
    "for any conversation and window the view is a valid conversation: no orphan results, calls with their results, user first, pinned and newest kept",
    [
      fc.array(turnArb, { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1200, max: 12_000 }),
      fc.constantFrom("window" as const, "summarize" as const),
      fc.constantFrom("fail" as const, "truncate-tool-results" as const),
      fc.integer({ min: 0, max: 2000 })
    ],
    ([turns, windowTokens, strategy, onOverflow, systemChars]) =>
      Effect.gen(function*() {
        const { model } = yield* summarizer
        const messages = build(turns)
        const result = yield* viewOnce({
          policy: policy({ strategy, windowTokens, onOverflow }),
          model,
          system: text(systemChars)
        }, messages)
        if (result._tag === "Left") {
          // The only acceptable failure: the newest turn (with pinned messages) does not fit, named as such.
          assert.isDefined(ContextWindow.overflowOf(result.left), String(result.left))
          seen.overflow++
          return
        }
        const view = result.right
        if (view[0]?.metadata["swarm.context"] !== undefined) seen.cut++
        else seen.whole++
        const conversationValid = violations(messages).length === 0
        assert.isTrue(conversationValid)
        assert.deepStrictEqual(violations(view), [])
        const sent = new Set(view.map((m) => m.id))
        for (const m of messages) {
          if (m.metadata["swarm.pinned"] === true) assert.isTrue(sent.has(m.id), `pinned ${m.id} missing`)
        }
        assert.strictEqual(view.at(-1)?.id, messages.at(-1)?.id)
        // The newest turn is never cut into: its user input and every step after it are sent.
        const newest = messages.findLastIndex((m) => m.data.role === "user")
        for (const m of messages.slice(Math.max(0, newest))) {
          assert.isTrue(sent.has(m.id), `newest turn's ${m.id} missing`)
        }
      }),
    { fastCheck: { numRuns: 60 } }
  )
})
