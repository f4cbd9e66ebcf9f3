/**
 * Whole turns through `Turn.run` (issue 15): 10 steps, one no-op tool call each, 3 turn + 3 step + 3
 * toolCall middlewares on the instance's pipeline, a stateless scripted model (no I/O), once on an
 * in-memory instance and once on a durable one (MessageStore + RuntimeEventLog + Instances on a temp
 * dir, every write fsynced). Next to them, in the same run, the fdatasync floor: `fs.writeSync` +
 * `fs.fdatasyncSync` of one message-sized line on a raw fd.
 *
 * Each turn ends with a `truncate` event, so every turn starts from an empty conversation.
 * Reported per step: p50 / mean wall time and CPU time; for the durable instance also how many fdatasync
 * floors a step costs, how many durable writes it makes (fsync/fdatasync calls, and writes to `O_DSYNC`
 * descriptors), and the target's ratio (issue 15: at most 1.5): a step's p50 over its durable writes times
 * one floor (`floors/durable write`), so the fsyncs themselves are the floor and the rest is overhead; for
 * the in-memory instance also the Effect operations the fiber runtime evaluates per step (an op-counting
 * `Supervisor`) and the bytes allocated per step (V8's sampling heap profiler, collected objects included).
 * Nothing is subtracted from the in-memory figures: they are the whole turn, the scripted model's and the
 * no-op tool's own (small) cost included. The peers (bench/turn-peers.ts) run the same turn in the same
 * process. Called from
 * bench/pipeline.ts (bundled, without tsx's `__name` wrappers).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as fs from "node:fs"
import * as inspector from "node:inspector"
import * as nodeModule from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { Bench } from "tinybench"
import * as AgentInstance from "../src/agent/AgentInstance.js"
import * as Loop from "../src/agent/internal/loop.js"
import * as Policy from "../src/agent/Policy.js"
import * as Turn from "../src/agent/Turn.js"
import type * as Message from "../src/conversation/Message.js"
import * as MessageEvent from "../src/conversation/MessageEvent.js"
import * as EventBus from "../src/event/EventBus.js"
import type * as Model from "../src/model/Model.js"
import * as ExtensionState from "../src/workspace/ExtensionState.js"
import * as Instances from "../src/workspace/Instances.js"
import * as MessageStore from "../src/workspace/MessageStore.js"
import * as RuntimeEventLog from "../src/workspace/RuntimeEventLog.js"
import * as Peers from "./turn-peers.js"

const steps = 10
const toolName = "noop__run"
const item = {
  name: toolName,
  description: "does nothing",
  parameters: {
    type: "object",
    properties: { query: { type: "string", maxLength: 100 }, n: { type: "integer", minimum: 0 } },
    required: ["query"],
    additionalProperties: false
  }
} as const

/** A stateless scripted model: the n-th step of a turn calls the tool (counted back to the user message). */
const model: Model.Service = {
  provider: "scripted",
  model: "bench",
  generate: (request) =>
    Effect.sync(() => {
      let n = 0
      for (let i = request.messages.length - 1; i >= 0; i--) {
        const m = request.messages[i]!
        const data = ("createdAt" in m ? (m as Message.Message).data : m) as Message.MessageData
        if (data.role === "user") break
        if (data.role === "assistant") n++
      }
      const call = { id: `call-${n}`, name: toolName, arguments: { query: "ping", n } }
      return {
        message: { role: "assistant", content: "", toolCalls: [call] },
        text: "",
        toolCalls: [call],
        finishReason: "tool-calls",
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
        metadata: { provider: "scripted" }
      } satisfies Model.Response
    }),
  stream: () => {
    throw new Error("not used")
  }
}

const setup = (instance: AgentInstance.AgentInstance) =>
  Effect.gen(function*() {
    yield* instance.tools.register(item, () => Effect.succeed({ ok: true })).pipe(Effect.orDie)
    for (let i = 0; i < 3; i++) {
      yield* instance.pipeline.register("turn", (ctx, next) => {
        ctx.metadata[`turn-${i}`] = true
        return next
      }, { priority: i })
      yield* instance.pipeline.register("step", (_ctx, next) => Effect.map(next, (r) => r), { priority: i })
      yield* instance.pipeline.register("toolCall", (ctx, next) => {
        ctx.metadata[`tool-${i}`] = ctx.toolName
        return next
      }, { priority: i })
    }
  })

/**
 * The no-op tool is declared idempotent (it is: it does nothing), so a durable step is group-committed:
 * its assistant message is written with its result, one durable append. The second durable row declares it
 * not idempotent: the assistant message is then written before the tool runs (two appends per step).
 */
const options = (key: string, idempotent = true): AgentInstance.Options => ({
  ref: { workspaceId: "bench", agentName: "bench", instanceKey: key },
  model,
  system: "You run the tool ten times.",
  policy: Policy.resolve({ maxStepsPerTurn: steps }),
  tools: { [toolName]: { idempotent } }
})

const measure = async (name: string, time: number, fn: () => Promise<unknown>) => {
  const bench = new Bench({ time, warmupTime: 300 })
  // An async function: tinybench 6 finds out whether any other task is async by calling it once and not
  // waiting for it, so the first measured call ran beside that one. For a durable turn that meant two
  // turns at once, and the benchmark's truncate (outside the instance lock) failed with a SeqConflict.
  bench.add(name, async () => {
    await fn()
  })
  await bench.run()
  const r = bench.tasks[0]!.result as
    | { latency?: { p50?: number; mean: number }; error?: unknown }
    | undefined
  if (r?.latency === undefined) throw new Error(`no result for ${name}: ${String(r?.error)}`)
  return { p50: (r.latency.p50 ?? r.latency.mean) * 1000, mean: r.latency.mean * 1000 }
}

const cpu = async (turns: number, fn: () => Promise<unknown>) => {
  const start = process.cpuUsage()
  for (let i = 0; i < turns; i++) await fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / turns
}

/**
 * One turn, then a `truncate` event so every turn starts from an empty conversation (as a fresh thread
 * would) instead of the benchmark's growing history; the truncate is measured with the turn.
 */
const oneTurn = (instance: AgentInstance.AgentInstance) =>
  Effect.tap(Turn.run(instance, "Run the tool ten times."), () => Loop.appendAll(instance, [MessageEvent.truncate]))

/**
 * Counts every durable write the stores make: fsync/fdatasync through the FileSystem service (`File.sync`
 * of files it opens) or node:fs, and each `write` to a descriptor node:fs opened with `O_DSYNC` (the
 * workspace's default durable append: one write that returns once it is on disk).
 */
let fsyncs = 0
const countingFile = (file: FileSystem.File): FileSystem.File =>
  new Proxy(file, {
    get(target, key) {
      if (key === "sync") return Effect.zipLeft(target.sync, Effect.sync(() => fsyncs++))
      const value = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
const CountingFileSystem = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, (inner) => ({
    ...inner,
    open: (p: string, o?: FileSystem.OpenFileOptions) => Effect.map(inner.open(p, o), countingFile)
  }))
).pipe(Layer.provide(NodeFileSystem.layer))
const countNodeSyncs = () => {
  type Fn = (...args: Array<unknown>) => unknown
  const mutable = nodeModule.createRequire(import.meta.url)("node:fs") as Record<string, Fn>
  const dsync = fs.constants.O_DSYNC
  const dsyncFds = new Set<number>()
  const wrap = (name: string, before: (args: Array<unknown>) => Array<unknown>) => {
    const original = mutable[name]!
    mutable[name] = (...args: Array<unknown>) => original(...before(args))
  }
  for (const name of ["fsync", "fdatasync", "fsyncSync", "fdatasyncSync"]) {
    wrap(name, (args) => {
      fsyncs++
      return args
    })
  }
  for (const name of ["write", "writeSync", "writev", "writevSync"]) {
    wrap(name, (args) => {
      if (dsyncFds.has(args[0] as number)) fsyncs++
      return args
    })
  }
  wrap("open", (args) => {
    const flags = args[1]
    const done = args.at(-1)
    if (typeof flags !== "number" || dsync === undefined || (flags & dsync) === 0 || typeof done !== "function") {
      return args
    }
    return [...args.slice(0, -1), (error: unknown, fd: number) => {
      if (error === null) dsyncFds.add(fd)
      return (done as Fn)(error, fd)
    }]
  })
  wrap("close", (args) => {
    dsyncFds.delete(args[0] as number)
    return args
  })
  nodeModule.syncBuiltinESMExports()
}

const round = (x: number) => Math.round(x * 10) / 10

/** Counts every Effect operation the fiber runtime evaluates (with op supervision on for the counted run). */
class OpCounter extends Supervisor.AbstractSupervisor<void> {
  ops = 0
  value = Effect.void
  override onEffect(): void {
    this.ops++
  }
}

/** Effect operations per step: the turns run under an op-counting supervisor. */
const opsPerStep = async (
  turns: number,
  run: (effect: Effect.Effect<unknown, unknown>) => Promise<unknown>,
  turn: Effect.Effect<unknown, unknown>
) => {
  const counter = new OpCounter()
  const counted = Effect.supervised(turn, counter).pipe(
    Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
  )
  for (let i = 0; i < turns; i++) await run(counted)
  return counter.ops / turns / steps
}

/**
 * Bytes allocated per step, from V8's sampling heap profiler with the objects already collected by
 * either GC counted (an estimate: one sample every 256 bytes on average).
 */
const allocatedPerStep = async (turns: number, fn: () => Promise<unknown>) => {
  const session = new inspector.Session()
  session.connect()
  const post = <A>(method: string, params?: object) =>
    new Promise<A>((resolve, reject) =>
      session.post(method, params, (error, result) => error === null ? resolve(result as A) : reject(error))
    )
  type Node = { readonly selfSize: number; readonly children: ReadonlyArray<Node> }
  const total = (node: Node): number => node.children.reduce((sum, child) => sum + total(child), node.selfSize)
  try {
    await post("HeapProfiler.enable")
    await post("HeapProfiler.startSampling", {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true
    })
    for (let i = 0; i < turns; i++) await fn()
    const { profile } = await post<{ profile: { head: Node } }>("HeapProfiler.stopSampling")
    return total(profile.head) / turns / steps
  } finally {
    session.disconnect()
  }
}

export const measureTurns = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-turn-"))
  const rows: Array<Record<string, string | number>> = []
  try {
    // The floor: one message-sized line written and fdatasynced.
    const line = JSON.stringify({ v: 1, seq: 1, type: "append", message: { id: "m", data: { role: "tool" } } })
      .padEnd(400, " ") + "\n"
    const fd = fs.openSync(path.join(dir, "floor.jsonl"), "a")
    const floor = await measure("floor", 1000, async () => {
      fs.writeSync(fd, line)
      fs.fdatasyncSync(fd)
    })
    fs.closeSync(fd)
    rows.push({
      task: "floor: writeSync + fdatasyncSync (one line)",
      "p50 µs/step": round(floor.p50),
      "mean µs/step": round(floor.mean)
    })

    const memory = ManagedRuntime.make(EventBus.layer())
    const memoryScope = await memory.runPromise(Scope.make())
    const inMemory = await memory.runPromise(
      Effect.tap(AgentInstance.makeInMemory(options("memory")), setup).pipe(Scope.extend(memoryScope))
    )
    const turnMemory = () => memory.runPromise(oneTurn(inMemory))
    const check = await turnMemory()
    if (check.finishReason !== "max_steps") throw new Error(`unexpected finish ${check.finishReason}`)
    const m = await measure("memory", 2000, turnMemory)
    const mCpu = await cpu(300, turnMemory)
    const mOps = await opsPerStep(100, (e) => memory.runPromise(e), oneTurn(inMemory))
    const mBytes = await allocatedPerStep(500, turnMemory)
    rows.push({
      task: "Turn.run in memory, 10 steps, 3+3+3 middlewares",
      "p50 µs/step": round(m.p50 / steps),
      "mean µs/step": round(m.mean / steps),
      "CPU µs/step": round(mCpu / steps),
      "Effect ops/step": round(mOps),
      "KB allocated/step": round(mBytes / 1024)
    })
    // The ceiling a durable store could reach on this machine: the same in-memory turn, plus one raw
    // `O_DSYNC` write of a step-sized line (875 bytes, what a group-committed step writes) at the end of
    // each step, before the next model call, and one more at the end of the turn (1.1 writes per step).
    // A store that cost nothing (no encoding, no queue, no Effect) would take this long.
    const ceilingFd = fs.openSync(
      path.join(dir, "ceiling.jsonl"),
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_DSYNC ?? 0)
    )
    const stepLine = Buffer.from("x".repeat(874) + "\n")
    const ceilingInstance = await memory.runPromise(
      Effect.tap(AgentInstance.makeInMemory(options("ceiling")), (instance) =>
        Effect.zipRight(
          setup(instance),
          instance.pipeline.register("step", (_ctx, next) =>
            Effect.tap(next, () => {
              fs.writeSync(ceilingFd, stepLine)
            }), { priority: 100 })
        )).pipe(Scope.extend(memoryScope))
    )
    const ceilingTurn = () =>
      memory.runPromise(Effect.tap(oneTurn(ceilingInstance), () => {
        fs.writeSync(ceilingFd, stepLine)
      }))
    await ceilingTurn()
    const c = await measure("ceiling", 2000, ceilingTurn)
    fs.closeSync(ceilingFd)
    const ceilingWrites = (steps + 1) / steps
    rows.push({
      task: "ceiling: Turn.run in memory + a raw O_DSYNC write per step and per turn (a store costing nothing)",
      "p50 µs/step": round(c.p50 / steps),
      "mean µs/step": round(c.mean / steps),
      "floors/step": round(c.p50 / steps / floor.p50),
      "floors/durable write": round(c.p50 / steps / ceilingWrites / floor.p50),
      "durable writes/step": round(ceilingWrites)
    })
    await memory.runPromise(Scope.close(memoryScope, Exit.void))
    await memory.dispose()

    // The peers, same turn shape, same process, right after our in-memory row.
    for (
      const [task, make] of [
        ["Vercel AI SDK 6 generateText (MockLanguageModelV3), 10 steps", Peers.vercel],
        ["OpenAI Agents SDK run (fake Model), 10 model turns", Peers.openaiAgents]
      ] as const
    ) {
      const peer = make(steps)
      const ran = await peer()
      if (ran !== steps) throw new Error(`${task}: ran ${ran} steps, expected ${steps}`)
      const p = await measure(task, 2000, peer)
      const pCpu = await cpu(300, peer)
      rows.push({
        task,
        "p50 µs/step": round(p.p50 / steps),
        "mean µs/step": round(p.mean / steps),
        "CPU µs/step": round(pCpu / steps),
        "ours / peer (CPU)": round(mCpu / pCpu)
      })
    }

    const root = path.join(dir, "root")
    const Stores = Layer.mergeAll(
      MessageStore.layer({ root }),
      RuntimeEventLog.layer({ root }),
      Instances.layer({ root }),
      ExtensionState.layer({ root }),
      EventBus.layer()
    ).pipe(Layer.provide(CountingFileSystem))
    countNodeSyncs()
    const durable = ManagedRuntime.make(Stores)
    for (
      const [key, idempotent, task] of [
        ["durable", true, "Turn.run durable (fsync), 10 steps, 3+3+3 middlewares (idempotent tool: group commit)"],
        ["durable-wal", false, "Turn.run durable (fsync), 10 steps, 3+3+3 middlewares (tool not idempotent)"]
      ] as const
    ) {
      const onDisk = await durable.runPromise(
        Effect.tap(AgentInstance.make(options(key, idempotent)).pipe(Effect.scoped), setup)
      )
      const turnDurable = () => durable.runPromise(oneTurn(onDisk))
      await turnDurable()
      fsyncs = 0
      for (let i = 0; i < 10; i++) await turnDurable()
      const fsyncsPerStep = fsyncs / 10 / steps
      const d = await measure(key, 3000, turnDurable)
      const dCpu = await cpu(30, turnDurable)
      rows.push({
        task,
        "p50 µs/step": round(d.p50 / steps),
        "mean µs/step": round(d.mean / steps),
        "CPU µs/step": round(dCpu / steps),
        "floors/step": round(d.p50 / steps / floor.p50),
        // The target's reading (issue 15): a step's time over (its durable writes x one floor); 1.5 at most.
        "floors/durable write": round(d.p50 / steps / fsyncsPerStep / floor.p50),
        "durable writes/step": round(fsyncsPerStep)
      })
    }
    await durable.dispose()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log("\nWhole turns through Turn.run (issue 15):")
  console.table(rows)
}
