import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import * as path from "node:path"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)

describe("the bundled bin", () => {
  layer(Live, { timeout: 120_000 })((it) => {
    it.effect("--help lists the commands in plain text when piped, and exits 0", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const help = yield* bin.run(["--help"])
        assert.strictEqual(help.code, 0)
        assert.include(help.stdout, "validate")
        assert.notInclude(help.stdout, "\u001b[", "no colour sequences on a pipe")
        const version = yield* bin.run(["--version"])
        assert.strictEqual(version.stdout.trim(), "0.1.0")
      }), { timeout: 120_000 })

    it.effect(
      "keeps a V8 code cache per command under the state root, and runs the same with or without it",
      () =>
        Effect.gen(function*() {
          const bin = yield* Bin.Bin
          const fs = yield* FileSystem.FileSystem
          const minimal = path.join(Bin.repo, "examples/bundles/minimal")
          const first = yield* bin.run(["validate", minimal])
          const cacheDir = path.join(bin.home, "cache", "v8")
          const files = (yield* fs.readDirectory(cacheDir)).filter((f) => f.startsWith("cli-validate-"))
          assert.strictEqual(files.length, 1)
          const second = yield* bin.run(["validate", minimal])
          const uncached = yield* bin.run(["validate", minimal], { env: { EFFECT_SWARM_CODE_CACHE: "0" } })
          for (const r of [first, second, uncached]) {
            assert.strictEqual(r.code, 0)
            assert.strictEqual(r.stdout, `ok ${minimal}: 4 resources in 1 file\n`)
          }
          // A damaged cache is rejected by V8 and replaced; the command is unaffected.
          yield* fs.writeFileString(path.join(cacheDir, files[0]!), "garbage")
          const damaged = yield* bin.run(["validate", minimal])
          assert.strictEqual(damaged.code, 0)
          assert.isAbove(Number((yield* fs.stat(path.join(cacheDir, files[0]!))).size), 1000)
        }),
      { timeout: 120_000 }
    )

    it.effect("a state root that cannot be written costs only the cache", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const fs = yield* FileSystem.FileSystem
        // A path under a regular file: no directory can be made there (even as root).
        const file = path.join(bin.home, "not-a-directory")
        yield* fs.writeFileString(file, "")
        const r = yield* bin.run(["validate", "examples/bundles/minimal"], {
          env: { EFFECT_SWARM_HOME: path.join(file, "home") }
        })
        assert.strictEqual(r.code, 0)
        assert.include(r.stderr, "effect-swarm: warning: cannot write the code cache")
        assert.include(r.stderr, "(ENOTDIR); starts stay slower. Set EFFECT_SWARM_HOME to a writable directory")
      }), { timeout: 120_000 })

    it.effect(
      "a state root under /proc: the command finishes and exits 0 (Node's recursive mkdir never returned there)",
      () =>
        Effect.gen(function*() {
          const bin = yield* Bin.Bin
          const r = yield* bin.run(["validate", "examples/bundles/minimal"], {
            env: { EFFECT_SWARM_HOME: "/proc/effect-swarm-test-home" }
          }).pipe(
            Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("the bin did not exit") }),
            Effect.orDie,
            Effect.withClock(Clock.make())
          )
          assert.strictEqual(r.code, 0, r.stderr)
          assert.include(r.stdout, "ok examples/bundles/minimal")
          assert.include(r.stderr, "cannot write the code cache /proc/effect-swarm-test-home/cache/v8 (ENOENT)")
        }),
      { timeout: 120_000 }
    )

    it.effect("usage mistakes exit 2 with the parser's message and no stack trace", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const r = yield* bin.run(["no-such-command"])
        assert.strictEqual(r.code, 2)
        assert.include(r.stderr, "Invalid subcommand")
        assert.notMatch(r.stderr, /\n\s+at /)
      }), { timeout: 120_000 })
  })
})
