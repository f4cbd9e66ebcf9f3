import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Schema } from "effect"
import { Jsonl } from "effect-swarm"
import * as path from "node:path"
import { tempRoot } from "./helpers.js"

// Duration.decode reads NaN and negative numbers as 0 and throws on what it cannot read: before the check, a
// NaN or negative threshold silently meant "never block the calling thread".
describe("Jsonl.DurableFile.nodeWith: the blockingBelow option", () => {
  const bad: ReadonlyArray<readonly [input: unknown, given: string]> = [
    [Number.NaN, "NaN"],
    [-1, "-1"],
    [-Infinity, "-Infinity"],
    [-1n, "-1n"],
    ["-5 millis", "\"-5 millis\""],
    ["fast", "\"fast\""],
    [[-1, 0], "[-1, 0]"],
    [[0, Number.NaN], "[0, NaN]"],
    [undefined, "undefined"],
    [null, "null"]
  ]
  for (const [input, given] of bad) {
    it(`refuses ${given} with InvalidDurableFileOption naming the option and the value`, () => {
      const made = Jsonl.DurableFile.nodeWith({ blockingBelow: input as Duration.DurationInput })
      assert.isTrue(Either.isLeft(made), `${given} was accepted`)
      const error = Either.isLeft(made) ? made.left : undefined
      assert.instanceOf(error, Jsonl.InvalidDurableFileOption)
      assert.strictEqual(error?._tag, "InvalidDurableFileOption")
      assert.strictEqual(error?.option, "blockingBelow")
      assert.strictEqual(error?.given, given)
      assert.include(error?.message, `option blockingBelow is ${given}; it must be a duration of 0 or more`)
    })
  }

  it.scoped("accepts 0, Infinity and every form of a non-negative duration, and the threshold applies", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const good: ReadonlyArray<readonly [Duration.DurationInput, blocking: boolean]> = [
        [0, false],
        [Infinity, true],
        ["2 millis", true],
        ["0 millis", false],
        [Duration.millis(3), true],
        [Duration.zero, false],
        [5_000_000n, true],
        [[0, 500_000], true]
      ]
      for (const [i, [input, blocking]] of good.entries()) {
        const made = Jsonl.DurableFile.nodeWith({ blockingBelow: input })
        assert.isTrue(Either.isRight(made), `${String(input)} was refused`)
        const service = yield* made
        // A fresh service has measured nothing (latency 0): it blocks exactly when the threshold is above 0.
        const handle = yield* service.open(fs, path.join(root, `t-${i}.jsonl`), {
          durable: false
        })
        assert.strictEqual(handle.blocking?.(), blocking, `blockingBelow ${String(input)}`)
      }
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("as a layer, the refusal is in the layer's error channel", () =>
    Effect.gen(function*() {
      const layer = Layer.effect(Jsonl.DurableFile, Jsonl.DurableFile.nodeWith({ blockingBelow: Number.NaN }))
      const error = yield* Effect.flip(Effect.provide(Jsonl.DurableFile, layer))
      assert.strictEqual(error._tag, "InvalidDurableFileOption")
      assert.strictEqual(
        error.message,
        "cannot make Jsonl.DurableFile.nodeWith: option blockingBelow is NaN; it must be a duration of 0 or more, " +
          "such as \"1 millis\" or Duration.millis(1) (0: never block the calling thread; Infinity: block it " +
          "whenever an append is alone)"
      )
      // The error is a schema class: it round-trips (sent between hosts, written to logs as JSON).
      const encoded = Schema.encodeSync(Jsonl.InvalidDurableFileOption)(error)
      assert.deepStrictEqual(Schema.decodeSync(Jsonl.InvalidDurableFileOption)(encoded), error)
    }))
})
