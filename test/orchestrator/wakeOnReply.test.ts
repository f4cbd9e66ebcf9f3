// An idle caller is woken by its async reply (issue 16: "the reply is delivered into the caller's next step
// and persisted in its log, never lost"): an idle or released caller gets one turn whose input is the reply;
// a burst of replies makes one wake-up turn; a busy caller reads the reply at its next step (no second turn);
// a stopped or crashed caller is not woken and the reply stays in its inbox; a caller that goes down during
// its wake-up turn gets the reply exactly once after the restart. Scripted models are the only fake; real
// files under a temporary state root where an instance is released or restarted; every timer is virtual.
import { NodeContext } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import type { Message, Model } from "effect-swarm"
import { AgentInstance, Orchestrator, Scripted } from "effect-swarm"
import {
  baseLayer,
  conversation,
  durableContext,
  durableTimeout,
  echoModel,
  hanging,
  info,
  leadOf,
  loadCalls,
  openDurable,
  scopedTest,
  shutDown,
  until
} from "./helpers.js"

/** The correlation ids of the async replies in a conversation, in order. */
const replyIds = (messages: ReadonlyArray<Message.Message>) =>
  messages.flatMap((m) => m.source.type === "agent" && m.source.kind === "reply" ? [m.source.correlationId] : [])

/** An in-memory orchestrator of the calls bundle; its instances by label. */
const inMemory = (models: Readonly<Record<string, Model.Service>>, options: Orchestrator.Options = {}) =>
  Effect.gen(function*() {
    const bundle = yield* loadCalls
    const instances = new Map<string, AgentInstance.AgentInstance>()
    const orchestrator = yield* Orchestrator.makeInMemory(bundle, "team", {
      ...options,
      models,
      setup: (instance, context) =>
        Effect.zipRight(
          Effect.sync(() => void instances.set(instance.label, instance)),
          options.setup?.(instance, context) ?? Effect.void
        )
    })
    const api = orchestrator.agentsApi!
    const lead = leadOf(orchestrator)
    const messages = (label: string) => Effect.map(AgentInstance.conversation(instances.get(label)!), (c) => c.messages)
    const turns = (label: string) => Effect.map(AgentInstance.history(instances.get(label)!), (h) => h.length)
    /** An async request of lead@t1 (as its agents tool makes it) to `worker@key`. */
    const ask = (input: string, instanceKey = "t1") =>
      Effect.map(
        api.forInstance(lead).request({ target: "worker", instanceKey, input, async: true }),
        (r) => r.correlationId
      )
    return { orchestrator, api, lead, instances, messages, turns, ask }
  })

describe("an idle caller woken by its async reply", () => {
  scopedTest(
    "an idle caller gets one turn whose input is the reply; it is in its log once",
    () =>
      Effect.gen(function*() {
        const lead = echoModel()
        const worker = echoModel()
        const swarm = yield* inMemory({ lead: lead.service, worker: worker.service })
        yield* swarm.orchestrator.request("lead@t1", "hello")
        const id = yield* swarm.ask("count")
        yield* until(() => Effect.succeed(lead.calls.length === 2))
        assert.include(lead.calls[1], `[async reply from worker@t1 to request ${id}: ok]`)
        assert.include(lead.calls[1], "echo: count")
        yield* until(() => Effect.map(info(swarm.orchestrator, "lead@t1"), (i) => i.status === "idle"))
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id])
        assert.strictEqual(yield* swarm.turns("lead@t1"), 2)
        assert.deepStrictEqual(yield* swarm.api.pendingReplies(swarm.lead), [])
        assert.strictEqual(yield* swarm.api.pendingAsync(swarm.lead), 0)
        // Its next turn does not get the reply again.
        yield* swarm.orchestrator.request("lead@t1", "next")
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "with calls.wakeOnReply false the reply waits in the inbox for the caller's next turn",
    () =>
      Effect.gen(function*() {
        const lead = echoModel()
        const swarm = yield* inMemory({ lead: lead.service, worker: echoModel().service }, {
          calls: { wakeOnReply: false }
        })
        yield* swarm.orchestrator.request("lead@t1", "hello")
        const id = yield* swarm.ask("count")
        yield* until(() => Effect.map(swarm.api.pendingReplies(swarm.lead), (r) => r.length === 1))
        const lead1 = yield* info(swarm.orchestrator, "lead@t1")
        assert.deepStrictEqual([lead1.status, lead1.queued, lead.calls.length], ["idle", 0, 1])
        yield* swarm.orchestrator.request("lead@t1", "next")
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id])
        assert.strictEqual(yield* swarm.turns("lead@t1"), 2)
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest("a busy caller reads the reply at its next step: no second turn", () =>
    Effect.gen(function*() {
      // Step 1 asks worker async, step 2 asks it again synchronously: the worker's mailbox is FIFO, so the
      // async reply is in lead's inbox (put at the end of that turn) before the second request runs.
      const lead = yield* Scripted.make([
        { toolCalls: [{ name: "agents__request", arguments: { target: "worker", input: "count", async: true } }] },
        { toolCalls: [{ name: "agents__request", arguments: { target: "worker", input: "again" } }] },
        { text: "done" }
      ])
      const swarm = yield* inMemory({ lead, worker: echoModel().service })
      const result = yield* swarm.orchestrator.request("lead@t1", "go")
      assert.strictEqual(result.finishReason, "text_response")
      const messages = yield* swarm.messages("lead@t1")
      assert.strictEqual(replyIds(messages).length, 1)
      // Delivered inside the turn, before its last step's answer.
      const at = messages.findIndex((m) => m.source.type === "agent" && m.source.kind === "reply")
      assert.isBelow(at, messages.length - 1)
      // The turn end found nothing waiting: no wake-up message was queued, no second turn.
      const listed = yield* info(swarm.orchestrator, "lead@t1")
      assert.deepStrictEqual([listed.status, listed.queued], ["idle", 0])
      assert.strictEqual(yield* swarm.turns("lead@t1"), 1)
      assert.deepStrictEqual(yield* swarm.api.pendingReplies(swarm.lead), [])
    }).pipe(Effect.provide(baseLayer)))

  scopedTest(
    "replies that arrive during the caller's turn make one wake-up turn with all of them",
    () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const lead = echoModel((text) => text === "busy" ? Deferred.await(gate) : Effect.void)
        const swarm = yield* inMemory({ lead: lead.service, worker: echoModel().service })
        const busy = yield* Effect.fork(swarm.orchestrator.request("lead@t1", "busy"))
        yield* until(() => Effect.succeed(lead.calls.length === 1))
        // A burst: three callees answer while lead's turn waits for its model.
        const ids = [yield* swarm.ask("one", "a"), yield* swarm.ask("two", "b"), yield* swarm.ask("three", "c")]
        yield* until(() => Effect.map(swarm.api.pendingReplies(swarm.lead), (r) => r.length === 3))
        const during = yield* info(swarm.orchestrator, "lead@t1")
        assert.deepStrictEqual([during.status, during.queued, lead.calls.length], ["processing", 0, 1])
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(busy)
        yield* until(() => Effect.succeed(lead.calls.length === 2))
        yield* until(() => Effect.map(info(swarm.orchestrator, "lead@t1"), (i) => i.status === "idle"))
        const delivered = replyIds(yield* swarm.messages("lead@t1"))
        assert.deepStrictEqual([...delivered].sort(), [...ids].sort(), "each reply once")
        assert.strictEqual(yield* swarm.turns("lead@t1"), 2, "the busy turn and one wake-up turn")
        assert.strictEqual(lead.calls.length, 2)
        assert.strictEqual((yield* info(swarm.orchestrator, "lead@t1")).queued, 0)
        assert.deepStrictEqual(yield* swarm.api.pendingReplies(swarm.lead), [])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a wake-up turn that ends before its first step does not wake the caller again: the reply waits",
    () =>
      Effect.gen(function*() {
        const lead = echoModel()
        const ended: Array<string> = []
        // Lead's turns on a reply end at once (a turn middleware answers without running a step).
        const swarm = yield* inMemory({ lead: lead.service, worker: echoModel().service }, {
          setup: (instance) =>
            instance.ref.agentName !== "lead" ?
              Effect.void :
              instance.pipeline.register("turn", (ctx, next) =>
                String(ctx.inputEvent.input ?? "").startsWith("[async reply") ?
                  Effect.sync(() => {
                    ended.push(ctx.turnId)
                    return { turnId: ctx.turnId, finishReason: "error" as const, error: { message: "not now" } }
                  }) :
                  next)
        })
        yield* swarm.orchestrator.request("lead@t1", "hello")
        const id = yield* swarm.ask("count")
        yield* until(() => Effect.succeed(ended.length === 1))
        // However long it runs, no second wake-up: the turn end finds the same reply and leaves it.
        for (let i = 0; i < 200; i++) yield* Effect.yieldNow()
        assert.strictEqual(ended.length, 1)
        const listed = yield* info(swarm.orchestrator, "lead@t1")
        assert.deepStrictEqual([listed.status, listed.queued], ["idle", 0])
        assert.deepStrictEqual((yield* swarm.api.pendingReplies(swarm.lead)).map((r) => r.correlationId), [id])
        // Its next turn delivers it, once (the wake-up's input message already holds it).
        yield* swarm.orchestrator.request("lead@t1", "next")
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id])
        assert.deepStrictEqual(yield* swarm.api.pendingReplies(swarm.lead), [])
        assert.deepStrictEqual(lead.calls, ["hello", "next"])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a caller whose last turn ended awaiting approval is not woken; the reply waits in its inbox",
    () =>
      Effect.gen(function*() {
        const lead = echoModel()
        // Lead's turn "deploy" pauses for a human decision (as a tool needing approval would end it).
        const swarm = yield* inMemory({ lead: lead.service, worker: echoModel().service }, {
          setup: (instance) =>
            instance.ref.agentName !== "lead" ?
              Effect.void :
              instance.pipeline.register("turn", (ctx, next) =>
                ctx.inputEvent.input === "deploy" ?
                  Effect.succeed({ turnId: ctx.turnId, finishReason: "awaiting_approval" as const }) :
                  next)
        })
        const paused = yield* swarm.orchestrator.request("lead@t1", "deploy")
        assert.strictEqual(paused.finishReason, "awaiting_approval")
        const id = yield* swarm.ask("count")
        yield* until(() => Effect.map(swarm.api.pendingReplies(swarm.lead), (r) => r.length === 1))
        for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
        const listed = yield* info(swarm.orchestrator, "lead@t1")
        assert.deepStrictEqual([listed.status, listed.queued, lead.calls.length], ["idle", 0, 0])
        assert.deepStrictEqual((yield* swarm.api.pendingReplies(swarm.lead)).map((r) => r.correlationId), [id])
        // Its next message continues the paused turn first (its step delivers the reply), then runs; once a
        // turn of it ends otherwise, replies wake it again.
        yield* swarm.orchestrator.request("lead@t1", "next")
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id])
        assert.strictEqual(lead.calls.length, 2)
        const second = yield* swarm.ask("again")
        yield* until(() => Effect.succeed(lead.calls.length === 3))
        yield* until(() => Effect.map(swarm.api.pendingReplies(swarm.lead), (r) => r.length === 0))
        yield* until(() => Effect.map(info(swarm.orchestrator, "lead@t1"), (i) => i.status === "idle"))
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id, second])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a stopped caller is not woken; the reply stays in its inbox until it runs again",
    () =>
      Effect.gen(function*() {
        const lead = echoModel()
        const swarm = yield* inMemory({ lead: lead.service, worker: echoModel().service })
        yield* swarm.orchestrator.request("lead@t1", "hello")
        yield* swarm.orchestrator.stop("lead@t1")
        const id = yield* swarm.ask("count")
        yield* until(() => Effect.map(swarm.api.pendingReplies(swarm.lead), (r) => r.length === 1))
        const stopped = yield* info(swarm.orchestrator, "lead@t1")
        assert.deepStrictEqual([stopped.status, stopped.queued, lead.calls.length], ["stopped", 0, 1])
        yield* swarm.orchestrator.restart("lead@t1")
        yield* swarm.orchestrator.request("lead@t1", "back")
        assert.deepStrictEqual(replyIds(yield* swarm.messages("lead@t1")), [id])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest(
    "a crashed caller (restart limit reached) is not woken; the reply stays in its inbox",
    () =>
      Effect.gen(function*() {
        const dies: Model.Service = { ...hanging, generate: () => Effect.dieMessage("the model process died") }
        const swarm = yield* inMemory({ lead: dies, worker: echoModel().service }, {
          supervision: { maxRestarts: 0 }
        })
        yield* swarm.orchestrator.send("lead@t1", "hello")
        yield* until(() => Effect.map(info(swarm.orchestrator, "lead@t1"), (i) => i.status === "crashed"))
        yield* swarm.ask("count")
        yield* until(() => Effect.map(swarm.api.pendingReplies(swarm.lead), (r) => r.length === 1))
        const crashed = yield* info(swarm.orchestrator, "lead@t1")
        assert.deepStrictEqual([crashed.status, crashed.queued], ["crashed", 0])
      }).pipe(Effect.provide(baseLayer))
  )

  scopedTest("a released caller comes back from its log and gets its reply", () =>
    Effect.gen(function*() {
      const { context } = yield* durableContext("es-orch-wake-")
      const bundle = yield* loadCalls
      const lead = echoModel()
      const { orchestrator } = yield* openDurable(bundle, "team", context, {
        models: { lead: lead.service, worker: echoModel().service }
      })
      const api = orchestrator.agentsApi!
      const ref = leadOf(orchestrator)
      yield* orchestrator.request("lead@t1", "hello")
      assert.isTrue(yield* orchestrator.release("lead@t1"))
      assert.isUndefined((yield* orchestrator.list).find((i) => i.address === "lead@t1"))
      const { correlationId } = yield* api.forInstance(ref).request({ target: "worker", input: "count", async: true })
      yield* until(() => Effect.succeed(lead.calls.length === 2))
      yield* until(() => Effect.map(info(orchestrator, "lead@t1"), (i) => i.status === "idle"))
      const log = (yield* conversation(context, orchestrator.workspaceId, "lead", "t1")).messages
      assert.deepStrictEqual(replyIds(log), [correlationId])
      assert.strictEqual(log.filter((m) => m.data.role === "user").length, 2, "hello, then the reply")
      assert.deepStrictEqual(yield* api.pendingReplies(ref), [])
    }).pipe(Effect.provide(NodeContext.layer)), durableTimeout)

  scopedTest(
    "a caller that goes down during its wake-up turn gets the reply exactly once after the restart",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-wake-")
        const bundle = yield* loadCalls
        const first = yield* openDurable(bundle, "team", context, { models: { lead: hanging, worker: hanging } })
        const workspaceId = first.orchestrator.workspaceId
        const ref = { workspaceId, agentName: "lead", instanceKey: "t1" }
        const { correlationId } = yield* first.orchestrator.agentsApi!.forInstance(ref).request({
          target: "worker",
          input: "count",
          async: true,
          timeoutMs: 600_000
        })
        // The callee is still running when the orchestrator goes: its message stays in its inbox.
        yield* shutDown(first.scope)

        // Second process: the callee answers, the caller is woken and goes down during its wake-up turn.
        const worker = echoModel()
        const second = yield* openDurable(bundle, "team", context, {
          models: { lead: hanging, worker: worker.service }
        })
        yield* until(() => Effect.map(second.orchestrator.list, (l) => l.some((i) => i.address === "lead@t1")))
        yield* until(() => Effect.map(info(second.orchestrator, "lead@t1"), (i) => i.status === "processing"))
        assert.deepStrictEqual(worker.calls, ["count"])
        yield* shutDown(second.scope)

        // Third process: the wake-up turn is continued from the log; the reply is there once.
        const lead = echoModel()
        const third = yield* openDurable(bundle, "team", context, {
          models: { lead: lead.service, worker: echoModel().service }
        })
        yield* until(() => Effect.succeed(lead.calls.length === 1))
        yield* until(() => Effect.map(info(third.orchestrator, "lead@t1"), (i) => i.status === "idle"))
        assert.include(lead.calls[0], `to request ${correlationId}: ok]`)
        const log = (yield* conversation(context, workspaceId, "lead", "t1")).messages
        assert.deepStrictEqual(replyIds(log), [correlationId])
        assert.deepStrictEqual(yield* third.orchestrator.agentsApi!.pendingReplies(ref), [])
        yield* third.orchestrator.request("lead@t1", "next")
        assert.deepStrictEqual(replyIds((yield* conversation(context, workspaceId, "lead", "t1")).messages), [
          correlationId
        ])
        yield* Scope.close(third.scope, Exit.void)
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
