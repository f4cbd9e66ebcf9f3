// What a durable turn costs in file operations beyond its appends: the status changes write metadata.json
// through from memory (issue 15: Instances.update read and decoded metadata.json on every status change).
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
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

const stores = (root: string, counter: { reads: number }) =>
  Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root }),
    EventBus.layer()
  ).pipe(Layer.provide(countingReads(counter)))

describe("durable turns: status writes", () => {
  it.scoped("turns change the status without reading metadata.json back; the file says idle after them", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const counter = { reads: 0 }
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
})
