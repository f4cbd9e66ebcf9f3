/**
 * A truly cold Bun call (issue 13): the worker gets `init` and its call in a file the host wrote
 * before the spawn (stdin is never read) and transpiles the entry on its main thread, so the call
 * starts none of the threads a bare Bun start does not start either. What the file carries must come
 * back exactly as it would over stdin, with or without bubblewrap.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as fs from "node:fs"
import * as path from "node:path"
import { execute, fixture, tempDir, testIsolation } from "./helpers.js"

const cold = (entrypoint: string, ...options: ReadonlyArray<RuntimeConfig.Option>) =>
  ToolRuntime.layer.pipe(
    Layer.provide(
      RuntimeConfig.layer(
        "bun",
        RuntimeConfig.withEntrypointPath(entrypoint),
        RuntimeConfig.withToolExecutionTimeout("20 seconds"),
        RuntimeConfig.withIsolation(testIsolation),
        RuntimeConfig.withPrespawn(0),
        ...options
      )
    ),
    Layer.orDie
  )

/** Same text as `unicodeSample` in test/fixtures/roundtrip/shared.mjs, plus lone surrogates. */
const unicode =
  "héllo wörld · 日本語 · 🎉👩‍👩‍👧‍👦🏳️‍🌈 · 𝄞𝕏𠜎 · \u2028\u2029 · tab\tcr\rlf\n · nul\u0000 · \ud800 \udc00 · end"

describe("a cold Bun call", () => {
  it.scoped("starts no thread: the worker's process has one thread when the tool runs", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("es-bun-cold-")
      const entry = path.join(dir, "tools.mjs")
      // A text import reads /proc without a thread of its own (node:fs or Bun.file would start one).
      fs.writeFileSync(
        entry,
        `export const threads = async () => {\n` +
          `  const { default: status } = await import("/proc/" + process.pid + "/status", { with: { type: "text" } })\n` +
          `  return Number(/^Threads:\\s*(\\d+)/m.exec(status)[1])\n` +
          `}\n`
      )
      // Reading stdin (3 threads of Bun's pool) and an asynchronous transpile of the entry (the same
      // pool) made 4 or 5 before; one more than the main thread is left as slack for the runtime.
      const threads = yield* execute({ toolId: "threads", input: null }).pipe(Effect.provide(cold(entry)))
      assert.isAtMost(threads as number, 2)
    }))

  it.effect("hands the tool its input and config exactly, unicode and 2 MB included", () =>
    Effect.gen(function*() {
      const text = unicode.repeat(Math.ceil((2 << 20) / unicode.length))
      const input = { kind: "unicode", nested: { a: [1, null, "x"] } }
      const measured = yield* execute({ toolId: "measure", input: { text } })
      let sum = 0
      for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i) * (i % 7 + 1)) % 1_000_000_007
      assert.deepStrictEqual(measured, { length: text.length, sum })
      const echoed =
        (yield* execute({ toolId: "echo", input: { ...input, text: unicode }, config: { c: unicode } })) as {
          input: unknown
          config: unknown
        }
      assert.deepStrictEqual(echoed.input, { ...input, text: unicode })
      assert.deepStrictEqual(echoed.config, { c: unicode })
    }).pipe(Effect.provide(cold(fixture("roundtrip", "default-object.mjs")))))
})
