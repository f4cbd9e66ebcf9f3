// Second hostile review of inter-agent calls (issue 16, session 11), through the public API only: the
// `team` fixture (lead may call worker, worker may call lead), real files where the inbox matters, the
// scripted model (the only fake), every timer on the TestClock.
import { assert, describe } from "@effect/vitest"
import { Effect, Fiber, Stream, TestClock } from "effect"
import type { Message, Model } from "effect-swarm"
import { Orchestrator } from "effect-swarm"
import {
  baseLayer,
  callOutcome,
  durableContext,
  hanging,
  lastUser,
  loadCalls,
  scopedTest,
  until
} from "../orchestrator/helpers.js"

describe("review s11: inter-agent calls", () => {
  scopedTest(
    "maxPendingAsync holds for concurrent async requests of one caller (parallel tool calls): at most the limit is accepted",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-review-s11-limit-")
        const bundle = yield* loadCalls
        const orchestrator = yield* Orchestrator.make(bundle, "team", {
          models: { worker: hanging },
          calls: { maxPendingAsync: 1 }
        }).pipe(Effect.provide(context))
        const ref = { workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        const lead = orchestrator.agentsApi!.forInstance(ref)
        const codes = yield* Effect.all(
          ["a", "b", "c"].map((k) =>
            callOutcome(lead.request({ target: "worker", input: k, instanceKey: k, async: true }))
          ),
          { concurrency: "unbounded" }
        )
        // Today: all three succeed and pendingAsync is 3 with a limit of 1.
        assert.deepStrictEqual(codes.filter((c) => c === "succeeded").length, 1, codes.join(", "))
        assert.deepStrictEqual(codes.filter((c) => c === "AGENT_PENDING_LIMIT").length, 2, codes.join(", "))
        assert.strictEqual(yield* orchestrator.agentsApi!.pendingAsync(ref), 1)
      }),
    30_000
  )

  scopedTest(
    "maxInbox holds for concurrent async requests of one caller: in flight + waiting never exceed it",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-review-s11-inbox-")
        const bundle = yield* loadCalls
        const orchestrator = yield* Orchestrator.make(bundle, "team", {
          models: { worker: hanging },
          calls: { maxPendingAsync: 10, maxInbox: 2 }
        }).pipe(Effect.provide(context))
        const ref = { workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        const lead = orchestrator.agentsApi!.forInstance(ref)
        const codes = yield* Effect.all(
          ["a", "b", "c", "d"].map((k) =>
            callOutcome(lead.request({ target: "worker", input: k, instanceKey: k, async: true }))
          ),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(codes.filter((c) => c === "succeeded").length, 2, codes.join(", "))
        assert.isAtMost(yield* orchestrator.agentsApi!.pendingAsync(ref), 2)
      }),
    30_000
  )
  scopedTest(
    "a timeout cancels the whole chain: lead@t1 -> worker@t1 -> lead@t2, the innermost turn is interrupted too",
    () =>
      Effect.gen(function*() {
        const bundle = yield* loadCalls
        const deep = { started: false, interrupted: false }
        const hasTool = (r: Model.Request) =>
          r.messages.some((m) => ("data" in m ? (m as Message.Message).data : m as Message.MessageData).role === "tool")
        const respond = (r: Model.Request, out: Partial<Model.Response>): Model.Response => ({
          message: { role: "assistant", content: out.text ?? "" },
          text: out.text ?? "",
          toolCalls: out.toolCalls ?? [],
          finishReason: out.toolCalls === undefined ? "stop" : "tool-calls",
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          metadata: { provider: "scripted" }
        })
        const model = (agent: "lead" | "worker"): Model.Service => {
          const generate = (r: Model.Request) =>
            Effect.suspend((): Effect.Effect<Model.Response> => {
              const last = lastUser(r)
              if (agent === "lead" && last === "deep") {
                deep.started = true
                return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (deep.interrupted = true))))
              }
              if (hasTool(r)) return Effect.succeed(respond(r, { text: `${agent} done` }))
              const args = agent === "lead"
                ? { target: "worker", input: "middle", timeoutMs: 1_000 }
                : { target: "lead", instanceKey: "t2", input: "deep" }
              return Effect.succeed(
                respond(r, { toolCalls: [{ id: `${agent}-1`, name: "agents__request", arguments: args }] })
              )
            })
          return {
            provider: "scripted",
            model: agent,
            generate,
            stream: (r) => Stream.fromEffect(Effect.map(generate(r), (response) => ({ _tag: "Finish", response })))
          }
        }
        const orchestrator = yield* Orchestrator.makeInMemory(bundle, "team", {
          models: { lead: model("lead"), worker: model("worker") }
        })
        const top = yield* Effect.fork(orchestrator.request("lead@t1", "go"))
        yield* until(() => Effect.succeed(deep.started))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(top)
        yield* until(() =>
          Effect.map(orchestrator.list, (l) => l.some((i) => i.address === "worker@t1" && i.status === "idle"))
        )
        for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
        const inner = (yield* orchestrator.list).find((i) => i.address === "lead@t2")
        assert.isTrue(deep.interrupted, `lead@t2 still runs the turn nobody waits for: ${JSON.stringify(inner)}`)
      }).pipe(Effect.provide(baseLayer)),
    30_000
  )
})
