/**
 * `effect-swarm run` gets SIGTERM while a turn is in flight, as a deployment would stop it: the built bin in
 * real processes, the http connector on a free loopback port, a non-idempotent in-process tool blocked on a
 * fifo. Every step waits for an output marker or the fifo's open, each bounded on the real clock with a
 * failure that says what the run printed; nothing sleeps.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import * as ChildProcess from "node:child_process"
import * as NFS from "node:fs"
import * as path from "node:path"
import * as Message from "../../src/conversation/Message.js"
import * as MessageStore from "../../src/workspace/MessageStore.js"
import * as WorkspacePaths from "../../src/workspace/WorkspacePaths.js"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)

/**
 * Opens the fifo for writing (kept open until the scope closes): returns once a reader opened it. Bounded on
 * the real clock: past `Bin.bound` the test fails saying the tool call never started (and the pending open
 * is released by opening the fifo for reading, so no thread stays blocked on it).
 */
const openWriter = (gate: string, seen: ReadonlyArray<string>) =>
  Effect.async<number, NodeJS.ErrnoException>((resume) => {
    NFS.open(gate, "w", (error, fd) => resume(error === null ? Effect.succeed(fd) : Effect.fail(error)))
  }).pipe(
    Effect.timeoutFail({
      duration: Bin.bound,
      onTimeout: () =>
        new Error(
          `no reader opened the fifo ${gate} within ${Bin.bound}: the tool call never started. The run printed:\n${
            seen.join("\n")
          }`
        )
    }),
    Effect.tapError(() =>
      Effect.sync(() => NFS.closeSync(NFS.openSync(gate, NFS.constants.O_RDONLY | NFS.constants.O_NONBLOCK)))
    ),
    Effect.orDie,
    Effect.withClock(Clock.make()),
    Effect.tap((fd) => Effect.addFinalizer(() => Effect.sync(() => NFS.closeSync(fd))))
  )
const fixture = path.join(Bin.repo, "test/fixtures/bundles/sigterm")

describe("effect-swarm run: SIGTERM with a turn in flight", () => {
  layer(Live, { timeout: 180_000 })((it) => {
    it.scoped(
      "exits 0 after a graceful shutdown; the next run continues the turn: the reply arrives, the non-idempotent call is not repeated",
      () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-sigterm-home-" })
          const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-sigterm-" })
          yield* fs.copy(fixture, dir)
          const gate = path.join(dir, "tools", "gate")
          const made = ChildProcess.spawnSync("mkfifo", [gate])
          assert.strictEqual(made.status, 0, `mkfifo: ${String(made.stderr)}`)
          const env = { EFFECT_SWARM_HOME: home }

          // 1. Serving: an event over HTTP starts a turn whose tool call blocks on the fifo.
          const first = yield* Bin.start(["run", dir, "--fallback-model", "first"], { env })
          const seen: Array<string> = []
          const [, url] = yield* Bin.waitLine(first.errors, seen, /^connection web: listening on (http:\/\/\S+)$/)
          const response = yield* Effect.promise(() =>
            fetch(`${url}/connections/web/events`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ name: "message", text: "pay the invoice" })
            })
          )
          assert.strictEqual(response.status, 202, yield* Effect.promise(() => response.text()))
          // Opening the fifo for writing returns once the tool opened it for reading: the call is running.
          yield* openWriter(gate, seen)

          // 2. SIGTERM: the connector stops, the turn gets the grace period (1 s in the fixture's Swarm policy),
          // is interrupted and left open in its log; the process exits 0.
          yield* Effect.forkScoped(first.kill("SIGTERM"))
          // (Logs go to stderr.)
          yield* Bin.waitLine(
            first.errors,
            seen,
            /cashier@till: its turn did not finish within the grace period; interrupted \(orchestrator_shutdown\); the next start continues it from the log/
          )
          const code = yield* first.exitCode
          assert.strictEqual(code, 0, seen.join("\n"))
          assert.strictEqual(yield* fs.readFileString(path.join(dir, "tools", "ran.log")), "charged\n")

          // 3. The next run on the same state root continues the open turn before anything else: the call that was
          // running is answered E_TOOL_INTERRUPTED (the tool is not idempotent: never run twice), the model replies.
          const second = yield* (yield* Bin.Bin).run(
            ["run", dir, "--fallback-model", "second", "--once", "status?", "--to", "cashier@till"],
            { env }
          )
          assert.strictEqual(second.code, 0, `${second.stdout}\n${second.stderr}`)
          assert.include(second.stdout, "all settled")
          assert.strictEqual(yield* fs.readFileString(path.join(dir, "tools", "ran.log")), "charged\n")

          const conversation = yield* MessageStore.MessageStore.pipe(
            Effect.flatMap((store) =>
              store.load({ workspaceId: WorkspacePaths.workspaceId("shop"), agentName: "cashier", instanceKey: "till" })
            ),
            Effect.provide(MessageStore.layer({ root: home }))
          )
          const shown = conversation.messages.map((m) => `${m.data.role}: ${Message.text(m.data)}`)
          assert.strictEqual(shown[0], "user: pay the invoice", shown.join("\n"))
          const result = conversation.messages.find((m) =>
            m.data.role === "tool" || Message.text(m.data).includes("E_TOOL")
          )
          assert.isDefined(result, shown.join("\n"))
          assert.include(JSON.stringify(result?.data), "E_TOOL_INTERRUPTED", shown.join("\n"))
          const resumed = shown.indexOf("assistant: resumed: the charge was interrupted, not repeated")
          const next = shown.indexOf("user: status?")
          assert.isTrue(resumed > 0 && next > resumed, shown.join("\n"))
          assert.strictEqual(shown.at(-1), "assistant: all settled", shown.join("\n"))
        }),
      150_000
    ) // real processes: Bin.waitLine and exitCode bound their waits on the real clock
  })
})
