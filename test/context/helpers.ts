import { Effect, Either, Layer, Ref, Stream } from "effect"
import type { Message, Middleware, Model } from "effect-swarm"
import { ContextPolicy, Conversation, EventBus, MessageEvent, Pipeline } from "effect-swarm"

export const Live = Pipeline.layer().pipe(Layer.provideMerge(EventBus.layer()))

let counter = 0
const msg = (data: Message.MessageData, metadata: Record<string, Message.Json> = {}): Message.Message => ({
  id: `m${++counter}`,
  data,
  metadata,
  createdAt: new Date(0),
  source: { type: "system" }
})

export const user = (text: string, pinned = false) =>
  msg({ role: "user", content: text }, pinned ? { "swarm.pinned": true } : {})
export const assistant = (text: string, calls: ReadonlyArray<string> = [], pinned = false) =>
  msg(
    {
      role: "assistant",
      content: text,
      ...(calls.length === 0 ? {} : { toolCalls: calls.map((id) => ({ id, name: "t__run", arguments: { id } })) })
    },
    pinned ? { "swarm.pinned": true } : {}
  )
export const toolResult = (callId: string, output: string, pinned = false) =>
  msg({
    role: "tool",
    toolCallId: callId,
    toolName: "t__run",
    content: [{ type: "tool-result", toolCallId: callId, toolName: "t__run", output }]
  }, pinned ? { "swarm.pinned": true } : {})

/** A small deterministic PRNG (mulberry32). */
export const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const text = (n: number) => "lorem ipsum dolor sit amet ".repeat(Math.ceil(n / 27)).slice(0, n)

/** The "real" tokenizer of the scripted model: denser than the default estimate (3.6 vs 4 chars/token). */
export const truth = (m: Message.Message | Message.MessageData | string): number => {
  if (typeof m === "string") return Math.ceil(m.length / 3.6) + 4
  return Math.ceil(JSON.stringify("data" in m ? m.data : m).length / 3.6) + 4
}

/**
 * Checks the provider rules on a view: every tool result answers a call of the nearest assistant
 * message before it (only tool results in between); every call has its result before the next
 * non-tool message; the first message is a user message (Anthropic) unless the view is empty.
 */
export const violations = (view: ReadonlyArray<Message.Message>): Array<string> => {
  const out: Array<string> = []
  let open = new Set<string>()
  let inGroup = false
  for (const [i, m] of view.entries()) {
    if (m.data.role === "tool") {
      const id = m.data.toolCallId ?? ""
      if (!inGroup || !open.has(id)) out.push(`orphan result ${id} at ${i}`)
      open.delete(id)
      continue
    }
    if (open.size > 0) out.push(`calls ${[...open].join(",")} without results before ${i}`)
    open = new Set((m.data.toolCalls ?? []).map((c) => c.id))
    inGroup = open.size > 0
  }
  if (open.size > 0) out.push(`calls ${[...open].join(",")} without results at the end`)
  if (view.length > 0 && view[0]!.data.role !== "user") out.push(`first message is ${view[0]!.data.role}`)
  return out
}

/** Appends one turn of random shape, returns the messages. */
export const turn = (rand: () => number, options: { readonly pin?: boolean; readonly huge?: boolean } = {}) => {
  const out: Array<Message.Message> = [user(text(40 + Math.floor(rand() * 400)), options.pin === true)]
  const steps = Math.floor(rand() * 3)
  for (let s = 0; s < steps; s++) {
    const calls = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => `c${++counter}`)
    out.push(assistant(rand() < 0.5 ? "" : text(60), calls))
    for (const id of calls) {
      const size = options.huge === true && s === 0 ? 30_000 : 20 + Math.floor(rand() * 1500)
      out.push(toolResult(id, text(size)))
    }
  }
  out.push(assistant(text(20 + Math.floor(rand() * 300))))
  return out
}

export const policy = (spec: ContextPolicy.Spec) =>
  Either.getOrThrow(ContextPolicy.resolve({ agent: "long", agentSpec: spec }))

/** A model that only answers summary calls, with "summary #n (<first line of input>)". */
export const summarizer = Effect.gen(function*() {
  const calls = yield* Ref.make(0)
  const model: Model.Service = {
    provider: "scripted",
    model: "summarizer",
    generate: (request) =>
      Effect.map(Ref.updateAndGet(calls, (n) => n + 1), (n) => ({
        message: { role: "assistant", content: `summary #${n} of ${request.messages.length} input` },
        text: `summary #${n}`,
        toolCalls: [],
        finishReason: "stop",
        usage: {},
        metadata: { provider: "scripted" }
      })),
    stream: () => Stream.dieMessage("not used")
  }
  return { model, calls }
})

/** Appends messages to an in-memory conversation state. */
export const appendAll = (state: Middleware.ConversationState, messages: ReadonlyArray<Message.Message>) =>
  Effect.forEach(messages, (m) => state.emit(MessageEvent.append(m)), { discard: true })

export const fromMessages = (messages: ReadonlyArray<Message.Message>) =>
  Conversation.fromEvents(messages.map((m, i) => ({ seq: i + 1, type: "append" as const, message: m })))
