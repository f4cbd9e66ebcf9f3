import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Queue, TestClock } from "effect"
import * as path from "node:path"
import { tail } from "../../src/cli/Events.js"
import * as MessageEvent from "../../src/conversation/MessageEvent.js"
import * as Instances from "../../src/workspace/Instances.js"
import * as MessageStore from "../../src/workspace/MessageStore.js"
import * as RuntimeEventLog from "../../src/workspace/RuntimeEventLog.js"
import * as WorkspacePaths from "../../src/workspace/WorkspacePaths.js"
import { msg } from "../workspace/helpers.js"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)

const coder = { workspaceId: "team", agentName: "coder", instanceKey: "thread-1" }
const reviewer = { workspaceId: "team", agentName: "reviewer", instanceKey: "r1" }
const otherCoder = { workspaceId: "lab", agentName: "coder", instanceKey: "thread-1" }

/** A fresh state root with instances written through the library, as a running swarm leaves them. */
const seed = (refs: ReadonlyArray<WorkspacePaths.InstanceRef>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-cli-root-" })
    yield* Effect.scoped(Effect.gen(function*() {
      const instances = yield* Instances.make({ root })
      const store = yield* MessageStore.make({ root })
      const log = yield* RuntimeEventLog.make({ root })
      for (const ref of refs) {
        yield* instances.ensure(ref)
        yield* store.append(ref, [MessageEvent.append(msg("m1", "hello")), MessageEvent.append(msg("m2", "again"))])
        yield* log.append(ref, [
          { type: "turn.started", turnId: "t1", agentName: ref.agentName, instanceKey: ref.instanceKey },
          { type: "tool.failed", turnId: "t1", toolName: "bash__exec", errorMessage: "denied" }
        ])
      }
    }))
    return root
  })

describe("effect-swarm instances and events", () => {
  layer(Live, { timeout: 120_000 })((it) => {
    it.scoped(
      "instances list: a table across workspaces, --json for scripts, an empty root says so",
      () =>
        Effect.gen(function*() {
          const bin = yield* Bin.Bin
          const root = yield* seed([coder, reviewer, otherCoder])
          const text = yield* bin.run(["instances", "list"], { env: { EFFECT_SWARM_HOME: root } })
          assert.strictEqual(text.code, 0)
          const rows = text.stdout.trim().split("\n").map((l) => l.split(/\s+/).slice(0, 3).join(" "))
          assert.deepStrictEqual(rows, [
            "WORKSPACE INSTANCE STATUS",
            "lab coder@thread-1 idle",
            "team coder@thread-1 idle",
            "team reviewer@r1 idle"
          ])
          const json = yield* bin.run(["instances", "list", "--workspace", "team", "--json"], {
            env: { EFFECT_SWARM_HOME: root }
          })
          const parsed = JSON.parse(json.stdout)
          assert.deepStrictEqual(parsed.instances.map((m: Instances.Metadata) => m.agentName), ["coder", "reviewer"])
          const empty = yield* bin.run(["instances", "list"], { env: { EFFECT_SWARM_HOME: path.join(root, "none") } })
          assert.strictEqual(empty.stdout, `no instances under ${path.join(root, "none")}\n`)
        }),
      { timeout: 120_000 }
    )

    it.scoped(
      "events: one line per record, --json the records; unknown and ambiguous instances are typed errors",
      () =>
        Effect.gen(function*() {
          const bin = yield* Bin.Bin
          const root = yield* seed([coder, reviewer, otherCoder])
          const env = { EFFECT_SWARM_HOME: root }
          const text = yield* bin.run(["events", "reviewer@r1"], { env })
          assert.strictEqual(text.code, 0)
          assert.deepStrictEqual(text.stdout.trim().split("\n"), [
            "turn.started     turn=t1",
            "tool.failed      turn=t1  tool=bash__exec  error=denied"
          ])
          const json = yield* bin.run(["events", "reviewer", "--json"], { env })
          assert.deepStrictEqual(json.stdout.trim().split("\n").map((l) => JSON.parse(l).type), [
            "turn.started",
            "tool.failed"
          ])

          const missing = yield* bin.run(["events", "nobody@x"], { env })
          assert.strictEqual(missing.code, 3)
          assert.include(missing.stderr, `no instance nobody@x under ${root}`)
          assert.include(missing.stderr, "reviewer@r1 (team)")
          assert.notMatch(missing.stderr, /\n\s+at /, "no stack trace")

          const ambiguous = yield* bin.run(["events", "coder@thread-1"], { env })
          assert.strictEqual(ambiguous.code, 3)
          assert.include(ambiguous.stderr, "coder@thread-1 in workspace lab")
          assert.include(ambiguous.stderr, "--workspace")
          const narrowed = yield* bin.run(["events", "coder@thread-1", "--workspace", "lab", "--json"], { env })
          assert.strictEqual(narrowed.code, 0)

          const bad = yield* bin.run(["events", "@x"], { env })
          assert.strictEqual(bad.code, 3)
          assert.include(bad.stderr, "the agent name is empty")
        }),
      { timeout: 120_000 }
    )

    it.scoped(
      "events --follow prints what is appended after it started, then exits on Ctrl-C",
      () =>
        Effect.gen(function*() {
          const root = yield* seed([reviewer])
          const running = yield* Bin.start(["events", "reviewer@r1", "--follow", "--json"], {
            env: { EFFECT_SWARM_HOME: root }
          })
          // Every wait is bounded (real time: the process answers in real time) and fails showing what it saw.
          const seen: Array<string> = []
          const next = Effect.map(Bin.waitLine(running.lines, seen, /^\{/), (hit) => JSON.parse(hit.input).type)
          // What was there before.
          assert.strictEqual(yield* next, "turn.started")
          assert.strictEqual(yield* next, "tool.failed")
          // Appended by a writer while it follows.
          yield* Effect.scoped(Effect.gen(function*() {
            const log = yield* RuntimeEventLog.make({ root })
            yield* log.append(reviewer, [{ type: "turn.completed", turnId: "t1", finishReason: "text_response" }])
          }))
          assert.strictEqual(yield* next, "turn.completed")
          yield* running.kill("SIGINT")
          assert.strictEqual(yield* running.exitCode, 130)
          yield* running.drained
          assert.strictEqual(yield* Queue.size(running.lines), 0, seen.join("\n"))
        }),
      { timeout: 120_000 }
    )

    it.scoped("instances repair reports the dropped lines; delete removes the instance", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const fs = yield* FileSystem.FileSystem
        const root = yield* seed([coder])
        const env = { EFFECT_SWARM_HOME: root }
        const healthy = yield* bin.run(["instances", "repair", "coder"], { env })
        assert.strictEqual(healthy.stdout, "coder@thread-1: nothing to repair (2 records, last seq 2)\n")
        const events = WorkspacePaths.instance(root, coder).events
        const lines = (yield* fs.readFileString(events)).split("\n")
        lines[0] = "{not json"
        yield* fs.writeFileString(events, lines.join("\n"))
        const repaired = yield* bin.run(["instances", "repair", "coder@thread-1", "--json"], { env })
        assert.strictEqual(repaired.code, 0)
        const report = JSON.parse(repaired.stdout)
        assert.deepStrictEqual(report.dropped.map((d: { line: number }) => d.line), [1])
        assert.strictEqual(report.kept, 1)

        const deleted = yield* bin.run(["instances", "delete", "coder@thread-1"], { env })
        assert.strictEqual(deleted.stdout, "deleted coder@thread-1 (workspace team)\n")
        const after = yield* bin.run(["instances", "list", "--json"], { env })
        assert.deepStrictEqual(JSON.parse(after.stdout).instances, [])
        const again = yield* bin.run(["instances", "delete", "coder@thread-1"], { env })
        assert.strictEqual(again.code, 3)
      }), { timeout: 120_000 })
  })
})

describe("Events.tail", () => {
  it.scoped("delivers complete lines from the offset on, holds a partial line until its newline, on the Clock", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-tail-" })
      const file = path.join(dir, "runtime-events.jsonl")
      yield* fs.writeFileString(file, "old\n")
      const seen = yield* Queue.unbounded<string>()
      const fiber = yield* tail(file, (line) => Queue.offer(seen, line), {
        from: 4,
        watch: false,
        interval: "1 second"
      }).pipe(Effect.forkScoped)
      yield* TestClock.adjust("1 second")
      yield* fs.writeFileString(file, "old\nfirst\nsec", { flag: "w" })
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Queue.take(seen), "first")
      yield* fs.writeFileString(file, "ond\n", { flag: "a" })
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Queue.take(seen), "second")
      // Replaced by a shorter file: read again from its start.
      yield* fs.writeFileString(file, "new\n")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Queue.take(seen), "new")
      assert.strictEqual(yield* Queue.size(seen), 0)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(NodeContext.layer)))
})
