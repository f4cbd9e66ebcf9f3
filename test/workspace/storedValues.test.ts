// Issue 12, review of session 12: what is written is exactly what was checked, and what reads back is what
// was appended. A draft's getter is read once (the value checked is the value written); a runtime event
// holding a value JSON would change (NaN, Infinity, undefined, a Date, nesting past 256 levels) is refused
// with an error naming the record, its type, the file and the path, not stored changed.
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { type Message, MessageEvent, MessageStore, RuntimeEventLog, WorkspacePaths } from "effect-swarm"
import { FsLive, msg, ref, tempRoot } from "./helpers.js"

// A property that gives `values[n]` on its read n (the last value on every read after them).
const changing = <A extends object>(target: A, key: string, ...values: ReadonlyArray<unknown>): A => {
  let reads = 0
  Object.defineProperty(target, key, { enumerable: true, get: () => values[Math.min(reads++, values.length - 1)] })
  return target
}

const holey = (): Array<number> => {
  const array = [1, 2, 3]
  delete array[1]
  return array
}

const nested = (depth: number): unknown => {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe("a draft whose getters give another value on a second read", () => {
  it.scoped("the message id, a text field and a nested metadata value are written as they were checked", () =>
    Effect.gen(function*() {
      const store = yield* MessageStore.make({ root: yield* tempRoot })
      const base = msg("ignored", "hello")
      const message = changing({ ...base }, "id", "m1", "m1", undefined) as Message.Message
      const data = changing({ role: "user" }, "content", "checked text", 42)
      const metadata = { info: changing({}, "n", 1, undefined) }
      const second = { ...msg("m2", "x"), data, metadata } as unknown as Message.Message
      yield* store.append(ref, [MessageEvent.append(message), MessageEvent.append(second)])
      const loaded = (yield* store.load(ref)).messages
      // Before: the id was checked on two reads ("m1") and written from a third (`"undefined"`); the key `n`
      // checked as 1 was dropped by the second walk (JSON.stringify) that wrote it.
      assert.deepStrictEqual(loaded.map((m) => m.id), ["m1", "m2"])
      assert.strictEqual(loaded[1]!.data.content, "checked text")
      assert.deepStrictEqual(loaded[1]!.metadata, { info: { n: 1 } })
    }).pipe(Effect.provide(FsLive)))
})

describe("RuntimeEventLog.append: values that would read back changed are refused", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
    ["NaN", { type: "step.completed", n: Number.NaN }, "n"],
    ["Infinity deep inside", { type: "step.completed", a: { b: [1, Number.POSITIVE_INFINITY] } }, "a.b[1]"],
    ["undefined in an array", { type: "step.completed", a: [1, undefined] }, "a[1]"],
    ["a hole in an array", { type: "step.completed", a: holey() }, "a[1]"],
    ["a Date", { type: "step.completed", at: new Date(0) }, "at"],
    ["nesting past 256 levels", { type: "step.completed", deep: nested(300) }, "deep"]
  ]

  it.scoped("InvalidMessage names the record, its type, the file and the path; nothing of the batch is written", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* log.append(ref, [{ type: "turn.started" }])
      const before = yield* fs.readFileString(file)
      for (const [name, record, path] of cases) {
        const error = yield* Effect.flip(
          log.append(ref, [{ type: "step.started" }, record as RuntimeEventLog.EventRecord])
        )
        assert.strictEqual(error._tag, "InvalidMessage", name)
        if (error._tag !== "InvalidMessage") continue
        assert.strictEqual(error.index, 1, name)
        assert.strictEqual(error.kind, "runtime event", name)
        assert.strictEqual(error.eventType, "step.completed", name)
        assert.strictEqual(error.file, file, name)
        assert.isTrue(error.path?.startsWith(path), `${name}: path ${error.path}`)
        assert.include(error.message, `runtime event #1 of type "step.completed" cannot be appended to ${file}`, name)
        assert.notInclude(error.message, "draft", name)
        assert.notInclude(error.message, "Message.make", name)
        assert.strictEqual(yield* fs.readFileString(file), before, `${name}: nothing written`)
      }
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(log.read(ref))), [{ type: "turn.started" }])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a key whose value is undefined is left out (it reads back absent, as the events' optional fields mean)", () =>
    Effect.gen(function*() {
      const log = yield* RuntimeEventLog.make({ root: yield* tempRoot })
      yield* log.append(ref, [{ type: "tool.completed", errorCode: undefined, usage: { a: 1, b: undefined } }])
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(log.read(ref))), [
        { type: "tool.completed", usage: { a: 1 } }
      ])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("JSON nested 256 levels, -0, unicode and every JSON kind read back as appended", () =>
    Effect.gen(function*() {
      const log = yield* RuntimeEventLog.make({ root: yield* tempRoot })
      const record = {
        type: "tool.called",
        deep: nested(256),
        values: [null, true, false, 0, 1.5, -2e-7, "é\u2028\"\\", { "": [], "x y": {} }],
        proto: JSON.parse(`{"__proto__": 1}`)
      }
      yield* log.append(ref, [record])
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(log.read(ref))), [record])
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a record without a string type, or with v, or a class instance: refused, the reason said", () =>
    Effect.gen(function*() {
      const log = yield* RuntimeEventLog.make({ root: yield* tempRoot })
      class Event {
        type = "x"
      }
      const refused = [
        [{ kind: "x" }, "no type"],
        [{ type: 5 }, "not a string"],
        [{ type: "x", v: 3 }, "reserved"],
        [new Event(), "not a plain object"]
      ] as const
      for (const [record, reason] of refused) {
        const error = yield* Effect.flip(log.append(ref, [record as unknown as RuntimeEventLog.EventRecord]))
        assert.strictEqual(error._tag, "InvalidMessage")
        assert.include(error.message, reason)
        assert.include(error.message, "runtime event #0")
      }
    }).pipe(Effect.provide(FsLive)))
})
