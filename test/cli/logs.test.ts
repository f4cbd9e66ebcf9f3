/**
 * Effect's log lines of the bin go to stderr: stdout is for replies and `--json`. `run` serving the http
 * connector logs where it listens (an Effect log line) and, on SIGTERM, the graceful shutdown; stdout stays
 * empty. The built bin in a real process; every wait is bounded on an output marker.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Layer, Queue } from "effect"
import * as path from "node:path"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)
const fixture = path.join(Bin.repo, "test/fixtures/bundles/sigterm")

describe("effect-swarm: log lines", () => {
  layer(Live, { timeout: 120_000 })((it) => {
    it.scoped("go to stderr, never to stdout", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-logs-" })
        const running = yield* Bin.start(["run", fixture, "--fallback-model", "first"], {
          env: { EFFECT_SWARM_HOME: home, NO_COLOR: "1" }
        })
        const seen: Array<string> = []
        // The http connector's Effect.logInfo, in the pretty format, on stderr.
        yield* Bin.waitLine(running.errors, seen, /INFO .*http connector listening on http:\/\/127\.0\.0\.1:\d+/)
        yield* running.kill("SIGTERM")
        assert.strictEqual(yield* running.exitCode, 0, seen.join("\n"))
        yield* running.drained
        const stdout = Chunk.toReadonlyArray(yield* Queue.takeAll(running.lines))
        const stderr = [...seen, ...Chunk.toReadonlyArray(yield* Queue.takeAll(running.errors))]
        assert.deepStrictEqual(stdout, [], `stdout:\n${stdout.join("\n")}\nstderr:\n${stderr.join("\n")}`)
        assert.isTrue(stderr.some((l) => l.includes("connection web: listening on")), stderr.join("\n"))
      }), { timeout: 120_000 })
  })
})
