// What a durable turn costs in file operations beyond its appends: the status changes write metadata.json
// through from memory (issue 15: Instances.update read and decoded metadata.json on every status change).
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import {
  AgentInstance,
  EventBus,
  ExtensionState,
  Instances,
  MessageStore,
  RuntimeEventLog,
  Scripted,
  Turn
} from "effect-swarm"
import * as nodeFs from "node:fs/promises"
import { tempRoot } from "../workspace/helpers.js"

const ref = { workspaceId: "w", agentName: "a", instanceKey: "k" }

/** The Node file system, counting the reads of any `metadata.json`. */
const countingReads = (counter: { reads: number }) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      readFile: (p) => {
        if (p.endsWith("metadata.json")) counter.reads++
        return fs.readFile(p)
      },
      readFileString: (p, encoding) => {
        if (p.endsWith("metadata.json")) counter.reads++
        return fs.readFileString(p, encoding)
      }
    }))
  ).pipe(Layer.provide(NodeContext.layer))

/** The RuntimeEventLog, counting its appends (each a durable write). */
const countingLog = (root: string, counter: { appends: number }) =>
  Layer.scoped(
    RuntimeEventLog.RuntimeEventLog,
    Effect.map(RuntimeEventLog.make({ root }), (log) =>
      RuntimeEventLog.RuntimeEventLog.of({
        ...log,
        append: (instance, records) => {
          counter.appends++
          return log.append(instance, records)
        }
      }))
  )

const stores = (root: string, counter: { reads: number; appends: number }) =>
  Layer.mergeAll(
    MessageStore.layer({ root }),
    countingLog(root, counter),
    Instances.layer({ root }),
    ExtensionState.layer({ root }),
    EventBus.layer()
  ).pipe(Layer.provide(countingReads(counter)))

describe("durable turns: what they write besides the conversation", () => {
  it.scoped("turns change the status without reading metadata.json back; the file says idle after them", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const counter = { reads: 0, appends: 0 }
      const model = yield* Scripted.make([{ text: "one" }, { text: "two" }, { text: "three" }])
      yield* Effect.gen(function*() {
        const agent = yield* AgentInstance.make({ ref, model })
        // Opening reads it once (ensure); three turns (processing, idle each) read it no more.
        const opened = counter.reads
        assert.isAtMost(opened, 1)
        for (const input of ["a", "b", "c"]) {
          assert.strictEqual((yield* Turn.run(agent, input)).finishReason, "text_response")
        }
        assert.strictEqual(counter.reads, opened)
        const metadata = yield* Effect.flatMap(Instances.Instances, (i) => i.get(ref))
        assert.isTrue(Option.isSome(metadata))
        if (Option.isSome(metadata)) {
          assert.strictEqual(metadata.value.status, "idle")
          assert.strictEqual(metadata.value.agentName, "a")
        }
      }).pipe(Effect.provide(stores(root, counter)))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("turn.started is written with the turn's end record: one durable runtime-event write per turn", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const counter = { reads: 0, appends: 0 }
      const model = yield* Scripted.make([
        { toolCalls: [{ name: "echo__say", id: "c1", arguments: { text: "a" } }] },
        { text: "done" }
      ])
      yield* Effect.gen(function*() {
        const agent = yield* AgentInstance.make({ ref, model })
        yield* agent.tools.register({
          name: "echo__say",
          parameters: { type: "object", properties: { text: { type: "string" } } }
        }, (args) => Effect.succeed({ said: args.text ?? null })).pipe(Effect.orDie)
        const before = counter.appends
        assert.strictEqual((yield* Turn.run(agent, "go")).finishReason, "text_response")
        assert.strictEqual(counter.appends - before, 1)
        // On disk when the turn returns, in order: the loop's turn.started first, its turn.completed last.
        const log = yield* RuntimeEventLog.RuntimeEventLog
        const records = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref)))
        const loopRecords = records.filter((r) => r.rv !== undefined).map((r) => r.type)
        assert.deepStrictEqual(loopRecords, ["turn.started", "turn.completed"])
        assert.strictEqual(records[0]!.type, "turn.started")
        assert.strictEqual(records.at(-1)!.type, "turn.completed")
        assert.includeMembers(records.map((r) => r.type), ["step.started", "tool.called", "tool.completed"])
      }).pipe(Effect.provide(stores(root, counter)))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("the idle status is written beside the turn's last record, not after it (issue 15)", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const model = yield* Scripted.make([{ text: "one" }])
      // Holds the append of turn.completed while it reads metadata.json (real reads, at most 200): the
      // status write, running beside the append, says idle meanwhile. Written after the append (the old
      // order), it could not: the reads would all see processing.
      const seen: Array<string> = []
      const statusNow = Effect.promise(() =>
        nodeFs.readFile(`${root}/workspaces/w/instances/a@k/metadata.json`, "utf8").then(
          (text) => (JSON.parse(text) as { status: string }).status,
          () => "unreadable"
        )
      )
      const untilIdle = Effect.iterate(0, {
        while: (n) => n < 200 && seen.at(-1) !== "idle",
        body: (n) => Effect.map(statusNow, (status) => (seen.push(status), n + 1))
      })
      const holdingLog = Layer.scoped(
        RuntimeEventLog.RuntimeEventLog,
        Effect.map(RuntimeEventLog.make({ root }), (log) =>
          RuntimeEventLog.RuntimeEventLog.of({
            ...log,
            append: (instance, records) =>
              records.some((r) => r.type === "turn.completed")
                ? Effect.zipRight(untilIdle, log.append(instance, records))
                : log.append(instance, records)
          }))
      )
      yield* Effect.gen(function*() {
        const agent = yield* AgentInstance.make({ ref, model })
        assert.strictEqual((yield* Turn.run(agent, "a")).finishReason, "text_response")
        assert.strictEqual(
          seen.at(-1),
          "idle",
          `metadata.json while turn.completed was written: ${seen.length} reads, the last ${seen.at(-1)}`
        )
        const log = yield* RuntimeEventLog.RuntimeEventLog
        const records = Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref)))
        assert.strictEqual(records.at(-1)!.type, "turn.completed")
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            MessageStore.layer({ root }),
            holdingLog,
            Instances.layer({ root }),
            ExtensionState.layer({ root }),
            EventBus.layer()
          ).pipe(Layer.provide(NodeContext.layer))
        )
      )
    }).pipe(Effect.provide(NodeContext.layer)))
})
