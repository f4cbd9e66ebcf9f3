/**
 * Jsonl / MessageStore throughput, next to the raw floor measured in the same run:
 * - durable group commit: events/s appending batches of 64 and of 1 through the queue-backed writer (one
 *   write + one fsync per batch), sequentially and with 64 concurrent appenders (group commit merges them);
 * - non-durable append (no fsync) through the same writer;
 * - loading a 100k-event conversation with MessageStore.load;
 * - the floor: `fs.writeSync` + `fs.fdatasyncSync` on a raw fd with the same bytes, and a raw
 *   `readFileSync` + `split` + `JSON.parse` of the same 100k-event file.
 * Each task is timed by tinybench (1 s after warm-up); events/s = events per call x calls/s. Effect tasks
 * run 20 calls per `Effect.runPromise` (a program appends many times inside one runtime; the per-run
 * start-up of `runPromise` is not the writer's cost), and the row reports the per-call figures.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bench } from "tinybench"
import type { Message } from "../src/conversation/Message.js"
import * as MessageEvent from "../src/conversation/MessageEvent.js"
import * as Jsonl from "../src/workspace/Jsonl.js"
import * as MessageStore from "../src/workspace/MessageStore.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-bench-jsonl-"))
const ref = { workspaceId: "bench", agentName: "coder", instanceKey: "load" }

const message = (i: number): Message => ({
  id: `msg-${i}`,
  data: {
    role: i % 2 === 0 ? "user" : "assistant",
    content: `message ${i}: ` + "lorem ipsum dolor sit amet ".repeat(6)
  },
  metadata: { turn: i >> 3 },
  createdAt: new Date(1_700_000_000_000 + i),
  source: i % 2 === 0 ? { type: "user" } : { type: "assistant", stepId: `turn-${i >> 3}-step-0` }
})
let seq = 0
const events = (n: number): Array<MessageEvent.MessageEvent> =>
  Array.from({ length: n }, () => MessageEvent.withSeq(MessageEvent.append(message(seq)), ++seq))

const run = <A, E>(effect: Effect.Effect<A, E, never>) => Effect.runPromise(effect)

const results: Array<{ task: string; eventsPerCall: number; hz: number; p50: number }> = []

const callsPerRun = 20
const measureEffect = (
  name: string,
  eventsPerCall: number,
  effect: Effect.Effect<unknown, unknown, never>
) => measure(name, eventsPerCall, () => run(Effect.repeatN(effect, callsPerRun - 1)), { callsPerTask: callsPerRun })

const measure = async (
  name: string,
  eventsPerCall: number,
  fn: () => unknown | Promise<unknown>,
  options?: { readonly time?: number; readonly iterations?: number; readonly callsPerTask?: number }
) => {
  // `iterations` is tinybench's minimum (default 64): the 100k-event loads lower it to keep the run short.
  const bench = new Bench({
    time: options?.time ?? 1000,
    warmupTime: 200,
    iterations: options?.iterations ?? 16,
    warmupIterations: 2
  })
  bench.add(name, fn)
  await bench.run()
  const task = bench.tasks[0]!
  const r = task.result!
  const hz = (r as { throughput?: { mean: number }; hz?: number }).throughput?.mean ??
    (r as { hz?: number }).hz ?? 0
  const p50 = (r as { latency?: { p50?: number }; p50?: number }).latency?.p50 ?? (r as { p50?: number }).p50 ?? 0
  const calls = options?.callsPerTask ?? 1
  results.push({ task: name, eventsPerCall, hz: hz * calls, p50: p50 / calls })
}

export const run_ = async (): Promise<void> => {
  const scope = Effect.runSync(Scope.make())
  const open = (file: string, durable: boolean) =>
    run(
      Jsonl.writer(path.join(dir, file), MessageStore.eventCodec, { durable }).pipe(
        Scope.extend(scope),
        Effect.provide(NodeFileSystem.layer)
      )
    )
  const batch64 = events(64)
  const batch1 = events(1)
  const bytes64 = Buffer.from(batch64.map((e) => MessageStore.eventCodec.encode(e) + "\n").join(""))
  const bytes1 = Buffer.from(MessageStore.eventCodec.encode(batch1[0]!) + "\n")

  // The floor: raw fd, same bytes.
  const rawFd = fs.openSync(path.join(dir, "raw.jsonl"), "a")
  await measure("floor: writeSync+fdatasync, 64 events", 64, () => {
    fs.writeSync(rawFd, bytes64)
    fs.fdatasyncSync(rawFd)
  })
  await measure("floor: writeSync+fdatasync, 1 event", 1, () => {
    fs.writeSync(rawFd, bytes1)
    fs.fdatasyncSync(rawFd)
  })
  const asyncWrite = (bytes: Buffer, sync: boolean) =>
    new Promise<void>((resolve, reject) =>
      fs.write(
        rawFd,
        bytes,
        (error) => error ? reject(error) : sync ? fs.fdatasync(rawFd, (e) => e ? reject(e) : resolve()) : resolve()
      )
    )
  // Our writer never blocks the event loop: its floor is the same I/O through libuv's thread pool.
  await measure("floor: async fs.write+fs.fdatasync, 64 events", 64, () => asyncWrite(bytes64, true))
  await measure("floor: async fs.write, no fsync, 64 events", 64, () => asyncWrite(bytes64, false))
  await measure("floor: writeSync, no fsync, 64 events", 64, () => fs.writeSync(rawFd, bytes64))
  // The same, paying for the JSON encoding of the events too (what any JSONL writer must do).
  await measure("floor: JSON.stringify+writeSync, no fsync, 64 events", 64, () => {
    let text = ""
    for (const e of batch64) text += JSON.stringify(e) + "\n"
    fs.writeSync(rawFd, text)
  })
  fs.closeSync(rawFd)

  const durable = await open("durable.jsonl", true)
  await measureEffect("Jsonl durable append, batch 64", 64, durable.append(batch64))
  await measureEffect("Jsonl durable append, batch 1", 1, durable.append(batch1))
  await measureEffect(
    "Jsonl durable, 64 concurrent appends of 1 (group commit)",
    64,
    Effect.forEach(batch64, (e) => durable.append([e]), { concurrency: "unbounded", discard: true })
  )
  const fast = await open("fast.jsonl", false)
  await measureEffect("Jsonl non-durable append, batch 64", 64, fast.append(batch64))

  const store = await run(
    MessageStore.make({ root: dir }).pipe(Scope.extend(scope), Effect.provide(NodeFileSystem.layer))
  )
  const storeRef = { ...ref, instanceKey: "append" }
  const drafts64 = batch64.map((e) =>
    MessageEvent.append((e as MessageEvent.MessageEvent & { message: Message }).message)
  )
  await measureEffect("MessageStore.append durable, batch 64", 64, store.append(storeRef, drafts64))

  // 100k-event conversation (written without fsync, then loaded).
  const total = 100_000
  const loadStore = await run(
    MessageStore.make({ root: dir, durable: false }).pipe(Scope.extend(scope), Effect.provide(NodeFileSystem.layer))
  )
  for (let i = 0; i < total; i += 1000) {
    await run(loadStore.append(ref, Array.from({ length: 1000 }, (_, j) => MessageEvent.append(message(i + j)))))
  }
  const eventsFile = loadStore.paths(ref).events
  await measure("MessageStore.load, 100k events", total, async () => {
    const c = await run(loadStore.load(ref))
    if (c.messages.length !== total) throw new Error("bad load")
  }, { time: 2000, iterations: 5 })
  await measure("floor: readFileSync+split+JSON.parse, 100k events", total, () => {
    const lines = fs.readFileSync(eventsFile, "utf8").split("\n")
    let n = 0
    for (const line of lines) if (line.length > 0) n += JSON.parse(line).seq > 0 ? 1 : 0
    if (n !== total) throw new Error("bad floor")
  }, { time: 2000, iterations: 5 })

  await run(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })

  console.log("| task | events/call | calls/s | events/s | p50 ms/call |")
  console.log("|---|---:|---:|---:|---:|")
  for (const r of results) {
    console.log(
      `| ${r.task} | ${r.eventsPerCall} | ${Math.round(r.hz).toLocaleString("en")} | ${
        Math.round(r.hz * r.eventsPerCall).toLocaleString("en")
      } | ${r.p50.toFixed(3)} |`
    )
  }
}

export { run_ as run }
