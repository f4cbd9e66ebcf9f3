// An instance whose start fails lets go at once of what that start acquired. Before (session 13): a failed
// start's resources stayed in its generation's scope, and the generation lived on to take the next message,
// so an instance whose start kept failing held one more set of resources per message (setup finalizers, a
// child process, files) until the orchestrator closed.
import { assert, describe } from "@effect/vitest"
import { Data, Effect, Exit, Ref } from "effect"
import { Orchestrator } from "effect-swarm"
import { baseLayer, loadCalls, scopedTest } from "./helpers.js"

class NotConfigured extends Data.TaggedError("NotConfigured")<{ readonly message: string }> {}

describe("a start that fails", () => {
  scopedTest(
    "releases what the failed start acquired before its requester hears of the failure",
    () =>
      Effect.gen(function*() {
        const bundle = yield* loadCalls
        const acquired = yield* Ref.make(0)
        const released = yield* Ref.make(0)
        const orchestrator = yield* Orchestrator.makeInMemory(bundle, "team", {
          setup: () =>
            Effect.acquireRelease(Ref.update(acquired, (n) => n + 1), () => Ref.update(released, (n) => n + 1)).pipe(
              Effect.zipRight(new NotConfigured({ message: "the tools of this instance are not configured" }))
            )
        })
        for (let attempt = 1; attempt <= 3; attempt++) {
          const exit = yield* Effect.exit(orchestrator.request("worker@w1", `attempt ${attempt}`))
          assert.isTrue(Exit.isFailure(exit), "the start fails")
          assert.strictEqual(yield* Ref.get(acquired), attempt)
          assert.strictEqual(yield* Ref.get(released), attempt, `attempt ${attempt}: released when it failed`)
        }
      }).pipe(Effect.provide(baseLayer))
  )
})
