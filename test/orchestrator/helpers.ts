import { NodeContext } from "@effect/platform-node"
import { Chunk, Effect, Layer, Stream, TestClock } from "effect"
import type { Model } from "effect-swarm"
import { Bundle, EventBus, Message } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const bundleDir = path.resolve(here, "../fixtures/bundles/orchestrator")

export const loadBundle = Bundle.load(bundleDir).pipe(Effect.provide(NodeContext.layer))

export const baseLayer = Layer.mergeAll(EventBus.layer(), NodeContext.layer)

/** The last user message's text of a model request. */
export const lastUser = (request: Model.Request): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!
    const data: Message.MessageData = "createdAt" in m && "metadata" in m ? (m as Message.Message).data : m
    if (data.role === "user") return Message.text(data)
  }
  return ""
}

/** The scripted answer to `text`: `echo: <text>`, stop, one token each way. */
export const echoResponse = (text: string): Model.Response => ({
  message: { role: "assistant", content: `echo: ${text}` },
  text: `echo: ${text}`,
  toolCalls: [],
  finishReason: "stop",
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  metadata: { provider: "scripted" }
})

/**
 * The fake at the LLM boundary: answers `echo: <last user text>` after `before(text)` (a gate, a virtual
 * sleep), recording every call and how many ran at once.
 */
export const echoModel = (before: (text: string) => Effect.Effect<void> = () => Effect.void) => {
  const calls: Array<string> = []
  let running = 0
  let maxRunning = 0
  const generate = (request: Model.Request) =>
    Effect.gen(function*() {
      const text = lastUser(request)
      calls.push(text)
      running++
      maxRunning = Math.max(maxRunning, running)
      yield* before(text).pipe(Effect.ensuring(Effect.sync(() => running--)))
      return echoResponse(text)
    })
  const service: Model.Service = {
    provider: "scripted",
    model: "echo",
    generate,
    stream: (request) => Stream.fromEffect(Effect.map(generate(request), (response) => ({ _tag: "Finish", response })))
  }
  return { service, calls, maxRunning: () => maxRunning }
}

/** Yields until `predicate` holds (the workers run on the same virtual clock; no real time passes). */
export const until = (predicate: () => Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    while (!(yield* predicate())) yield* Effect.yieldNow()
  })

/** Yields until a fiber sleeps until `at` (ms on the TestClock): adjusting the clock then wakes it. */
export const untilSleep = (at: number) =>
  until(() => Effect.map(TestClock.sleeps(), (sleeps) => Chunk.some(sleeps, (t) => t === at)))
