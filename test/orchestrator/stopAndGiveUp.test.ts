// Ending an instance for good (issue 16): `Orchestrator.stop` records the turn it interrupts as abandoned, so a
// later `restart` starts from a closed turn; a crash loop that reaches the restart-intensity limit answers the
// callee's async callers at once with AGENT_UNAVAILABLE (the same `failQueued` as a stop). Durable
// orchestrators on real files; the model is the only fake; every timer (the blocked tool, the backoffs) is on
// the TestClock.
import { assert, describe } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Stream, TestClock } from "effect"
import type { Model } from "effect-swarm"
import { Orchestrator, RuntimeEventLog, Scripted } from "effect-swarm"
import {
  conversation,
  type DurableContext,
  durableContext,
  durableTimeout,
  info,
  lastUser,
  leadOf,
  loadBundle,
  loadCalls,
  scopedTest,
  until
} from "./helpers.js"

/** The instance's runtime-event records (type and reason) as its file holds them. */
const records = (context: DurableContext, ref: {
  readonly workspaceId: string
  readonly agentName: string
  readonly instanceKey: string
}) =>
  RuntimeEventLog.RuntimeEventLog.pipe(
    Effect.flatMap((log) => Stream.runCollect(log.read(ref))),
    Effect.map((all) =>
      Chunk.toReadonlyArray(all).map((r) => ({
        type: r.type,
        reason: (r as { readonly reason?: unknown }).reason
      }))
    ),
    Effect.orDie,
    Effect.provide(context)
  )

describe("stop records its interrupted turn", () => {
  scopedTest(
    "a turn blocked in a tool is recorded as abandoned with the stop's reason; restart does not continue it",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-stop-")
        const bundle = yield* loadBundle
        let toolRuns = 0
        const model = yield* Scripted.make([
          { toolCalls: [{ name: "block__wait", arguments: {} }] },
          { text: "after the restart" }
        ])
        const orchestrator = yield* Orchestrator.make(bundle, "default", {
          models: { alpha: model, beta: model },
          setup: (instance) =>
            instance.tools.register(
              { name: "block__wait", parameters: { type: "object", properties: {} } },
              // Blocked on the TestClock: an hour nobody lets pass.
              () => Effect.zipRight(Effect.sync(() => toolRuns++), Effect.as(Effect.sleep("1 hour"), "waited"))
            )
        }).pipe(Effect.provide(context))
        const ref = { workspaceId: orchestrator.workspaceId, agentName: "alpha", instanceKey: "one" }
        const waiting = yield* Effect.fork(orchestrator.request("alpha@one", "go"))
        yield* until(() => Effect.succeed(toolRuns === 1))

        yield* orchestrator.stop("alpha@one")
        const refused = yield* Effect.flip(Fiber.join(waiting))
        assert.strictEqual(refused._tag, "AgentUnavailable")
        // The log's last records: the turn was started and is closed as abandoned, naming the stop.
        const after = yield* records(context, ref)
        const last = after[after.length - 1]
        assert.deepStrictEqual(last?.type, "turn.abandoned", JSON.stringify(after.map((r) => r.type)))
        assert.strictEqual(last?.reason, "stop: stopped by Orchestrator.stop")
        assert.deepStrictEqual(after.filter((r) => r.type === "turn.started").length, 1)
        // Its tool call has its answer: E_TOOL_INTERRUPTED naming the stop (the conversation stays valid).
        const messages = (yield* conversation(context, ref.workspaceId, "alpha", "one")).messages
        const result = messages[messages.length - 1]!
        assert.strictEqual(result.data.role, "tool")
        assert.include(JSON.stringify(result.data), "E_TOOL_INTERRUPTED")
        assert.include(JSON.stringify(result.data), "stop: stopped by Orchestrator.stop")

        // Restarted, its next message starts a new turn: the stopped one is not continued (no second tool run).
        yield* orchestrator.restart("alpha@one")
        const next = yield* orchestrator.request("alpha@one", "next")
        assert.strictEqual(next.finishReason, "text_response")
        assert.strictEqual(toolRuns, 1)
        const types = (yield* records(context, ref)).map((r) => r.type)
        assert.deepStrictEqual(types.filter((t) => t === "turn.abandoned").length, 1)
        const since = types.slice(types.indexOf("turn.abandoned") + 1)
        assert.deepStrictEqual([since.filter((t) => t === "turn.started").length, since.at(-1)], [1, "turn.completed"])
      }),
    durableTimeout
  )
})

/** A worker model that dies (a defect: its instance crashes) on every call. */
const dying = (): Model.Service & { readonly calls: Array<string> } => {
  const calls: Array<string> = []
  const generate = (request: Model.Request) =>
    Effect.suspend(() => {
      calls.push(lastUser(request))
      return Effect.die(new Error(`worker crash ${calls.length}`))
    })
  return {
    provider: "scripted",
    model: "dying",
    calls,
    generate,
    stream: (request) => Stream.fromEffect(Effect.map(generate(request), (response) => ({ _tag: "Finish", response })))
  }
}

describe("a crash loop given up", () => {
  scopedTest(
    "answers the callee's async callers at once with AGENT_UNAVAILABLE (crashed), not at their deadline",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-giveup-")
        const bundle = yield* loadCalls
        const worker = dying()
        const orchestrator = yield* Orchestrator.make(bundle, "team", {
          models: { worker, lead: yield* Scripted.make([{ text: "unused" }]) },
          // Crash 1 restarts at once; crashes 2 and 3 back off 1 s and 2 s on the Clock; crash 4 within a
          // minute is one restart too many.
          supervision: {
            crashThreshold: 1,
            initialBackoff: Duration.seconds(1),
            maxRestarts: 3,
            within: Duration.minutes(1)
          }
        }).pipe(Effect.provide(context))
        const ref = leadOf(orchestrator)
        const api = orchestrator.agentsApi!
        const lead = api.forInstance(ref)
        const one = yield* lead.request({ target: "worker", input: "one", async: true })
        const two = yield* lead.request({ target: "worker", input: "two", async: true })
        const started = yield* TestClock.currentTimeMillis
        // The crash loop, driven on the TestClock: each backoff is let pass once the worker waits in it.
        for (let i = 0; i < 10; i++) {
          yield* until(() =>
            Effect.map(
              info(orchestrator, "worker@t1"),
              (w) => w.status === "crashLoopBackOff" || w.status === "crashed"
            )
          )
          const w = yield* info(orchestrator, "worker@t1")
          if (w.status === "crashed") break
          yield* TestClock.adjust("2 seconds")
        }
        const given = yield* info(orchestrator, "worker@t1")
        assert.strictEqual(given.status, "crashed")
        assert.include(given.reason, "policy.restart allows 3 restarts")
        assert.deepStrictEqual(worker.calls, ["one", "one", "one", "one"])
        // Both callers' replies are in lead@t1's inbox: the one whose turn crashed and the queued one.
        yield* until(() => Effect.map(api.pendingReplies(ref), (r) => r.length === 2))
        const replies = yield* api.pendingReplies(ref)
        const byId = new Map(replies.map((r) => [r.correlationId, r]))
        for (const id of [one.correlationId, two.correlationId]) {
          const reply = byId.get(id!)
          assert.isDefined(reply, `no reply for ${id} in lead@t1's inbox after worker@t1 was given up`)
          assert.strictEqual(reply!.status, "error")
          assert.strictEqual(reply!.error?.code, "AGENT_UNAVAILABLE")
          assert.include(reply!.error?.message ?? "", "worker@t1")
          assert.include(reply!.error?.message ?? "", "crashed")
        }
        // Well before the requests' deadline (60 s): nothing is left outstanding for it to expire.
        assert.isBelow((yield* TestClock.currentTimeMillis) - started, 60_000)
        assert.strictEqual(yield* api.pendingAsync(ref), 0)
      }),
    durableTimeout
  )
})
