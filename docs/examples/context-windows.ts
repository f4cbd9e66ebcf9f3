// docs/context-windows.md: an agent whose conversation outgrows a small window. The log keeps every message;
// each step sends the newest turns that fit, behind a marker, plus what is pinned.
import { Console, Effect, Queue } from "effect"
import { AgentInstance, ContextPolicy, EventBus, Scripted, Turn } from "effect-swarm"

const program = Effect.gen(function*() {
  const events = yield* (yield* EventBus.EventBus).subscribe
  // As `spec.context` of an Agent: the newest messages that fit 600 tokens, 100 kept for the reply.
  const context = yield* ContextPolicy.resolve({
    agent: "notes",
    agentSpec: { strategy: "window", windowTokens: 600, reserveTokens: 100 }
  })
  const model = yield* Scripted.make(Array.from({ length: 8 }, (_, i) => ({ text: `answer ${i}` })))
  const agent = yield* AgentInstance.makeInMemory({
    ref: { workspaceId: "docs", agentName: "notes", instanceKey: "1" },
    model,
    system: "You are terse.",
    context
  })
  const first = yield* Turn.run(agent, "The launch code is 1234. Keep it.")
  // A pinned message is always sent, however old.
  yield* AgentInstance.pin(agent, first.responseMessage!.id)
  for (let i = 1; i <= 6; i++) yield* Turn.run(agent, `Question ${i}: ${"lorem ipsum dolor sit amet ".repeat(12)}`)

  const steps = [...yield* Queue.takeAll(events)].flatMap((e) => e.type === "step.started" ? [e] : [])
  const last = steps.at(-1)!
  const view = last.context!
  yield* Console.log(
    `sent ${view.sentMessages} of ${view.totalMessages} messages, ${view.pinnedMessages} pinned, ` +
      `omitted seq ${view.omitted?.fromSeq}..${view.omitted?.toSeq}`
  )
  // What the model saw first: the system prompt, the marker, the pinned answer, then the newest messages that fit.
  for (const m of last.llmInputMessages!.slice(0, 5)) {
    yield* Console.log(`  ${m.role}: ${String(m.content).slice(0, 60)}`)
  }
}).pipe(Effect.scoped, Effect.provide(EventBus.layer()))

program.pipe(Effect.runPromise)
