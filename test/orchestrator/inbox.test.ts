// The durable inbox's writer is opened lazily: an instance holds its inbox file open only while messages
// are pending (opened by the first put, closed when the last one is acknowledged). Real files under a
// temporary state root, the open descriptors read from /proc/self/fd (Linux); the model is the only fake;
// every timer runs on the TestClock.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  durableContext,
  echoModel,
  inboxFile,
  loadBundle,
  openDurable,
  shutDown,
  text,
  until,
  userTexts
} from "./helpers.js"

/** How many descriptors of this process are open on `file`. */
const openOn = (file: string) =>
  Effect.sync(() => {
    const target = path.join(fs.realpathSync(path.dirname(file)), path.basename(file))
    let n = 0
    for (const fd of fs.readdirSync("/proc/self/fd")) {
      try {
        if (fs.readlinkSync(path.join("/proc/self/fd", fd)) === target) n++
      } catch {
        // closed while listed
      }
    }
    return n
  })

const inputs = (content: string) =>
  content.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { op: string; input?: string })

describe.skipIf(process.platform !== "linux")("durable inbox, opened lazily", () => {
  it.scoped("an idle instance holds no inbox file open; messages persisted after a lazy open are delivered in order after a restart", () =>
    Effect.gen(function*() {
      const { context, root } = yield* durableContext("es-orch-inbox-")
      const bundle = yield* loadBundle
      const gate = yield* Deferred.make<void>()
      const first = echoModel((t) => t === "m2" ? Deferred.await(gate) : Effect.void)
      const { orchestrator, scope } = yield* openDurable(bundle, "default", context, {
        models: { alpha: first.service, beta: first.service }
      })
      const file = inboxFile(root, orchestrator.workspaceId, "alpha@one")

      // One message, answered: its put opened the writer, its acknowledgement cut the file and closed it.
      assert.strictEqual(text(yield* orchestrator.request("alpha@one", "m1")), "echo: m1")
      assert.strictEqual(fs.readFileSync(file, "utf8"), "")
      assert.strictEqual(yield* openOn(file), 0)

      // The next messages open it again: m2 runs (held by the model), m3 and m4 wait in the mailbox. Each
      // put is durable when send returns.
      yield* orchestrator.send("alpha@one", "m2")
      yield* until(() => Effect.succeed(first.calls.length === 2))
      yield* orchestrator.send("alpha@one", "m3")
      const m4 = yield* Effect.fork(orchestrator.request("alpha@one", "m4"))
      yield* until(() => Effect.sync(() => inputs(fs.readFileSync(file, "utf8")).length === 3))
      assert.deepStrictEqual(inputs(fs.readFileSync(file, "utf8")).map((r) => r.input), ["m2", "m3", "m4"])
      assert.strictEqual(yield* openOn(file), 1)

      // Stopped with m2 in flight (past the grace period) and m3, m4 queued: all three stay in the inbox.
      yield* shutDown(scope)
      assert.strictEqual((yield* Effect.flip(Fiber.join(m4)))._tag, "AgentUnavailable")
      assert.strictEqual(yield* openOn(file), 0)
      assert.deepStrictEqual(first.calls, ["m1", "m2"])

      // The next orchestrator on the root continues m2's turn, then runs m3 and m4, in order, once each.
      const second = echoModel()
      const again = yield* openDurable(bundle, "default", context, {
        models: { alpha: second.service, beta: second.service }
      })
      yield* until(() => Effect.succeed(second.calls.length === 3))
      assert.deepStrictEqual(second.calls, ["m2", "m3", "m4"])
      assert.deepStrictEqual(yield* userTexts(context, again.orchestrator.workspaceId, "alpha", "one"), [
        "m1",
        "m2",
        "m3",
        "m4"
      ])
      // All acknowledged: the file is empty and closed again.
      yield* until(() => Effect.map(openOn(file), (n) => n === 0))
      assert.strictEqual(fs.readFileSync(file, "utf8"), "")
      yield* Scope.close(again.scope, Exit.void)
    }).pipe(Effect.provide(NodeContext.layer)))
})
