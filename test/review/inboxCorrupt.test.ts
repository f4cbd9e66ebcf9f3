// Review of the durable inbox (issue 16) against a hand-edited file: a corrupt line in the middle of
// `<instance>/inbox/messages.jsonl` is reported with the file, the line and a fix, the file is left as it
// was, and once the line is removed every acknowledged message is delivered in order, once. Real files
// under a temporary state root; the echo model is the only fake; every timer on the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import {
  durableContext,
  echoModel,
  inboxFile,
  loadBundle,
  openDurable,
  shutDown,
  until,
  userTexts
} from "../orchestrator/helpers.js"

describe("review: a hand-edited durable inbox", () => {
  it.scoped(
    "a corrupt line fails the instance's requests with AgentInboxFailed naming file:line and a fix; the file is untouched; fixed by hand, nothing acknowledged is lost",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-inbox-")
        const bundle = yield* loadBundle
        // First run: m2 is in flight (its model call never returns), m3 and m4 wait; the scope closes.
        const gate = yield* Deferred.make<void>()
        const first = echoModel((t) => t === "m2" ? Deferred.await(gate) : Effect.void)
        const one = yield* openDurable(bundle, "default", context, { models: { alpha: first.service } })
        const file = inboxFile(root, one.orchestrator.workspaceId, "alpha@one")
        yield* one.orchestrator.send("alpha@one", "m2")
        yield* until(() => Effect.succeed(first.calls.length === 1))
        yield* one.orchestrator.send("alpha@one", "m3")
        yield* one.orchestrator.send("alpha@one", "m4")
        yield* shutDown(one.scope)

        // Someone edits the inbox: a line that is not JSON between m2 and m3.
        const original = fs.readFileSync(file, "utf8")
        const lines = original.split("\n")
        lines.splice(1, 0, "{not json")
        const edited = lines.join("\n")
        fs.writeFileSync(file, edited)

        const second = echoModel()
        const two = yield* openDurable(bundle, "default", context, { models: { alpha: second.service } })
        const error = yield* Effect.flip(two.orchestrator.request("alpha@one", "m5"))
        assert.strictEqual(error._tag, "AgentInboxFailed")
        const failed = error as Extract<typeof error, { readonly _tag: "AgentInboxFailed" }>
        assert.strictEqual(failed.file, file)
        assert.include(failed.detail, `${file}:2`)
        assert.include(failed.detail, "fix or remove that line")
        // Nothing ran and nothing was rewritten: the acknowledged m3 and m4 are still in the file.
        assert.deepStrictEqual(second.calls, [])
        assert.strictEqual(fs.readFileSync(file, "utf8"), edited)
        yield* Scope.close(two.scope, Exit.void)

        // The line removed by hand, the next start delivers m2 (continued), m3, m4, then m5, once each.
        fs.writeFileSync(file, original)
        const third = echoModel()
        const three = yield* openDurable(bundle, "default", context, { models: { alpha: third.service } })
        yield* three.orchestrator.request("alpha@one", "m5")
        assert.deepStrictEqual(third.calls, ["m2", "m3", "m4", "m5"])
        assert.deepStrictEqual(yield* userTexts(context, three.orchestrator.workspaceId, "alpha", "one"), [
          "m2",
          "m3",
          "m4",
          "m5"
        ])
        yield* Scope.close(three.scope, Exit.void)
      }),
    60_000
  )
})
