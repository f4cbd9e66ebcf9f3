// Hostile review of the orchestrator's session-12 behaviour (issue 16), session 13. Each test failed on main
// before its fix (497d50c): real files under a temporary state root, the public API, the scripted model as
// the only fake, every timer on the TestClock.
import { assert, describe } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import type { OrchestratorError } from "effect-swarm"
import { Jsonl, Orchestrator, Scripted } from "effect-swarm"
import {
  baseLayer,
  callOutcome,
  durableContext,
  durableTimeout,
  eventLoopTurn,
  gatedInboxTruncate,
  info,
  loadBundle,
  loadCalls,
  scopedTest
} from "../orchestrator/helpers.js"

describe("the orchestrator's limits", () => {
  scopedTest(
    "calls.maxSpawned, maxPendingAsync, maxInbox and mailboxCapacity that are not positive integers are refused at start, naming the option",
    () =>
      Effect.gen(function*() {
        const bundle = yield* loadCalls
        const cases: ReadonlyArray<readonly [string, Orchestrator.Options]> = [
          ["calls.maxSpawned", { calls: { maxSpawned: Number.NaN } }],
          ["calls.maxSpawned", { calls: { maxSpawned: 0 } }],
          ["calls.maxSpawned", { calls: { maxSpawned: -1 } }],
          ["calls.maxSpawned", { calls: { maxSpawned: 1.5 } }],
          ["calls.maxPendingAsync", { calls: { maxPendingAsync: Number.NaN } }],
          ["calls.maxInbox", { calls: { maxInbox: -5 } }],
          ["calls.defaultTimeout", { calls: { defaultTimeout: 0 } }],
          ["mailboxCapacity", { mailboxCapacity: 0 }]
        ]
        for (const [option, options] of cases) {
          const started = yield* Effect.either(Effect.scoped(Orchestrator.makeInMemory(bundle, "team", options)))
          // Before: it started; NaN meant no limit at all, 1.5 meant 2, 0 and -1 refused every spawn, in silence.
          assert.isTrue(started._tag === "Left", `${option}: ${JSON.stringify(options)} started`)
          const refused = (started as { readonly left: OrchestratorError.StartError }).left
          assert.strictEqual(refused._tag, "InvalidOption", `${option}: ${refused.message}`)
          assert.include(refused.message, option)
          assert.include(refused.message, "positive")
        }
        // Valid limits start, and the limit holds.
        const spawns = yield* Effect.scoped(Effect.gen(function*() {
          const o = yield* Orchestrator.makeInMemory(bundle, "team", { calls: { maxSpawned: 2 } })
          const lead = o.agentsApi!.forInstance({ workspaceId: o.workspaceId, agentName: "lead", instanceKey: "t1" })
          const outcomes: Array<string> = []
          for (let i = 0; i < 3; i++) outcomes.push(yield* callOutcome(lead.spawn({ target: "worker" })))
          return outcomes
        }))
        assert.deepStrictEqual(spawns, ["succeeded", "succeeded", "AGENT_SPAWN_LIMIT"])
      }).pipe(Effect.provide(baseLayer))
  )
})

describe("a stop that lands after the turn ended", () => {
  scopedTest(
    "waits while the worker acknowledges the turn's message: its requester gets the turn's reply, never waits forever",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-s13-ack-")
        const bundle = yield* loadBundle
        const model = yield* Scripted.make([{ text: "done before the stop" }])
        // The inbox file's acknowledgement (the truncate that empties it) waits until the test lets it go: the
        // stop lands after the turn ended and before its message left the inbox.
        const acknowledging = yield* Deferred.make<void>()
        const gate = yield* Deferred.make<void>()
        const gated = gatedInboxTruncate(acknowledging, gate)
        const orchestrator = yield* Orchestrator.make(bundle, "default", { models: { alpha: model } }).pipe(
          Effect.provide(context)
        )
        // The inbox writer is opened by the request (its first message), with the DurableFile in force there.
        const request = yield* Effect.fork(
          orchestrator.request("alpha@one", "go").pipe(Effect.provideService(Jsonl.DurableFile, gated))
        )
        yield* Deferred.await(acknowledging)
        const stopping = yield* Effect.fork(orchestrator.stop("alpha@one"))
        for (let i = 0; i < 20; i++) yield* eventLoopTurn
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(stopping)
        // Before: the worker was interrupted inside the acknowledgement and the reply was never given (None).
        const answered = yield* Fiber.poll(request)
        assert.isTrue(Option.isSome(answered), "the request is still waiting after the stop")
        const result = yield* Fiber.join(request)
        assert.strictEqual(result.finishReason, "text_response")
        assert.strictEqual((yield* info(orchestrator, "alpha@one")).status, "stopped")
      }),
    durableTimeout
  )
})
