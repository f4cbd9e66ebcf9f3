// Shared setup of the orchestrator tests: the fixture bundles, in-memory and durable orchestrators, the fake
// at the LLM boundary (a scripted echo), reads of what an instance wrote (its conversation, its abandoned
// turns, its inbox file), and the waits the TestClock tests use (no real time passes in any of them).
import { NodeContext } from "@effect/platform-node"
import { assert, it } from "@effect/vitest"
import {
  Chunk,
  Deferred,
  type Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Scope,
  Stream,
  TestClock,
  TestServices
} from "effect"
import type { Middleware, Model } from "effect-swarm"
import { Bundle, EventBus, Jsonl, Message, MessageStore, Orchestrator, RuntimeEventLog, Scripted } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { durableStores, type Stores } from "../support/stores.js"

const here = path.dirname(fileURLToPath(import.meta.url))
export const bundleDir = path.resolve(here, "../fixtures/bundles/orchestrator")

/** The `default` swarm: agents alpha (entry) and beta. */
export const loadBundle = Bundle.load(bundleDir).pipe(Effect.provide(NodeContext.layer))

/** The `team` swarm of the inter-agent call tests: lead, worker (and the others of its fixture). */
export const loadCalls = Bundle.load(path.resolve(here, "../fixtures/bundles/calls")).pipe(
  Effect.provide(NodeContext.layer)
)

/** An event bus and the Node platform: what an in-memory orchestrator needs. */
export const baseLayer = Layer.mergeAll(EventBus.layer(), NodeContext.layer)

/** An in-memory orchestrator of the `default` swarm (in the test's scope) on these models. */
export const inMemory = (models: Orchestrator.Options["models"], options: Orchestrator.Options = {}) =>
  Effect.flatMap(loadBundle, (bundle) => Orchestrator.makeInMemory(bundle, undefined, { ...options, models }))

/** The workspace stores on a fresh temporary state root (removed with the test's scope). */
export const durableContext = (prefix = "es-orch-") => durableStores(prefix)

/** `lead@<instanceKey>` of an orchestrator of the `team` swarm: the caller of the inter-agent call tests. */
export const leadOf = (orchestrator: Orchestrator.Service, instanceKey = "t1") => ({
  workspaceId: orchestrator.workspaceId,
  agentName: "lead",
  instanceKey
})

/**
 * A durable orchestrator of the `team` swarm (in the test's scope) whose worker answers "ok" (`echo`, 20
 * turns) or never (`hang`); `lead` is `lead@t1`'s agents API (the caller, `ref`).
 */
export const team = (worker: "echo" | "hang", prefix = "es-review-calls-") =>
  Effect.gen(function*() {
    const { context } = yield* durableContext(prefix)
    const bundle = yield* loadCalls
    const model = worker === "hang" ? hanging : yield* Scripted.make(Array.from({ length: 20 }, () => ({ text: "ok" })))
    const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker: model } }).pipe(
      Effect.provide(context)
    )
    const ref = leadOf(orchestrator)
    return { orchestrator, ref, lead: orchestrator.agentsApi!.forInstance(ref) }
  })

export type DurableContext = Stores

/** A durable orchestrator of `swarm` in a scope of its own: closing that scope is the shutdown under test. */
export const openDurable = (
  bundle: Bundle.Bundle,
  swarm: string,
  context: DurableContext,
  options: Orchestrator.Options
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const orchestrator = yield* Orchestrator.make(bundle, swarm, options).pipe(
      Effect.provide(context),
      Scope.extend(scope)
    )
    return { orchestrator, scope }
  })

/**
 * Closes an orchestrator's scope whose turn in flight outlives the default grace period (30 s on the
 * TestClock): queued messages stay in the inbox, the running turn is interrupted when the grace ends.
 */
export const shutDown = (scope: Scope.CloseableScope) =>
  Effect.gen(function*() {
    const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
    yield* untilSleep((yield* TestClock.currentTimeMillis) + 30_000)
    yield* TestClock.adjust("30 seconds")
    yield* Fiber.join(closing)
  })

/** An agents API call's typed code, "succeeded", or the defect's text when it died instead (an assertion then names it). */
export const callOutcome = <A>(effect: Effect.Effect<A, Middleware.AgentsApiError>) =>
  Effect.map(Effect.exit(effect), (exit) =>
    Exit.isSuccess(exit)
      ? "succeeded"
      : exit.cause._tag === "Fail"
      ? exit.cause.error.code
      : `died: ${String(exit.cause).slice(0, 160)}`)

/** The reply's text (empty without one). */
export const text = (result: { readonly responseMessage?: Message.Message | undefined }) =>
  result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data)

/** The instance listed at `address` (an assertion failure if there is none). */
export const info = (orchestrator: Orchestrator.Service, address: string) =>
  Effect.map(orchestrator.list, (all) => {
    const found = all.find((i) => i.address === address)
    assert.isDefined(found, address)
    return found!
  })

/** The instance's conversation as its files hold it. */
export const conversation = (context: DurableContext, workspaceId: string, agentName: string, instanceKey: string) =>
  MessageStore.MessageStore.pipe(
    Effect.flatMap((store) => store.load({ workspaceId, agentName, instanceKey })),
    Effect.provide(context)
  )

/** The texts of the instance's user messages, in order. */
export const userTexts = (context: DurableContext, workspaceId: string, agentName: string, instanceKey: string) =>
  Effect.map(
    conversation(context, workspaceId, agentName, instanceKey),
    (c) => c.messages.filter((m) => m.data.role === "user").map((m) => Message.text(m.data))
  )

/** The reasons of the instance's `turn.abandoned` records. */
export const abandonReasons = (
  context: DurableContext,
  workspaceId: string,
  agentName: string,
  instanceKey: string
) =>
  RuntimeEventLog.RuntimeEventLog.pipe(
    Effect.flatMap((log) => Stream.runCollect(log.read({ workspaceId, agentName, instanceKey }))),
    Effect.map((records) =>
      Chunk.toReadonlyArray(records).flatMap((r) =>
        r.type === "turn.abandoned" ? [String((r as { readonly reason?: unknown }).reason)] : []
      )
    ),
    Effect.orDie,
    Effect.provide(context)
  )

/** The instance's durable inbox of queued messages. */
export const inboxFile = (root: string, workspaceId: string, address: string) =>
  path.join(root, "workspaces", workspaceId, "instances", address, "inbox", "messages.jsonl")

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

/** A model that never answers (its turn is still running when the test moves on). */
export const hanging: Model.Service = {
  provider: "scripted",
  model: "hang",
  generate: () => Effect.never,
  stream: () => Stream.never
}

/**
 * The timeout of a test whose every step is a durable write (an orchestrator on real files: inbox puts, turn
 * appends, status, runtime events; ~20-40 fsyncs). Measured at load 38 on the shared 2-core machine: each step
 * took 0.5-3 s and the whole of reload's "restarts only the changed agent's instances" 30-33 s (no phase
 * waited on anything but its writes: setup 4.4 s, two sends 4.3 s, the first two turns 9.9 s, ...), wakeOnReply's
 * "a released caller comes back" 29.5 s: vitest's 30 s default failed them under load, never a race.
 */
export const durableTimeout = 120_000

/** One turn of the event loop (no clock, no sleep): thread-pool completions (a durable write's fsync) run. */
export const eventLoopTurn = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))

/**
 * Waits until `predicate` holds, one event-loop turn at a time (the workers run on the same virtual clock; no
 * real time passes). Not a `yieldNow` spin: that keeps the CPU in microtasks, and on a loaded machine a durable
 * orchestrator's file writes completed too slowly to finish within the test's timeout (issue 16: "a released
 * caller comes back from its log" timed out at load 12-24).
 */
export const until = <E>(predicate: () => Effect.Effect<boolean, E>) =>
  Effect.gen(function*() {
    while (!(yield* predicate())) yield* eventLoopTurn
  })

/** Yields until a fiber sleeps until `at` (ms on the TestClock): adjusting the clock then wakes it. */
export const untilSleep = (at: number) =>
  until(() => Effect.map(TestClock.sleeps(), (sleeps) => Chunk.some(sleeps, (t) => t === at)))

/**
 * Closes `scope` while driving the TestClock to each pending sleep, so that shutdown grace periods (30 s by
 * default), TERM/KILL waits and backoffs end although the test has stopped advancing the clock. A close that
 * still has not ended after `bound` of real time (nothing it waits on is a timer) fails with a message that
 * says so, instead of hanging until vitest's timeout.
 */
export const closeOnClock = (
  scope: Scope.CloseableScope,
  exit: Exit.Exit<unknown, unknown>,
  bound: Duration.DurationInput = "20 seconds"
) =>
  Effect.gen(function*() {
    const closing = yield* Effect.forkDaemon(Scope.close(scope, exit))
    const drive = Effect.gen(function*() {
      while (Option.isNone(yield* Fiber.poll(closing))) {
        const now = yield* TestClock.currentTimeMillis
        const next = Chunk.reduce(yield* TestClock.sleeps(), Infinity, (min, at) => Math.min(min, at))
        if (next > now && next !== Infinity) yield* TestClock.setTime(next)
        else yield* Effect.yieldNow()
      }
    })
    const stuck = TestServices.provideLive(Effect.sleep(bound)).pipe(
      Effect.zipRight(
        Effect.dieMessage(
          "closing the test's scope did not end within its real-time bound although the clock was driven: " +
            "it waits on something other than a timer"
        )
      )
    )
    yield* Effect.raceFirst(drive, stuck)
  })

/**
 * `it.scoped` for the TestClock tests of the orchestrator: the body runs in a scope of its own, closed by
 * {@link closeOnClock} whether the body succeeded or failed. A body that fails partway leaves turns in flight
 * whose shutdown waits a grace period on the TestClock; under `it.scoped` nothing advances it then, and the
 * test hangs until vitest's timeout, which is reported instead of the failed assertion. Here the failure is
 * reported at once.
 */
export const scopedTest = <A, E>(
  name: string,
  body: () => Effect.Effect<A, E, Scope.Scope | TestServices.TestServices>,
  timeout?: number
) => it.effect(name, () => onTestClock(body()), timeout)

/** Runs `body` in a scope closed by {@link closeOnClock}; gives the body's own exit. */
export const onTestClock = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const exit = yield* Effect.exit(Scope.extend(body, scope))
    yield* closeOnClock(scope, exit)
    return yield* exit
  })

/**
 * A `Jsonl.DurableFile` whose inbox acknowledgement (the truncate that empties `inbox/messages.jsonl`) signals
 * `acknowledging` and then waits for `gate`: a test lands a stop exactly there.
 */
export const gatedInboxTruncate = (
  acknowledging: Deferred.Deferred<void>,
  gate: Deferred.Deferred<void>
): Jsonl.DurableFileService => ({
  open: (fs, file, options) =>
    Effect.map(Jsonl.DurableFile.node.open(fs, file, options), (handle) => ({
      ...handle,
      truncate: (length: number) =>
        file.endsWith(path.join("inbox", "messages.jsonl"))
          ? Deferred.succeed(acknowledging, undefined).pipe(
            Effect.zipRight(Deferred.await(gate)),
            Effect.zipRight(handle.truncate(length))
          )
          : handle.truncate(length)
    }))
})
