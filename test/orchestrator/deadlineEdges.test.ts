// Two edges of request deadlines and reloads, on the TestClock: (a) a request whose deadline passes while
// its target instance is still starting times out at the deadline, and the instance, once started, never
// runs the expired message; (b) the async caller of a turn interrupted by Orchestrator.reload gets a typed
// AGENT_TURN_FAILED reply naming the reload (in its durable reply inbox), never a hang.
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as path from "node:path"
import {
  baseLayer,
  durableContext,
  echoModel,
  hanging,
  inMemory,
  loadCalls,
  openDurable,
  scopedTest,
  until,
  untilSleep
} from "./helpers.js"

describe("request deadlines and reloads: edge cases", () => {
  scopedTest(
    "a deadline passing while the target is still starting: AGENT_REQUEST_TIMEOUT at the deadline, the started instance never runs the expired message",
    () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const model = echoModel()
        let started = 0
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
          setup: () => Effect.zipRight(Effect.sync(() => started++), Deferred.await(gate))
        })
        const start = yield* TestClock.currentTimeMillis
        const late = yield* Effect.fork(orchestrator.request("alpha@one", "late", { timeout: "3 seconds" }))
        yield* until(() => Effect.succeed(started === 1))
        yield* untilSleep(start + 3_000)
        yield* TestClock.adjust("2999 millis")
        assert.isTrue(Option.isNone(yield* Fiber.poll(late)), "not before its deadline")
        const starting = (yield* orchestrator.list).find((i) => i.address === "alpha@one")
        assert.strictEqual(starting?.status, "starting", "the instance is still starting at the deadline")
        yield* TestClock.adjust("1 millis")
        yield* until(() => Effect.map(Fiber.poll(late), Option.isSome))
        const exit = yield* Fiber.await(late)
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(failure), "the request failed")
        if (Option.isSome(failure)) {
          assert.strictEqual(failure.value.code, "AGENT_REQUEST_TIMEOUT")
          assert.include(failure.value.message, "alpha@one timed out after 3000ms")
        }
        // The instance finishes starting: the expired message is gone, the next one is the first it runs.
        yield* Deferred.succeed(gate, undefined)
        const next = yield* orchestrator.request("alpha@one", "next", { timeout: "3 seconds" })
        assert.strictEqual(next.finishReason, "text_response")
        assert.deepStrictEqual(model.calls, ["next"], "the expired message never reached the model")
        assert.strictEqual((yield* orchestrator.list).find((i) => i.address === "alpha@one")?.queued ?? 0, 0)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "the async caller of a turn interrupted by Orchestrator.reload gets an AGENT_TURN_FAILED reply naming the reload, in its reply inbox",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-orch-reload-async-")
        const bundle = yield* loadCalls
        // Not woken by the reply (wakeOnReply.test.ts covers that): the reply is read where it waits.
        const { orchestrator } = yield* openDurable(bundle, "team", context, {
          models: { lead: hanging, worker: hanging },
          calls: { wakeOnReply: false }
        })
        const api = orchestrator.agentsApi!
        const lead = { workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        yield* api.forInstance(lead).request({ target: "worker", input: "work", async: true, timeoutMs: 600_000 })
        yield* until(() =>
          Effect.map(orchestrator.list, (l) => l.some((i) => i.address === "worker@t1" && i.status === "processing"))
        )
        const reload = yield* Effect.fork(orchestrator.reload(bundle, ["worker"]))
        // The worker's turn outlives the reload's grace period (the Swarm's default, 30 s on the TestClock).
        const now = yield* TestClock.currentTimeMillis
        yield* untilSleep(now + 30_000)
        yield* TestClock.adjust("30 seconds")
        const report = yield* Fiber.join(reload)
        assert.deepStrictEqual(report.interrupted, ["worker@t1"])
        yield* until(() => Effect.map(api.pendingReplies(lead), (r) => r.length === 1))
        const [reply] = yield* api.pendingReplies(lead)
        assert.strictEqual(reply!.status, "error")
        assert.strictEqual(reply!.error?.code, "AGENT_TURN_FAILED")
        assert.include(reply!.error?.message, "config_change")
        assert.strictEqual(yield* api.pendingAsync(lead), 0)
        // Durable: the reply is in the caller's reply inbox file.
        const fs = yield* FileSystem.FileSystem
        const file = path.join(root, "workspaces", lead.workspaceId, "instances", "lead@t1", "inbox", "replies.jsonl")
        const lines = (yield* fs.readFileString(file)).trim().split("\n").map((l) => JSON.parse(l))
        assert.strictEqual(lines.length, 1)
        assert.strictEqual(lines[0].error.code, "AGENT_TURN_FAILED")
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
