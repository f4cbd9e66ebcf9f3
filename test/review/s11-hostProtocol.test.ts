// Second hostile review of the child-process host (issue 16, session 11): children whose entry speaks the
// protocol wrongly. Public API only (`AgentHost.childProcess({ entry })`), real child processes, the
// TestClock for the host's timers (the children themselves need real time to run).
// Failed on main until fixed in session 11 (hostChild: the protocol violation, not the kill signal, is reported).
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as path from "node:path"
import { alive } from "../orchestrator/hostKit.js"
import { outcome } from "./s11-hostKit.js"

describe("review s11: child-process host protocol", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "a child whose handshake does not decode fails the request typed (HostProtocolError naming the field); the child is killed",
      () =>
        Effect.gen(function*() {
          const files = yield* FileSystem.FileSystem
          const home = yield* files.makeTempDirectoryScoped({ prefix: "es-review-s11-host-" })
          const entry = path.join(home, "garbage.mjs")
          yield* files.writeFileString(
            entry,
            [
              "import * as fs from 'node:fs'",
              `fs.appendFileSync(${JSON.stringify(path.join(home, "pids"))}, process.pid + '\\n')`,
              "process.on('message', () => process.send({ _tag: 'Ready', generation: 'one', pid: 'me' }))",
              "setInterval(() => {}, 1000)",
              ""
            ].join("\n")
          )
          const { done, listed } = yield* outcome(entry, home)
          const pids = (yield* files.readFileString(path.join(home, "pids"))).trim().split("\n").map(Number)
          assert.isTrue(Option.isSome(done), `the request still waits: ${JSON.stringify(listed)}`)
          const result = Option.getOrThrow(done)!
          assert.isTrue(result._tag === "Left", "a child that speaks garbage answered the request")
          const error = result._tag === "Left" ? result.left : undefined
          assert.strictEqual(error?._tag === "AgentTurnFailed" ? error.errorTag : error?._tag, "HostProtocolError")
          assert.include(error?.message ?? "", "generation")
          for (const pid of pids) assert.isFalse(alive(pid), `child ${pid} is still alive`)
        }),
      { timeout: 180_000 }
    )
  })
})
