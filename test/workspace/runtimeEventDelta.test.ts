import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Schema, Stream } from "effect"
import { LlmInputRecord, RuntimeEvent, RuntimeEventLog, WorkspacePaths } from "effect-swarm"
import * as path from "node:path"
import { FsLive, ref, tempRoot } from "./helpers.js"

// A turn of `steps` steps as the pipeline summarises it: the system prompt, the user message, then per step
// the assistant's tool call and the tool's result (the summaries of one message are one object, as
// LlmInput caches them).
const system = { role: "system", content: "You run the tool.", contentSource: "verbatim" as const }
const user = { role: "user", content: "Run it.", contentSource: "verbatim" as const }
const call = (i: number) => ({
  role: "assistant",
  content: "",
  contentSource: "summary" as const,
  parts: [{ type: "tool-call" as const, toolCallId: `c${i}`, toolName: "noop__run", input: `{"n":${i}}` }]
})
const result = (i: number) => ({
  role: "tool",
  content: `{"ok":${i}}`,
  contentSource: "summary" as const,
  parts: [{ type: "tool-result" as const, toolCallId: `c${i}`, toolName: "noop__run", output: `{"ok":${i}}` }]
})
const stepStarted = (turnId: string, i: number, llmInputMessages: ReadonlyArray<unknown>) => ({
  type: "step.started",
  timestamp: "2026-12-05T08:00:00.000Z",
  agentName: "coder",
  instanceKey: "thread:42",
  turnId,
  traceId: "a".repeat(32),
  spanId: "b".repeat(16),
  stepId: `${turnId}-step-${i}`,
  stepIndex: i,
  llmInputMessages
})
const turn = (turnId: string, steps: number) => {
  const input: Array<unknown> = [system, user]
  const records: Array<RuntimeEventLog.EventRecord> = []
  for (let i = 0; i < steps; i++) {
    records.push(stepStarted(turnId, i, input.slice()))
    records.push({ type: "tool.completed", turnId, stepIndex: i })
    input.push(call(i), result(i))
  }
  return records
}

const readAll = (log: RuntimeEventLog.Service) =>
  Effect.map(Stream.runCollect(log.read(ref)), (c) => Chunk.toReadonlyArray(c))

describe("RuntimeEventLog: step.started model input summaries (record versions 2 and 3)", () => {
  it.scoped("a turn's summaries are stored as what each step adds and read back whole", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      const appended = [...turn("turn-1", 10), ...turn("turn-2", 3)]
      yield* log.append(ref, appended)
      const text = yield* fs.readFileString(WorkspacePaths.instance(root, ref).runtimeEvents)
      const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
      assert.strictEqual(lines.length, appended.length)
      const started = lines.filter((l) => l.type === "step.started")
      // The first step of each turn whole; every later one keeps its predecessor's summary and adds two.
      assert.deepStrictEqual(started.map((l) => Array.isArray(l.llmInputMessages)), [
        true,
        ...Array(9).fill(false),
        true,
        false,
        false
      ])
      const { llmInputMessages: _, ...fields } = stepStarted("turn-1", 3, [])
      assert.deepStrictEqual(started[3], {
        v: 3,
        ...fields,
        llmInputBase: "turn-1-step-2",
        llmInputKept: 6,
        llmInputAdded: [call(2), result(2)]
      })
      // O(steps) bytes, not O(steps^2): the whole summaries of one 10-step turn alone are larger than the file.
      const whole = turn("turn-1", 10).reduce((n, r) => n + JSON.stringify(r).length, 0)
      assert.isBelow(text.length, whole / 2)
      // What was appended is what is read, and each step.started decodes as the event schema.
      const read = yield* readAll(log)
      assert.deepStrictEqual(read, appended)
      for (const r of read) if (r.type === "step.started") Schema.decodeUnknownSync(RuntimeEvent.StepStarted)(r)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("each line is what codec.encode writes for what compress stores (written without copying a record)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const log = yield* RuntimeEventLog.make({ root })
      // Two turns interleaved, a step.started of a third with no base, and one whose summary starts elsewhere.
      const a = turn("turn-a", 4)
      const b = turn("turn-b", 3)
      const appended = [
        ...a.slice(0, 3),
        ...b,
        ...a.slice(3),
        stepStarted("turn-c", 0, [user]),
        stepStarted("turn-a", 9, [system]),
        { type: "turn.completed", turnId: "turn-a", extra: { nested: [1, "two", null] } }
      ]
      yield* log.append(ref, appended)
      const text = yield* fs.readFileString(WorkspacePaths.instance(root, ref).runtimeEvents)
      const expected = LlmInputRecord.compress(appended).map((r) => RuntimeEventLog.codec.encode(r) + "\n").join("")
      assert.strictEqual(text, expected)
      assert.deepStrictEqual(yield* readAll(log), appended)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a version-1 log (every summary whole) reads unchanged, and appending to it goes on", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      const old = turn("turn-0", 3)
      yield* fs.writeFileString(file, old.map((r) => JSON.stringify({ v: 1, ...r }) + "\n").join(""))
      const log = yield* RuntimeEventLog.make({ root })
      const added = turn("turn-1", 2)
      yield* log.append(ref, added)
      const read = yield* readAll(log)
      assert.deepStrictEqual(read, [...old, ...added])
      for (const r of read) if (r.type === "step.started") Schema.decodeUnknownSync(RuntimeEvent.StepStarted)(r)
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a stored delta whose base is missing (a line dropped by a repair) is read as stored, not guessed", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempRoot
      const file = WorkspacePaths.instance(root, ref).runtimeEvents
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      const orphan = {
        v: 2,
        type: "step.started",
        turnId: "turn-1",
        stepId: "turn-1-step-1",
        stepIndex: 1,
        llmInputBase: "turn-1-step-0",
        llmInputKept: 2,
        llmInputAdded: [call(0)]
      }
      // Its base is another step (not the one it names): not expanded either.
      const other = { v: 2, ...stepStarted("turn-2", 0, [system]) }
      const wrongBase = { ...orphan, turnId: "turn-2", llmInputKept: 1 }
      yield* fs.writeFileString(file, [orphan, other, wrongBase].map((r) => JSON.stringify(r) + "\n").join(""))
      const log = yield* RuntimeEventLog.make({ root })
      const read = yield* readAll(log)
      const { v: _1, ...orphanRecord } = orphan
      const { v: _2, ...otherRecord } = other
      const { v: _3, ...wrongRecord } = wrongBase
      assert.deepStrictEqual(read, [orphanRecord, otherRecord, wrongRecord])
    }).pipe(Effect.provide(FsLive)))
})

describe("LlmInputRecord", () => {
  it("compares rebuilt summaries by value (a context window's system message is a new object each step)", () => {
    const stored = LlmInputRecord.compress<RuntimeEventLog.EventRecord>([
      stepStarted("t", 0, [{ ...system }, user]),
      stepStarted("t", 1, [{ ...system }, user, call(0)]),
      // A window that left the user message out: the system prompt and the call are kept (the user message
      // between them dropped).
      stepStarted("t", 2, [{ ...system }, call(0), result(0)]),
      // Nothing in common: stored whole.
      stepStarted("t", 3, [call(1)])
    ])
    assert.deepStrictEqual(
      stored.map((r) => [r.llmInputKept, (r.llmInputAdded as Array<unknown> | undefined)?.length, r.llmInputDropped]),
      [
        [undefined, undefined, undefined],
        [2, 1, undefined],
        [2, 1, 1],
        [undefined, undefined, undefined]
      ]
    )
    const expand = LlmInputRecord.expander()
    assert.deepStrictEqual(stored.map(expand).map((r) => r.llmInputMessages), [
      [system, user],
      [system, user, call(0)],
      [system, call(0), result(0)],
      [call(1)]
    ])
  })

  it("a window that slid (a conversation longer than the summary) is stored as what it adds", () => {
    // The summaries as LlmInput makes them past 64 messages: the system prompt, then the last 63.
    const history = Array.from({ length: 80 }, (_, i) => i % 2 === 0 ? call(i) : result(i - 1))
    const window = (end: number) => [system, ...history.slice(end - 63, end)]
    const appended = [10, 12, 14].map((_, k) => stepStarted("t", k, window(70 + 2 * k)))
    const stored = LlmInputRecord.compress<RuntimeEventLog.EventRecord>(appended)
    assert.deepStrictEqual(
      stored.map((
        r
      ) => [
        r.llmInputKept,
        r.llmInputDroppedAt,
        r.llmInputDropped,
        (r.llmInputAdded as Array<unknown> | undefined)?.length
      ]),
      [[undefined, undefined, undefined, undefined], [62, 1, 2, 2], [62, 1, 2, 2]]
    )
    const expand = LlmInputRecord.expander()
    assert.deepStrictEqual(stored.map(expand), appended)
    // Dropped counts that do not fit the base are read as stored, never guessed.
    const bad: ReadonlyArray<Record<string, number>> = [
      { llmInputDropped: 70 },
      { llmInputDroppedAt: 64 },
      { llmInputDropped: -1 },
      { llmInputKept: 63 }
    ]
    for (const fields of bad) {
      const again = LlmInputRecord.expander()
      const hostile: RuntimeEventLog.EventRecord = { ...stored[1]!, ...fields }
      assert.deepStrictEqual([stored[0]!, hostile].map(again), [appended[0]!, hostile])
    }
  })

  it("compares summaries that are not LlmInput's (null items, parts that are not arrays) without throwing", () => {
    const odd = [null, { role: "user", content: "x", parts: "no" }, 3] as ReadonlyArray<unknown>
    const stored = LlmInputRecord.compress<RuntimeEventLog.EventRecord>([
      stepStarted("t", 0, odd),
      stepStarted("t", 1, [...odd, user]),
      stepStarted("t", 2, [{ role: "user", content: "x", parts: [null] }])
    ])
    const expand = LlmInputRecord.expander()
    assert.deepStrictEqual(stored.map(expand).map((r) => r.llmInputMessages), [odd, [...odd, user], [
      { role: "user", content: "x", parts: [null] }
    ]])
  })

  it("leaves records without summaries, and the array given, as they are", () => {
    const records = [{ type: "turn.started", turnId: "t" }, stepStarted("t", 0, [user]), { type: "tool.called" }]
    assert.strictEqual(LlmInputRecord.compress(records), records)
  })
})
