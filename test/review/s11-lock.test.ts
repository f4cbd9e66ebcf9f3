// Second hostile review (issue 16, session 11): two orchestrators on one state root, as two processes
// would be. Public API only: durable orchestrators of the `default` fixture on real files, the echo model
// (the only fake), the TestClock.
// Session 11 (65012ef): the second one's request no longer crash-looped on InstanceLocked, it failed typed.
// Session 12 (helper lock): the second one is refused when it starts (WorkspaceLocked, the workspace's
// orchestrator.lock), before anything is written; a writer that is not an orchestrator (a CLI `send`, a tool on
// the stores) holding an instance still makes that instance's requests fail typed, not crash.
import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { MessageEvent, MessageStore, Orchestrator } from "effect-swarm"
import { baseLayer, durableContext, echoModel, loadBundle, scopedTest, text, until } from "../orchestrator/helpers.js"
import { storesLayer } from "../support/stores.js"
import { msg } from "../workspace/helpers.js"

describe("review s11: one workspace, two orchestrators", () => {
  scopedTest(
    "a second orchestrator on the state root is refused at start, naming the first; nothing reaches its model",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-s11-two-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const models = { models: { alpha: model.service, beta: model.service } }
        const first = yield* Orchestrator.make(bundle, undefined, models).pipe(Effect.provide(context))
        assert.strictEqual(text(yield* first.request("alpha@one", "hello")), "echo: hello")
        // The second one has its own stores on the same files, as another process would.
        const other = yield* Layer.build(storesLayer(root))
        const refused = yield* Effect.flip(Orchestrator.make(bundle, undefined, models).pipe(Effect.provide(other)))
        assert.strictEqual(refused._tag, "WorkspaceLocked", refused.message)
        assert.include(refused.message, "orchestrator.lock")
        assert.include(refused.message, "another orchestrator in this process")
        assert.deepStrictEqual(model.calls, ["hello"])
        // The first one is untouched.
        assert.strictEqual(text(yield* first.request("alpha@one", "again")), "echo: again")
      }).pipe(Effect.provide(baseLayer)),
    60_000
  )

  scopedTest(
    "an instance another writer holds (not an orchestrator: its stores) fails its requests typed, naming the " +
      "lock; it is not a crash retried forever",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-s11-writer-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const orchestrator = yield* Orchestrator.make(bundle, undefined, {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        // Another writer of alpha@one (a CLI `send` would be one): its store holds the instance's writer lock.
        const other = yield* Layer.build(storesLayer(root))
        const writer = yield* Effect.provide(MessageStore.MessageStore, other)
        yield* writer.append({ workspaceId: orchestrator.workspaceId, agentName: "alpha", instanceKey: "one" }, [
          MessageEvent.append(msg("m-other", "written elsewhere"))
        ])
        const pending = yield* Effect.fork(Effect.exit(orchestrator.request("alpha@one", "intruder")))
        yield* until(() => Effect.map(orchestrator.list, (l) => l.length > 0))
        // Two minutes: well inside the other writer's hold of the lock (MessageStore idleTimeout 5 minutes).
        yield* TestClock.adjust("2 minutes")
        const polled = yield* Fiber.poll(pending)
        const listed = JSON.stringify(yield* orchestrator.list)
        yield* Fiber.interrupt(pending)
        assert.isTrue(Option.isSome(polled), `the request still waits after 2 minutes: ${listed}`)
        const exit = Option.getOrThrow(polled)
        assert.isTrue(Exit.isSuccess(exit) && Exit.isFailure(exit.value), `not a typed failure: ${String(exit)}`)
        assert.notInclude(model.calls, "intruder")
        const failure = Exit.isSuccess(exit) && Exit.isFailure(exit.value) ? String(exit.value.cause) : ""
        assert.include(failure, "locked for writing", failure)
        assert.include(failure, "writer.lock", failure)
        assert.deepStrictEqual((yield* orchestrator.list).map((i) => i.status), ["idle"], "no crash loop")
      }).pipe(Effect.provide(baseLayer)),
    60_000
  )
})
