/**
 * Jsonl / MessageStore throughput, next to the raw floor measured in the same run:
 * - durable appends: events/s appending batches of 64 and of 1 through the writer (one write on an
 *   O_DSYNC descriptor per batch, the default `Jsonl.DurableFile`), one appender at a time, and with concurrent appenders (64 fibers appending 1 event, 16
 *   fibers appending 64, ten times each), whose appends group commit merges into shared writes and fsyncs;
 * - non-durable append (no fsync) through the same writer;
 * - loading a 100k-event conversation with MessageStore.load;
 * - the floor: `fs.writeSync` + `fs.fdatasyncSync` on a raw fd with the same bytes (beside it, the same
 *   through the thread pool: async `fs.write` + `fs.fdatasync`, and one async `fs.write` on an O_DSYNC fd,
 *   the writer's own I/O without its encoding and queue), and a raw
 *   `readFileSync` + `split` + `JSON.parse` of the same 100k-event file.
 * Timing: the disk's fsync latency on this shared machine drifts by 3-5x within a minute, so tasks are
 * interleaved: every round runs each task for ~250 ms (after one warm-up round), and a task's figure is
 * its median over 7 rounds. A row and its floor are thus measured seconds apart, many times, and their
 * ratio is meaningful even when the absolute figures are not. Effect tasks run their calls inside one
 * `Effect.runPromise` per slice (a program appends many times inside one runtime). events/s = events per
 * call x calls/s.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
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

interface Task {
  readonly name: string
  readonly eventsPerCall: number
  /** Runs the task `calls` times. */
  readonly run: (calls: number) => Promise<void> | void
}

const syncTask = (name: string, eventsPerCall: number, fn: () => unknown): Task => ({
  name,
  eventsPerCall,
  run: (calls) => {
    for (let i = 0; i < calls; i++) fn()
  }
})
const promiseTask = (name: string, eventsPerCall: number, fn: () => Promise<unknown>): Task => ({
  name,
  eventsPerCall,
  run: async (calls) => {
    for (let i = 0; i < calls; i++) await fn()
  }
})
const effectTask = (name: string, eventsPerCall: number, effect: Effect.Effect<unknown, unknown>): Task => ({
  name,
  eventsPerCall,
  run: (calls) => run(Effect.repeatN(effect, calls - 1)).then(() => undefined)
})

/** Calls per second of one ~`sliceMs` slice: doubles the batch of calls until the slice is long enough. */
const slice = async (task: Task, sliceMs: number): Promise<number> => {
  let calls = 0
  let batch = 1
  const start = performance.now()
  let elapsed = 0
  while (elapsed < sliceMs) {
    await task.run(batch)
    calls += batch
    elapsed = performance.now() - start
    if (elapsed < sliceMs / 4) batch *= 2
  }
  return calls / (elapsed / 1000)
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const rows: Array<{ task: string; eventsPerCall: number; hz: number; min: number; max: number }> = []

const interleave = async (tasks: ReadonlyArray<Task>, options?: { rounds?: number; sliceMs?: number }) => {
  const rounds = options?.rounds ?? 7
  const sliceMs = options?.sliceMs ?? 250
  const samples = tasks.map(() => [] as Array<number>)
  for (const task of tasks) await slice(task, sliceMs / 2) // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < tasks.length; i++) samples[i]!.push(await slice(tasks[i]!, sliceMs))
  }
  tasks.forEach((task, i) =>
    rows.push({
      task: task.name,
      eventsPerCall: task.eventsPerCall,
      hz: median(samples[i]!),
      min: Math.min(...samples[i]!),
      max: Math.max(...samples[i]!)
    })
  )
}

export const run_ = async (): Promise<void> => {
  const loadBefore = os.loadavg()
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
  const rawFd = fs.openSync(path.join(dir, "raw.jsonl"), "a")
  // What the writer does by default (Jsonl.DurableFile.node): one thread-pool write on an O_DSYNC descriptor.
  const dsyncFd = fs.openSync(
    path.join(dir, "raw-dsync.jsonl"),
    fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_DSYNC
  )
  const asyncWrite = (bytes: Buffer, sync: boolean) =>
    new Promise<void>((resolve, reject) =>
      fs.write(
        rawFd,
        bytes,
        (error) => error ? reject(error) : sync ? fs.fdatasync(rawFd, (e) => e ? reject(e) : resolve()) : resolve()
      )
    )
  const durable = await open("durable.jsonl", true)
  const fast = await open("fast.jsonl", false)
  const store = await run(
    MessageStore.make({ root: dir }).pipe(Scope.extend(scope), Effect.provide(NodeFileSystem.layer))
  )
  const plainStore = await run(
    MessageStore.make({ root: dir, compaction: false }).pipe(Scope.extend(scope), Effect.provide(NodeFileSystem.layer))
  )
  const storeRef = { ...ref, instanceKey: "append" }
  const plainRef = { ...ref, instanceKey: "append-no-compaction" }
  // Message ids are unique in a conversation (append refuses one it holds): each call appends the same 64
  // messages under fresh ids (a spread each, ~0.01 ms per call, as a caller makes new messages anyway).
  const messages64 = batch64.map((e) => (e as MessageEvent.MessageEvent & { message: Message }).message)
  let round = 0
  const drafts64 = Effect.sync(() => {
    const r = ++round
    return messages64.map((m) => MessageEvent.append({ ...m, id: `${m.id}-${r}` }))
  })
  // Concurrent appenders are long-lived fibers (as the instances of a runtime are), each appending in a
  // loop: forking a fiber per append would measure Effect's fork cost (30-60 us here), not the writer.
  const appenders = (
    fibers: number,
    appends: number,
    batch: ReadonlyArray<MessageEvent.MessageEvent>,
    writer = durable
  ) =>
    Effect.forEach(
      Array.from({ length: fibers }, () => batch),
      (b) => Effect.repeatN(writer.append(b), appends - 1),
      { concurrency: "unbounded", discard: true }
    )

  // Durable: each row next to the sync and async write + fdatasync floors of the same bytes.
  await interleave([
    syncTask("floor: writeSync+fdatasync, 64 events", 64, () => {
      fs.writeSync(rawFd, bytes64)
      fs.fdatasyncSync(rawFd)
    }),
    // Our writer never blocks the event loop: its floor is the same I/O through libuv's thread pool.
    promiseTask("floor: async fs.write+fs.fdatasync, 64 events", 64, () => asyncWrite(bytes64, true)),
    promiseTask(
      "floor: async fs.write on an O_DSYNC fd, 64 events",
      64,
      () =>
        new Promise<void>((resolve, reject) => fs.write(dsyncFd, bytes64, (error) => error ? reject(error) : resolve()))
    ),
    effectTask("Jsonl durable append, batch 64", 64, durable.append(batch64)),
    effectTask(
      "MessageStore.append durable, batch 64, compaction off",
      64,
      Effect.flatMap(drafts64, (d) => plainStore.append(plainRef, d))
    ),
    // Default policy: appends only, so nothing is dead and no compaction runs; it should match the row above.
    effectTask(
      "MessageStore.append durable, batch 64, automatic compaction",
      64,
      Effect.flatMap(drafts64, (d) => store.append(storeRef, d))
    ),
    effectTask("Jsonl durable, 16 appenders x 10 appends of 64 (group commit)", 10240, appenders(16, 10, batch64)),
    syncTask("floor: writeSync+fdatasync, 1 event", 1, () => {
      fs.writeSync(rawFd, bytes1)
      fs.fdatasyncSync(rawFd)
    }),
    effectTask("Jsonl durable append, batch 1", 1, durable.append(batch1)),
    effectTask("Jsonl durable, 64 appenders x 10 appends of 1 (group commit)", 640, appenders(64, 10, batch1))
  ])

  // Without fsync: the encoding is most of the cost, so the floor pays for JSON.stringify too.
  await interleave([
    syncTask("floor: writeSync, no fsync, 64 pre-encoded events", 64, () => fs.writeSync(rawFd, bytes64)),
    promiseTask("floor: async fs.write, no fsync, 64 pre-encoded events", 64, () => asyncWrite(bytes64, false)),
    syncTask("floor: JSON.stringify+writeSync, no fsync, 64 events", 64, () => {
      let text = ""
      for (const e of batch64) text += JSON.stringify(e) + "\n"
      fs.writeSync(rawFd, text)
    }),
    effectTask("Jsonl non-durable append, batch 64", 64, fast.append(batch64)),
    effectTask(
      "Jsonl non-durable, 16 appenders x 10 appends of 64 (group commit)",
      10240,
      appenders(16, 10, batch64, fast)
    )
  ])
  fs.closeSync(rawFd)
  fs.closeSync(dsyncFd)

  // 100k-event conversation (written without fsync and without automatic compaction, then loaded: every
  // event is replayed from events.jsonl), and the same conversation after compaction (from base.jsonl).
  const total = 100_000
  const loadStore = await run(
    MessageStore.make({ root: dir, durable: false, compaction: false }).pipe(
      Scope.extend(scope),
      Effect.provide(NodeFileSystem.layer)
    )
  )
  const loadRef = { ...ref, instanceKey: "replay" }
  const snapshotRef = { ...ref, instanceKey: "snapshot" }
  for (const r of [loadRef, snapshotRef]) {
    for (let i = 0; i < total; i += 1000) {
      await run(loadStore.append(r, Array.from({ length: 1000 }, (_, j) => MessageEvent.append(message(i + j)))))
    }
  }
  await run(loadStore.compact(snapshotRef))
  const eventsFile = loadStore.paths(loadRef).events
  await interleave([
    promiseTask("MessageStore.load, 100k events", total, async () => {
      const c = await run(loadStore.load(loadRef))
      if (c.messages.length !== total) throw new Error("bad load")
    }),
    // The floor of a load: read, split, parse, and keep what was parsed (a load keeps every record; a
    // floor that drops them pays no garbage-collector cost for surviving objects: the row below).
    syncTask("floor: readFileSync+split+JSON.parse, records kept, 100k events", total, () => {
      const lines = fs.readFileSync(eventsFile, "utf8").split("\n")
      const kept: Array<unknown> = []
      for (const line of lines) if (line.length > 0) kept.push(JSON.parse(line))
      if (kept.length !== total) throw new Error("bad floor")
    }),
    syncTask("floor: readFileSync+split+JSON.parse, records dropped, 100k events", total, () => {
      const lines = fs.readFileSync(eventsFile, "utf8").split("\n")
      let n = 0
      for (const line of lines) if (line.length > 0) n += JSON.parse(line).seq > 0 ? 1 : 0
      if (n !== total) throw new Error("bad floor")
    }),
    promiseTask("MessageStore.load, 100k messages from the snapshot", total, async () => {
      const c = await run(loadStore.load(snapshotRef))
      if (c.messages.length !== total || c.events.length !== 0) throw new Error("bad snapshot load")
    })
  ], { rounds: 5, sliceMs: 500 })

  const loadAfter = os.loadavg()
  await run(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })

  const fmtLoad = (l: ReadonlyArray<number>) => l.map((x) => x.toFixed(2)).join(" ")
  console.log(`load average (1/5/15 min): ${fmtLoad(loadBefore)} at the start, ${fmtLoad(loadAfter)} at the end`)
  const ratio = (task: string, floor: string) => {
    const a = rows.find((r) => r.task === task)
    const b = rows.find((r) => r.task === floor)
    return a && b ? (a.hz * a.eventsPerCall / (b.hz * b.eventsPerCall)).toFixed(2) : "?"
  }
  console.log(
    `ratios: Jsonl durable batch 64 / writeSync+fdatasync floor = ${
      ratio("Jsonl durable append, batch 64", "floor: writeSync+fdatasync, 64 events")
    }x (/ the async O_DSYNC write floor = ${
      ratio("Jsonl durable append, batch 64", "floor: async fs.write on an O_DSYNC fd, 64 events")
    }x); MessageStore.append durable batch 64 / same floor = ${
      ratio("MessageStore.append durable, batch 64, compaction off", "floor: writeSync+fdatasync, 64 events")
    }x; MessageStore.load of 100k events takes ${
      ratio("floor: readFileSync+split+JSON.parse, records kept, 100k events", "MessageStore.load, 100k events")
    }x the time of the floor that keeps the records (${
      ratio("floor: readFileSync+split+JSON.parse, records dropped, 100k events", "MessageStore.load, 100k events")
    }x of the one that drops them)`
  )
  console.log("| task | events/call | events/s (median) | min - max | ms/call (median) |")
  console.log("|---|---:|---:|---:|---:|")
  const fmt = (n: number) => Math.round(n).toLocaleString("en")
  for (const r of rows) {
    console.log(
      `| ${r.task} | ${r.eventsPerCall} | ${fmt(r.hz * r.eventsPerCall)} | ${fmt(r.min * r.eventsPerCall)} - ${
        fmt(r.max * r.eventsPerCall)
      } | ${(1000 / r.hz).toFixed(3)} |`
    )
  }
}

export { run_ as run }
