/**
 * Issue 19: building the context window's view for a 100,000-message conversation, per step.
 *
 * The conversation is made of turns (a user message, 0-2 steps of 1-2 tool calls with results of
 * 20-1,500 characters, a final answer). Each measured step first appends two messages (alternately an
 * assistant call with its result, and an answer with the next question), then runs the `context-window` step
 * middleware (strategy `window`) with a no-op `next`: sync of the incremental index, the binary search
 * for the cut, assembling the view, the `llmInputMessages` summary and the report.
 *
 * Compared with:
 * - the floor the turn loop pays anyway: `conversation.messages` of a fresh conversation value (an
 *   array copy of 100k references);
 * - a stateless trimmer (the peers' shape: LangChain `trimMessages`, a token limiter) that re-counts the
 *   whole history with the same estimate every step.
 * The first step (the index built from nothing, every message counted once) is reported apart.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ContextPolicy from "../src/context/ContextPolicy.js"
import * as ContextWindow from "../src/context/ContextWindow.js"
import * as Tokens from "../src/context/Tokens.js"
import * as Conversation from "../src/conversation/Conversation.js"
import type * as Message from "../src/conversation/Message.js"
import * as MessageEvent from "../src/conversation/MessageEvent.js"
import type * as Model from "../src/model/Model.js"
import type { StepContext, StepResult } from "../src/pipeline/Middleware.js"

let ids = 0
const text = (n: number) => "lorem ipsum dolor sit amet ".repeat(Math.ceil(n / 27)).slice(0, n)
const message = (data: Message.MessageData): Message.Message => ({
  id: `m${++ids}`,
  data,
  metadata: {},
  createdAt: new Date(0),
  source: { type: "system" }
})
const call = (id: string) =>
  message({
    role: "assistant",
    content: "",
    toolCalls: [{ id, name: "fs__read", arguments: { path: `/src/${id}.ts` } }]
  })
const result = (id: string, size: number) =>
  message({
    role: "tool",
    toolCallId: id,
    toolName: "fs__read",
    content: [{ type: "tool-result", toolCallId: id, toolName: "fs__read", output: text(size) }]
  })

const answer = () => message({ role: "assistant", content: text(200) })
const question = () => message({ role: "user", content: text(200) })

const rand = (() => {
  let a = 42
  return () => {
    a = (a * 1103515245 + 12345) & 0x7fffffff
    return a / 0x7fffffff
  }
})()

const history = (n: number) => {
  const out: Array<Message.Message> = []
  while (out.length < n) {
    out.push(message({ role: "user", content: text(40 + Math.floor(rand() * 400)) }))
    for (let s = Math.floor(rand() * 3); s > 0; s--) {
      const id = `c${++ids}`
      out.push(call(id), result(id, 20 + Math.floor(rand() * 1500)))
    }
    out.push(message({ role: "assistant", content: text(20 + Math.floor(rand() * 300)) }))
  }
  return out
}

const model: Model.Service = {
  provider: "openai",
  model: "bench",
  generate: () => Effect.dieMessage("not used"),
  stream: () => Effect.dieMessage("not used") as never
}

const done: StepResult = { status: "completed", shouldContinue: false, toolCalls: [], toolResults: [], metadata: {} }

const stats = (samples: Array<number>) => {
  samples.sort((a, b) => a - b)
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length
  return { p50: q(0.5), p99: q(0.99), mean }
}

const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`

const measure = (windowTokens: number, base: ReadonlyArray<Message.Message>, steps: number) => {
  const policy = Either.getOrThrow(
    ContextPolicy.resolve({ agent: "bench", agentSpec: { strategy: "window", windowTokens } })
  )
  const { middleware, state } = ContextWindow.middleware({ policy, model, system: text(2000) })
  let conversation = Conversation.fromEvents(base.map((m, i) => ({ seq: i + 1, type: "append" as const, message: m })))
  const ctx = {
    agentName: "bench",
    turnId: "t",
    metadata: {} as Record<string, unknown>,
    toolCatalog: [{ name: "fs__read", description: "reads a file", parameters: { type: "object" } }],
    conversation: { get: Effect.sync(() => conversation), emit: () => Effect.void }
  } as unknown as StepContext
  const step = () => {
    ctx.metadata = {}
    Effect.runSync(middleware(ctx, Effect.succeed(done)))
  }
  let t = performance.now()
  step()
  const cold = performance.now() - t
  const samples: Array<number> = []
  const copies: Array<number> = []
  for (let i = 0; i < steps; i++) {
    // Every other step starts a new turn, so the newest turn stays small (as with maxStepsPerTurn).
    if (i % 2 === 0) {
      conversation = Conversation.applyDraft(conversation, MessageEvent.append(answer()))[1]
      conversation = Conversation.applyDraft(conversation, MessageEvent.append(question()))[1]
    } else {
      const id = `b${i}`
      conversation = Conversation.applyDraft(conversation, MessageEvent.append(call(id)))[1]
      conversation = Conversation.applyDraft(conversation, MessageEvent.append(result(id, 600)))[1]
    }
    t = performance.now()
    step()
    samples.push(performance.now() - t)
  }
  // The floor: the messages array of a fresh conversation value (what the loop reads every step anyway).
  for (let i = 0; i < steps; i++) {
    const next = Conversation.applyDraft(conversation, MessageEvent.append(call(`f${i}`)))[1]
    t = performance.now()
    void next.messages.length
    copies.push(performance.now() - t)
  }
  const report = ctx.metadata["runtime.context"] as { sentMessages: number; totalMessages: number }
  return {
    cold,
    step: stats(samples),
    copy: stats(copies),
    sent: report.sentMessages,
    total: report.totalMessages,
    rebuilds: state.index.rebuilds
  }
}

const recount = (base: ReadonlyArray<Message.Message>, steps: number) => {
  const tokenizer = Tokens.estimate("openai")
  const samples: Array<number> = []
  for (let i = 0; i < steps; i++) {
    const t = performance.now()
    let total = 0
    for (const m of base) total += Tokens.countData(tokenizer, m.data)
    samples.push(performance.now() - t)
    if (total < 0) throw new Error("unreachable")
  }
  return stats(samples)
}

export const run = async () => {
  const base = history(100_000)
  const steps = 300
  // Warm-up: JIT the paths once on a smaller conversation.
  measure(8192, base.slice(0, 20_000), 50)
  console.log(`conversation: ${base.length} messages; ${steps} measured steps, each after appending two messages`)
  console.log("| case | first step (index built) | per step p50 | p99 | mean | sent / total |")
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |")
  for (const window of [4096, 128_000]) {
    const r = measure(window, base, steps)
    console.log(
      `| window ${window} tokens | ${r.cold.toFixed(1)} ms | ${us(r.step.p50)} | ${us(r.step.p99)} | ${
        us(r.step.mean)
      } | ${r.sent} / ${r.total} |`
    )
    if (window === 128_000) {
      console.log(
        `| floor: conversation.messages copy | | ${us(r.copy.p50)} | ${us(r.copy.p99)} | ${us(r.copy.mean)} | |`
      )
    }
    if (r.rebuilds !== 0) console.log(`  (index rebuilt ${r.rebuilds} times: not append-only?)`)
  }
  const naive = recount(base, 20)
  console.log(
    `| stateless re-count of the whole history | | ${us(naive.p50)} | ${us(naive.p99)} | ${us(naive.mean)} | |`
  )
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
