/**
 * The parts of `run --watch` that need no process: the debounce on the TestClock, and which agents an edit
 * changes (fingerprints of real bundles loaded from a copy of test/fixtures/bundles/watch).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Queue, Stream, TestClock } from "effect"
import * as path from "node:path"
import * as Watch from "../../src/cli/internal/watch.js"
import * as Bundle from "../../src/resource/Bundle.js"

/** Yields until a fiber sleeps until `at` (ms on the TestClock). */
const untilSleep = (at: number) =>
  Effect.gen(function*() {
    while (!Chunk.some(yield* TestClock.sleeps(), (t) => t === at)) yield* Effect.yieldNow()
  })

describe("run --watch: debounce", () => {
  it.scoped("a batch is emitted once no change came for the delay, holding every change since the last batch", () =>
    Effect.gen(function*() {
      const changes = yield* Queue.unbounded<string>()
      const batches = yield* Queue.unbounded<ReadonlyArray<string>>()
      yield* Watch.debounce(Stream.fromQueue(changes), "300 millis").pipe(
        Stream.runForEach((batch) => Queue.offer(batches, batch)),
        Effect.forkScoped
      )
      yield* Queue.offer(changes, "alpha/agent.yaml")
      yield* untilSleep(300)
      yield* TestClock.adjust("200 millis")
      // A second change within the delay starts it again.
      yield* Queue.offer(changes, "alpha/prompt.md")
      yield* untilSleep(500)
      yield* TestClock.adjust("299 millis")
      assert.strictEqual(yield* Queue.size(batches), 0)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Queue.take(batches), ["alpha/agent.yaml", "alpha/prompt.md"])
      // The next change makes a batch of its own, 300 ms after it.
      yield* Queue.offer(changes, "models.yaml")
      yield* untilSleep(800)
      assert.strictEqual(yield* Queue.size(batches), 0)
      yield* TestClock.adjust("300 millis")
      assert.deepStrictEqual(yield* Queue.take(batches), ["models.yaml"])
    }))

  it.effect("the default delay is 300 ms", () =>
    Effect.sync(() => assert.strictEqual(Duration.toMillis(Watch.defaultDelay), 300)))
})

const fixture = path.resolve(__dirname, "../fixtures/bundles/watch")

describe("run --watch: which agents an edit changes", () => {
  it.scoped("the agent's YAML, its prompt file, its Model; not a Connection", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "es-watch-unit-" })
      yield* fs.copy(fixture, dir)
      const load = Effect.flatMap(Bundle.load(dir, { dependencies: false }), Watch.fingerprints)
      const edit = (file: string, from: string, to: string) =>
        Effect.gen(function*() {
          const text = yield* fs.readFileString(path.join(dir, file))
          assert.include(text, from)
          yield* fs.writeFileString(path.join(dir, file), text.replace(from, to))
        })
      let before = yield* load
      const changedBy = (file: string, from: string, to: string) =>
        Effect.gen(function*() {
          yield* edit(file, from, to)
          const after = yield* load
          const changed = Watch.changedAgents(before, after)
          before = after
          return changed
        })

      assert.deepStrictEqual(yield* changedBy("alpha/agent.yaml", "Model/alpha-v1", "Model/alpha-v2"), ["alpha"])
      assert.deepStrictEqual(yield* changedBy("alpha/prompt.md", "You are alpha.", "You are alpha, terse."), ["alpha"])
      assert.deepStrictEqual(yield* changedBy("models.yaml", "beta reply 5", "beta reply five"), ["beta"])
      // A Model nobody uses any more, a Connection: no agent changes.
      assert.deepStrictEqual(yield* changedBy("models.yaml", "alpha v1 reply 4", "alpha v1 reply four"), [])
      assert.deepStrictEqual(yield* changedBy("swarm.yaml", "instanceKey: b", "instanceKey: bb"), [])
      // Both agents' YAML in one batch.
      yield* edit("alpha/agent.yaml", "Model/alpha-v2", "Model/alpha-v1")
      assert.deepStrictEqual(yield* changedBy("beta/agent.yaml", "You are beta.", "You are beta and kind."), [
        "alpha",
        "beta"
      ])
    }).pipe(Effect.provide(NodeContext.layer)))
})
