// Async requests outlive their caller's process: the request is on disk on the caller's side before the
// correlation id is returned, the callee's side answers into the caller's inbox whoever waits, and a new
// orchestrator on the same root delivers the reply into the caller's next step exactly once, or expires it
// with AGENT_REQUEST_TIMEOUT when its deadline (on the Clock) has passed. Real files under a temporary
// state root; scripted models are the only fake; every timer runs on the TestClock.
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import type { Bundle, Model } from "effect-swarm"
import { Message } from "effect-swarm"
import * as path from "node:path"
import {
  conversation,
  type DurableContext,
  durableContext,
  echoModel,
  hanging,
  loadCalls,
  openDurable,
  scopedTest,
  shutDown,
  until
} from "./helpers.js"

type Context = DurableContext

/** Callers are not woken by their replies here (wakeOnReply.test.ts covers that): the replies wait in the inbox. */
const open = (bundle: Bundle.Bundle, context: Context, models: Readonly<Record<string, Model.Service>>) =>
  openDurable(bundle, "team", context, { models, calls: { wakeOnReply: false } })

/** The async replies in the caller's log, with their text. */
const replies = (context: Context, workspaceId: string) =>
  conversation(context, workspaceId, "lead", "t1").pipe(
    Effect.map((c) =>
      c.messages.flatMap((m) =>
        m.source.type === "agent" && m.source.kind === "reply" ?
          [{ correlationId: m.source.correlationId, text: Message.text(m.data) }] :
          []
      )
    )
  )

/** A caller's async request to worker@t1, queued behind a turn that never ends; then the orchestrator goes. */
const requestThenShutDown = (bundle: Bundle.Bundle, context: Context, root: string, timeoutMs: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const first = yield* open(bundle, context, { lead: hanging, worker: hanging })
    const api = first.orchestrator.agentsApi
    assert.isDefined(api, "the orchestrator wires the agents API by default")
    yield* first.orchestrator.send("worker@t1", "busy")
    const lead = { workspaceId: first.orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
    const response = yield* api!.forInstance(lead).request({ target: "worker", input: "count", async: true, timeoutMs })
    assert.isTrue(response.async)
    // On disk, fsynced, before the correlation id came back.
    const requests = yield* fs.readFileString(
      path.join(root, "workspaces", lead.workspaceId, "instances", "lead@t1", "inbox", "requests.jsonl")
    )
    assert.include(requests, response.correlationId)
    assert.strictEqual(yield* api!.pendingAsync(lead), 1)
    yield* shutDown(first.scope)
    return { correlationId: response.correlationId, workspaceId: lead.workspaceId }
  })

describe("async requests across a restart of the caller", () => {
  scopedTest(
    "the reply of a callee that ran after its caller's orchestrator went away lands in the caller's log exactly once",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-orch-async-")
        const bundle = yield* loadCalls
        const { correlationId, workspaceId } = yield* requestThenShutDown(bundle, context, root, 600_000)

        // A new orchestrator on the same root: the queued request runs (recovered from the callee's inbox),
        // its reply goes to lead@t1's inbox although nobody in this process asked for it.
        const worker = echoModel()
        const lead = echoModel()
        const second = yield* open(bundle, context, { lead: lead.service, worker: worker.service })
        yield* until(() => Effect.succeed(worker.calls.includes("count")))
        const api = second.orchestrator.agentsApi!
        const ref = { workspaceId, agentName: "lead", instanceKey: "t1" }
        yield* until(() => Effect.map(api.pendingReplies(ref), (r) => r.length === 1))
        assert.strictEqual(yield* api.pendingAsync(ref), 0)

        // The caller's next step reads it; later steps do not get it again.
        yield* second.orchestrator.request("lead@t1", "next")
        yield* second.orchestrator.request("lead@t1", "again")
        const delivered = yield* replies(context, workspaceId)
        assert.strictEqual(delivered.length, 1)
        assert.strictEqual(delivered[0]?.correlationId, correlationId)
        assert.include(delivered[0]?.text, "echo: count")
        assert.include(delivered[0]?.text, ": ok]")
        yield* Scope.close(second.scope, Exit.void)

        // A third start finds nothing left to deliver.
        const third = yield* open(bundle, context, { lead: echoModel().service, worker: echoModel().service })
        assert.deepStrictEqual(yield* third.orchestrator.agentsApi!.pendingReplies(ref), [])
        yield* Scope.close(third.scope, Exit.void)
      }).pipe(Effect.provide(NodeContext.layer))
  )

  scopedTest(
    "a request whose deadline passed while no reply came is expired into the restarted caller's log as AGENT_REQUEST_TIMEOUT",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-orch-async-")
        const bundle = yield* loadCalls
        // 40 s: the shutdown's grace period takes 30 of them.
        const { correlationId, workspaceId } = yield* requestThenShutDown(bundle, context, root, 40_000)

        // The callee hangs again in the new process: no reply comes.
        const lead = echoModel()
        const second = yield* open(bundle, context, { lead: lead.service, worker: hanging })
        const api = second.orchestrator.agentsApi!
        const ref = { workspaceId, agentName: "lead", instanceKey: "t1" }
        assert.strictEqual(yield* api.pendingAsync(ref), 1, "the restarted caller still counts it in flight")
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(yield* api.pendingReplies(ref), [], "not expired before its deadline")
        yield* TestClock.adjust("6 seconds")
        yield* second.orchestrator.request("lead@t1", "next")
        const delivered = yield* replies(context, workspaceId)
        assert.strictEqual(delivered.length, 1)
        assert.strictEqual(delivered[0]?.correlationId, correlationId)
        assert.include(delivered[0]?.text, "CODE: AGENT_REQUEST_TIMEOUT")
        assert.strictEqual(yield* api.pendingAsync(ref), 0)
        // The callee's turn, abandoned at this shutdown, answers too late: the timeout stays the only reply.
        yield* shutDown(second.scope)
        const third = yield* open(bundle, context, { lead: echoModel().service, worker: echoModel().service })
        yield* third.orchestrator.request("lead@t1", "later")
        assert.strictEqual((yield* replies(context, workspaceId)).length, 1)
        yield* Scope.close(third.scope, Exit.void)
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
