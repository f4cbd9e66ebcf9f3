// Second hostile review of the child-process host (issue 16, session 11): children whose entry speaks the
// protocol wrongly. Public API only (`AgentHost.childProcess({ entry })`), real child processes, the
// TestClock for the host's timers (the children themselves need real time to run).
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as path from "node:path"
import { outcome } from "./s11-hostKit.js"

describe("review s11: child-process host protocol", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "a child that answers the handshake with another generation is not taken as ready (typed failure, no hang)",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-review-s11-host-" })
          const entry = path.join(home, "stale.mjs")
          yield* files.writeFileString(
            entry,
            [
              "import * as fs from 'node:fs'",
              `fs.appendFileSync(${JSON.stringify(path.join(home, "pids"))}, process.pid + '\\n')`,
              "process.on('message', (m) => process.send({ _tag: 'Ready', generation: 1000 + (m.generation ?? 0), pid: process.pid }))",
              "setInterval(() => {}, 1000)",
              ""
            ].join("\n")
          )
          const { done, listed } = yield* outcome(entry, home)
          assert.isTrue(Option.isSome(done), `the request still waits: ${JSON.stringify(listed)}`)
          const result = Option.getOrThrow(done)
          assert.strictEqual(result?._tag, "Left", JSON.stringify(result).slice(0, 400))
          // Not the handshake's timeout: the mismatch is seen when the answer comes.
          assert.notInclude(JSON.stringify(result), "HostReadyTimeout")
        }),
      { timeout: 180_000 }
    )
  })
})
