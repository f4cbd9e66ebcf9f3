// The orchestrator's lifecycle: durable inbox, graceful shutdown with a grace period and a reason, idle
// release and reconcile. Real files under a temporary state root; the model is the only fake; every timer
// runs on the TestClock.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Scope, TestClock } from "effect"
import type { Bundle } from "effect-swarm"
import { Instances, Orchestrator } from "effect-swarm"
import * as Lifecycle from "../../src/orchestrator/internal/lifecycle.js"
import { buildFixture, runUntil } from "../agent/process.js"
import {
  abandonReasons,
  bundleDir,
  conversation,
  type DurableContext,
  durableContext,
  echoModel,
  inboxFile,
  loadBundle,
  openDurable,
  scopedTest,
  until,
  untilSleep,
  userTexts
} from "./helpers.js"

/** A durable orchestrator of alpha and beta on `model`, in its own scope. */
const open = (
  bundle: Bundle.Bundle,
  context: DurableContext,
  model: ReturnType<typeof echoModel>,
  options: Orchestrator.Options = {}
) => openDurable(bundle, "default", context, { ...options, models: { alpha: model.service, beta: model.service } })

describe("Orchestrator lifecycle", () => {
  scopedTest(
    "shutdown(config_change) keeps queued messages in the inbox; the next orchestrator on the root delivers them in order",
    () =>
      Effect.gen(function*() {
        const { context, fs, root } = yield* durableContext("es-orch-life-")
        const bundle = yield* loadBundle
        const gate = yield* Deferred.make<void>()
        const first = echoModel((t) => t === "a1" || t === "b1" ? Deferred.await(gate) : Effect.void)
        const { orchestrator, scope } = yield* open(bundle, context, first)
        yield* orchestrator.send("alpha@one", "a1")
        yield* orchestrator.send("beta@two", "b1")
        yield* until(() => Effect.succeed(first.calls.length === 2))
        yield* orchestrator.send("alpha@one", "a2")
        const waiting = yield* Effect.fork(orchestrator.request("alpha@one", "a3"))
        yield* orchestrator.send("beta@two", "b2")
        // Durable on return: both puts are in the files before anything runs them.
        const alphaInbox = yield* fs.readFileString(inboxFile(root, orchestrator.workspaceId, "alpha@one"))
        assert.deepStrictEqual(
          alphaInbox.trim().split("\n").map((l) => (JSON.parse(l) as { input: string }).input),
          ["a1", "a2", "a3"]
        )

        const shutdown = yield* Effect.fork(orchestrator.shutdown("config_change"))
        const refused = yield* Effect.flip(Fiber.join(waiting))
        assert.strictEqual(refused._tag, "AgentUnavailable")
        if (refused._tag === "AgentUnavailable") {
          assert.strictEqual(refused.status, "shutting_down")
          assert.strictEqual(refused.reason, "config_change")
          assert.strictEqual(refused.code, "AGENT_UNAVAILABLE")
        }
        const late = yield* Effect.flip(orchestrator.send("beta@two", "b3"))
        assert.strictEqual(late._tag, "AgentUnavailable")
        // The in-flight turns (a1, b1) get the grace period (30 s by default), then are interrupted and recorded
        // as such in their logs.
        yield* untilSleep(30_000)
        yield* TestClock.adjust("30 seconds")
        yield* Fiber.join(shutdown)
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(first.calls, ["a1", "b1"])

        const abandoned = yield* abandonReasons(context, orchestrator.workspaceId, "alpha", "one")
        assert.strictEqual(abandoned.length, 1)
        assert.include(abandoned[0], "config_change: the turn did not finish within the grace period of 30s")

        // A new orchestrator on the same root delivers the queued messages without being asked, in their order;
        // the interrupted turns are not run again.
        const second = echoModel()
        const again = yield* open(bundle, context, second)
        yield* until(() => Effect.succeed(second.calls.length === 3))
        assert.deepStrictEqual(second.calls.filter((c) => c.startsWith("a")), ["a2", "a3"])
        assert.deepStrictEqual(second.calls.filter((c) => c.startsWith("b")), ["b2"])
        // Each message became exactly one turn input.
        assert.deepStrictEqual(yield* userTexts(context, again.orchestrator.workspaceId, "alpha", "one"), [
          "a1",
          "a2",
          "a3"
        ])
        assert.deepStrictEqual(yield* userTexts(context, again.orchestrator.workspaceId, "beta", "two"), ["b1", "b2"])
        // Everything delivered: the inbox files are empty again.
        yield* until(() =>
          Effect.map(
            Effect.all([
              fs.readFileString(inboxFile(root, again.orchestrator.workspaceId, "alpha@one")),
              fs.readFileString(inboxFile(root, again.orchestrator.workspaceId, "beta@two"))
            ]).pipe(Effect.orDie),
            ([a, b]) => a === "" && b === ""
          )
        )
        yield* Scope.close(again.scope, Exit.void)
      }).pipe(Effect.provide(NodeContext.layer))
  )

  scopedTest(
    "a turn that ends within the grace period answers its requester; the shutdown waits for it on the Clock",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-life-")
        const bundle = yield* loadBundle
        const model = echoModel((t) => t === "slow" ? Effect.sleep("10 seconds") : Effect.void)
        const { orchestrator, scope } = yield* open(bundle, context, model, {
          lifecycle: { gracePeriod: Duration.seconds(20) }
        })
        const slow = yield* Effect.fork(orchestrator.request("alpha@one", "slow"))
        yield* until(() => Effect.succeed(model.calls.length === 1))
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* untilSleep(20_000)
        yield* TestClock.adjust("10 seconds")
        const result = yield* Fiber.join(slow)
        assert.strictEqual(result.finishReason, "text_response")
        yield* Fiber.join(closing)
        assert.deepStrictEqual(yield* userTexts(context, orchestrator.workspaceId, "alpha", "one"), ["slow"])
      }).pipe(Effect.provide(NodeContext.layer))
  )

  scopedTest(
    "a message whose turn is in the log but was never acknowledged (a crash in between) is not run again",
    () =>
      Effect.gen(function*() {
        const { context, fs, root } = yield* durableContext("es-orch-life-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const first = yield* open(bundle, context, model)
        yield* first.orchestrator.request("alpha@one", "once")
        yield* Scope.close(first.scope, Exit.void)
        // The state a crash between the turn and its acknowledgement leaves: the put is back in the inbox.
        const logged = yield* conversation(context, first.orchestrator.workspaceId, "alpha", "one")
        const input = logged.messages.find((m) => m.data.role === "user")!
        const id = input.metadata["swarm.inbox"]
        assert.isString(id)
        const file = inboxFile(root, first.orchestrator.workspaceId, "alpha@one")
        yield* fs.writeFileString(
          file,
          JSON.stringify({
            v: 1,
            op: "put",
            id,
            agentName: "alpha",
            instanceKey: "one",
            input: "once",
            acceptedAt: 0
          }) +
            "\n"
        )
        const again = yield* open(bundle, context, model)
        // The recovered message is settled against the log: acknowledged, never asked of the model again.
        yield* until(() => Effect.map(fs.readFileString(file).pipe(Effect.orDie), (text) => text === ""))
        yield* again.orchestrator.request("alpha@one", "next")
        assert.deepStrictEqual(model.calls, ["once", "next"])
        assert.deepStrictEqual(yield* userTexts(context, again.orchestrator.workspaceId, "alpha", "one"), [
          "once",
          "next"
        ])
      }).pipe(Effect.provide(NodeContext.layer))
  )

  scopedTest(
    "idle release after lifecycle.idleSeconds closes the instance (its lock is free); the next message reopens it from its log",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-life-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const { orchestrator } = yield* open(bundle, context, model, {
          lifecycle: { idleAfter: Duration.seconds(60), reconcileEvery: Duration.seconds(5) }
        })
        yield* orchestrator.request("alpha@one", "first")
        yield* orchestrator.request("beta@gone", "hello")
        yield* TestClock.adjust("55 seconds")
        assert.deepStrictEqual((yield* orchestrator.list).map((i) => i.address).sort(), ["alpha@one", "beta@gone"])
        yield* TestClock.adjust("10 seconds")
        yield* until(() => Effect.map(orchestrator.list, (all) => all.length === 0))
        // Released: its writer lock is let go as the instance closes. A delete checks the instance's writer lock
        // first, then the workspace's orchestrator lock (held by this running orchestrator, so the delete is
        // refused either way): once it names the orchestrator's lock, the writer's is free.
        const instances = yield* Effect.provide(Instances.Instances, context)
        yield* until(() =>
          instances.delete({ workspaceId: orchestrator.workspaceId, agentName: "beta", instanceKey: "gone" }).pipe(
            Effect.as(false),
            Effect.catchTag("InstanceLocked", (e) => Effect.succeed(e.file?.endsWith("orchestrator.lock") === true)),
            Effect.orDie
          )
        )
        const metadata = yield* instances.get({
          workspaceId: orchestrator.workspaceId,
          agentName: "alpha",
          instanceKey: "one"
        })
        assert.strictEqual(metadata._tag === "Some" ? metadata.value.status : undefined, "idle")
        // The next message brings it back from its log.
        yield* orchestrator.request("alpha@one", "second")
        assert.deepStrictEqual(yield* userTexts(context, orchestrator.workspaceId, "alpha", "one"), ["first", "second"])
        assert.deepStrictEqual((yield* orchestrator.list).map((i) => [i.address, i.status]), [["alpha@one", "idle"]])
      }).pipe(Effect.provide(NodeContext.layer))
  )

  scopedTest(
    "a busy instance is never released; release() refuses it and in-memory orchestrators never release",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-life-")
        const bundle = yield* loadBundle
        const gate = yield* Deferred.make<void>()
        const model = echoModel((t) => t === "busy" ? Deferred.await(gate) : Effect.void)
        const { orchestrator } = yield* open(bundle, context, model, {
          lifecycle: { idleAfter: Duration.seconds(60), reconcileEvery: Duration.seconds(5) }
        })
        const busy = yield* Effect.fork(orchestrator.request("alpha@one", "busy"))
        yield* until(() => Effect.succeed(model.calls.length === 1))
        yield* TestClock.adjust("10 minutes")
        assert.isFalse(yield* orchestrator.release("alpha@one"))
        assert.deepStrictEqual((yield* orchestrator.list).map((i) => i.status), ["processing"])
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(busy)
        assert.isTrue(yield* orchestrator.release("alpha@one"))
        assert.deepStrictEqual(yield* orchestrator.list, [])

        const memory = yield* Orchestrator.makeInMemory(bundle, "default", {
          models: { alpha: model.service, beta: model.service },
          lifecycle: { idleAfter: Duration.seconds(1), reconcileEvery: Duration.seconds(1) }
        }).pipe(Effect.provide(context))
        yield* memory.request("alpha@one", "kept")
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual((yield* memory.list).map((i) => i.address), ["alpha@one"])
      }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("Lifecycle settings and reconcile", () => {
  it("reads the Swarm policy with documented defaults (grace 30 s, idle 900 s, reconcile 5 s; idleSeconds 0 never releases)", () => {
    const d = Lifecycle.fromPolicy(undefined)
    assert.strictEqual(Duration.toMillis(d.gracePeriod), 30_000)
    assert.strictEqual(Duration.toMillis(d.idleAfter!), 900_000)
    assert.strictEqual(Duration.toMillis(d.reconcileEvery), 5_000)
    const s = Lifecycle.fromPolicy({
      shutdown: { gracePeriodSeconds: 2 },
      lifecycle: { idleSeconds: 0 },
      supervision: { reconcileIntervalSeconds: 1 }
    })
    assert.strictEqual(Duration.toMillis(s.gracePeriod), 2_000)
    assert.isUndefined(s.idleAfter)
    assert.strictEqual(Duration.toMillis(s.reconcileEvery), 1_000)
  })

  it.effect("reconcile starts a slot with queued work and no worker, releases an idle one, leaves stopped and crashed alone", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("2 minutes")
      const slot = (label: string, status: string, queued: number, lastActive: number) => ({
        label,
        status,
        current: undefined,
        mailbox: { size: () => queued },
        lastActive
      })
      const slots = [
        slot("idle@old", "idle", 0, 0),
        slot("idle@recent", "idle", 0, 100_000),
        slot("work@nofiber", "restarting", 2, 0),
        slot("stopped@x", "stopped", 1, 0),
        slot("crashed@x", "crashed", 1, 0)
      ]
      const released: Array<string> = []
      const started: Array<string> = []
      const result = yield* Lifecycle.reconcile(
        { ...Lifecycle.defaults, idleAfter: Duration.seconds(60) },
        {
          slots: () => slots,
          release: (s) => Effect.sync(() => released.push(s.label) > 0),
          running: () => Effect.succeed(false),
          start: (s) => Effect.sync(() => void started.push(s.label))
        }
      )
      assert.deepStrictEqual(released, ["idle@old"])
      assert.deepStrictEqual(started, ["work@nofiber"])
      assert.deepStrictEqual(result, { released: 1, started: 1 })
    }))
})

describe("Request timeouts", () => {
  scopedTest(
    "a request that times out interrupts the callee's turn and records it as interrupted; the next message does not continue it",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-orch-life-")
        const bundle = yield* loadBundle
        const model = echoModel((t) => t === "slow" ? Effect.sleep("1 hour") : Effect.void)
        const { orchestrator } = yield* open(bundle, context, model)
        const slow = yield* Effect.fork(orchestrator.request("alpha@one", "slow").pipe(Effect.timeout("5 seconds")))
        yield* until(() => Effect.succeed(model.calls.length === 1))
        yield* TestClock.adjust("5 seconds")
        assert.isTrue(Exit.isFailure(yield* Fiber.await(slow)))
        yield* until(() =>
          Effect.map(abandonReasons(context, orchestrator.workspaceId, "alpha", "one"), (r) => r.length === 1)
        )
        assert.include(
          (yield* abandonReasons(context, orchestrator.workspaceId, "alpha", "one"))[0],
          "its requester stopped waiting"
        )
        // Before, the next turn first continued the interrupted one (the model was asked "slow" again).
        yield* orchestrator.request("alpha@one", "next")
        assert.deepStrictEqual(model.calls, ["slow", "next"])
      }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("A crash loses no accepted send", () => {
  it.live(
    "an orchestrator process killed with SIGKILL after accepting sends: the next one on the root runs each accepted message once, in order",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-orch-life-")
        const script = yield* buildFixture("crash-inbox", "orchestrator")
        // Killed right after the third acceptance: m1 hangs in its turn, m2 and m3 wait in the mailbox.
        const run = yield* runUntil(script, [root, bundleDir, "6"], (line) => line === "accepted 3")
        assert.strictEqual(run.signal, "SIGKILL", run.lines.join("\n"))
        const accepted = run.lines.filter((l) => l.startsWith("accepted ")).length
        assert.isAtLeast(accepted, 3)
        const bundle = yield* loadBundle
        const model = echoModel()
        const { orchestrator, scope } = yield* open(bundle, context, model)
        const expected = Array.from({ length: accepted }, (_, i) => `m${i + 1}`)
        // The mailbox is FIFO: everything recovered from the inbox runs before this new message. (A send that
        // was durable but killed before it returned may run too: acceptance is what the sender was told.)
        yield* orchestrator.request("alpha@one", "after")
        const before = model.calls.slice(0, model.calls.indexOf("after"))
        assert.deepStrictEqual(before.slice(0, accepted), expected)
        assert.deepStrictEqual(before, before.map((_, i) => `m${i + 1}`))
        // m1's turn was in the log when the process died: it was continued, never started a second time.
        const texts = yield* userTexts(context, orchestrator.workspaceId, "alpha", "one")
        assert.deepStrictEqual(texts, [...before, "after"])
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    120_000
  )
})
