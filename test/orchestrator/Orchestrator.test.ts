import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, Scope, TestClock } from "effect"
import { AgentAddress, Message, Orchestrator } from "effect-swarm"
import {
  baseLayer,
  conversation,
  durableContext,
  echoModel,
  inMemory,
  loadBundle,
  openDurable,
  scopedTest,
  text,
  untilSleep
} from "./helpers.js"

describe("AgentAddress", () => {
  it("parses agent@instanceKey, agent alone as agent@default, and refuses malformed ones with a reason", () => {
    assert.deepStrictEqual(Either.getOrThrow(AgentAddress.parseEither("coder@thread-1")), {
      agentName: "coder",
      instanceKey: "thread-1"
    })
    assert.deepStrictEqual(Either.getOrThrow(AgentAddress.parseEither("coder")), {
      agentName: "coder",
      instanceKey: "default"
    })
    assert.deepStrictEqual(Either.getOrThrow(AgentAddress.parseEither("a@b@c")), { agentName: "a", instanceKey: "b@c" })
    for (const bad of ["", "@x", "a@", "a b@x", "a@x\n"]) {
      const parsed = AgentAddress.parseEither(bad)
      assert.isTrue(Either.isLeft(parsed), bad)
      if (Either.isLeft(parsed)) {
        assert.strictEqual(parsed.left.code, "AGENT_ADDRESS_INVALID")
        assert.include(parsed.left.message, "agent@instanceKey")
      }
    }
  })
})

describe("Orchestrator", () => {
  scopedTest(
    "request runs a turn on the instance, created on its first message; list and the known agents",
    () =>
      Effect.gen(function*() {
        const model = echoModel()
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        assert.deepStrictEqual(orchestrator.agents.map((a) => a.name), ["alpha", "beta"])
        assert.strictEqual(orchestrator.entryAgent, "alpha")
        assert.deepStrictEqual(yield* orchestrator.list, [])
        const result = yield* orchestrator.request("alpha@one", "hello")
        assert.strictEqual(result.finishReason, "text_response")
        assert.strictEqual(text(result), "echo: hello")
        const listed = yield* orchestrator.list
        assert.deepStrictEqual(listed.map((i) => [i.address, i.status, i.queued]), [["alpha@one", "idle", 0]])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "unknown agents fail with AGENT_NOT_FOUND naming the known ones; a bad address is a typed error",
    () =>
      Effect.gen(function*() {
        const model = echoModel()
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        const notFound = yield* Effect.flip(orchestrator.send("gamma@1", "hi"))
        assert.strictEqual(notFound._tag, "AgentNotFound")
        if (notFound._tag === "AgentNotFound") {
          assert.strictEqual(notFound.code, "AGENT_NOT_FOUND")
          assert.include(notFound.message, "alpha, beta")
        }
        const bad = yield* Effect.flip(orchestrator.request("@x", "hi"))
        assert.strictEqual(bad._tag, "InvalidAgentAddress")
        assert.deepStrictEqual(model.calls, [])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "one FIFO mailbox per instance, one turn at a time; instances run concurrently",
    () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const model = echoModel(() => Deferred.await(gate))
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        for (const n of [1, 2, 3]) yield* orchestrator.send("alpha@one", `m${n}`)
        const last = yield* Effect.fork(orchestrator.request("alpha@one", "m4"))
        const other = yield* Effect.fork(orchestrator.request("beta@one", "b1"))
        // Both instances are inside a model call at once; alpha's other messages wait in its mailbox.
        while (model.calls.length < 2) yield* Effect.yieldNow()
        const queued = new Map((yield* orchestrator.list).map((i) => [i.address, i]))
        assert.strictEqual(queued.get("alpha@one")?.status, "processing")
        assert.strictEqual(queued.get("alpha@one")?.queued, 3)
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(text(yield* Fiber.join(last)), "echo: m4")
        assert.strictEqual(text(yield* Fiber.join(other)), "echo: b1")
        assert.deepStrictEqual(model.calls.filter((c) => c.startsWith("m")), ["m1", "m2", "m3", "m4"])
        assert.strictEqual(model.maxRunning(), 2)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "an interrupted request leaves the mailbox before its turn starts: the callee never sees it",
    () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const model = echoModel((t) => t === "first" ? Deferred.await(gate) : Effect.void)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        const first = yield* Effect.fork(orchestrator.request("alpha@one", "first"))
        while (model.calls.length < 1) yield* Effect.yieldNow()
        const second = yield* Effect.fork(
          orchestrator.request("alpha@one", "second").pipe(Effect.timeout("10 seconds"))
        )
        while ((yield* orchestrator.list)[0]?.queued !== 1) yield* Effect.yieldNow()
        yield* TestClock.adjust("10 seconds")
        const timedOut = yield* Fiber.await(second)
        assert.isTrue(Exit.isFailure(timedOut))
        assert.strictEqual((yield* orchestrator.list)[0]?.queued, 0)
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(text(yield* Fiber.join(first)), "echo: first")
        const third = yield* orchestrator.request("alpha@one", "third")
        assert.strictEqual(text(third), "echo: third")
        assert.deepStrictEqual(model.calls, ["first", "third"])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "an interrupted request interrupts its running turn; the instance takes the next message",
    () =>
      Effect.gen(function*() {
        const model = echoModel((t) => t === "slow" ? Effect.sleep("1 hour") : Effect.void)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        const slow = yield* Effect.fork(orchestrator.request("alpha@one", "slow").pipe(Effect.timeout("5 seconds")))
        while (model.calls.length < 1) yield* Effect.yieldNow()
        yield* TestClock.adjust("5 seconds")
        assert.isTrue(Exit.isFailure(yield* Fiber.await(slow)))
        const listed = (yield* orchestrator.list)[0]
        assert.strictEqual(listed?.status, "idle")
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "stop refuses messages with AGENT_UNAVAILABLE and fails queued requests; restart brings it back",
    () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const model = echoModel((t) => t === "busy" ? Deferred.await(gate) : Effect.void)
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        yield* orchestrator.send("alpha@one", "busy")
        while (model.calls.length < 1) yield* Effect.yieldNow()
        const queued = yield* Effect.fork(orchestrator.request("alpha@one", "queued"))
        yield* Effect.yieldNow()
        yield* orchestrator.stop("alpha@one")
        const failed = yield* Effect.flip(Fiber.join(queued))
        assert.strictEqual(failed._tag, "AgentUnavailable")
        const refused = yield* Effect.flip(orchestrator.send("alpha@one", "more"))
        assert.strictEqual(refused._tag, "AgentUnavailable")
        if (refused._tag === "AgentUnavailable") assert.strictEqual(refused.code, "AGENT_UNAVAILABLE")
        assert.strictEqual((yield* orchestrator.list)[0]?.status, "stopped")
        yield* orchestrator.restart("alpha@one")
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(text(yield* orchestrator.request("alpha@one", "after")), "echo: after")
        assert.strictEqual((yield* orchestrator.list)[0]?.restarts, 1)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "closing the scope fails queued requests with shutting_down, keeps them in the inbox; durable instances reopen from their log",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext()
        const bundle = yield* loadBundle
        const gate = yield* Deferred.make<void>()
        const model = echoModel((t) => t === "hold" ? Deferred.await(gate) : Effect.void)
        const { orchestrator, scope } = yield* openDurable(bundle, "default", context, {
          models: { alpha: model.service, beta: model.service }
        })
        assert.strictEqual(text(yield* orchestrator.request("alpha@one", "remember me")), "echo: remember me")
        yield* orchestrator.send("alpha@one", "hold")
        while (model.calls.length < 2) yield* Effect.yieldNow()
        const waiting = yield* Effect.fork(orchestrator.request("alpha@one", "never ran"))
        while ((yield* orchestrator.list)[0]?.queued !== 1) yield* Effect.yieldNow()
        // The in-flight turn gets the grace period (30 s by default) on the Clock, then is interrupted.
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        const failed = yield* Effect.flip(Fiber.join(waiting))
        assert.strictEqual(failed._tag, "AgentUnavailable")
        if (failed._tag === "AgentUnavailable") {
          assert.strictEqual(failed.status, "shutting_down")
          assert.strictEqual(failed.reason, "orchestrator_shutdown")
        }
        yield* untilSleep(30_000)
        yield* TestClock.adjust("30 seconds")
        yield* Fiber.join(closing)
        // The next orchestrator opens the instance from its files: the turn interrupted at the end of the grace
        // period was left open (orchestrator_shutdown, as after a crash) and is continued first; then the message
        // queued at shutdown (kept in the inbox) runs, then the new one.
        yield* Deferred.succeed(gate, undefined)
        const again = yield* Orchestrator.make(bundle, "default", {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        yield* again.request("alpha@one", "next")
        assert.deepStrictEqual(model.calls, ["remember me", "hold", "hold", "never ran", "next"])
        const messages = yield* conversation(context, again.workspaceId, "alpha", "one")
        assert.deepStrictEqual(messages.messages.map((m) => Message.text(m.data)), [
          "remember me",
          "echo: remember me",
          "hold",
          "echo: hold",
          "never ran",
          "echo: never ran",
          "next",
          "echo: next"
        ])
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
