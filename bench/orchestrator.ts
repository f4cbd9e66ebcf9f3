/**
 * The orchestrator (issue 16), with scripted models (no I/O at the LLM boundary):
 *
 * - agent-to-agent request round trip in process: `lead@b` asks `worker@b` through the agents API
 *   (`forInstance(lead).request`: checks, correlation id, the callee's mailbox, its turn, the reply) and,
 *   in the same run, a bare `Turn.run` of the same callee shape (one step, echo model) on an in-memory
 *   instance. Framework time = round trip - bare turn (target < 100 µs). Both truncate their
 *   conversation after each turn so neither grows. Also counted (deterministic, see `orchestratorOps.ts`):
 *   the Effect operations of the round trip over the bare turn.
 * - child-process round trip: the same agents API request with the callee in a child process
 *   (`AgentHost.childProcess`; its log durable on disk), 300 sequential requests after 30 of warm-up.
 * - messages/s through one mailbox: 2,000 `submit`s to one instance, waited for to the last.
 * - memory per idle in-process instance: 1,000 instances (one turn each, then idle), heap delta after
 *   `gc()` / 1,000 (target < 50 KB), in memory and on disk (durable stores, fsync; measured 2.5 s after the
 *   last turn, past the stores' 1 s fileIdleTimeout, with the process's open descriptors).
 * - time to start a swarm of 100 instances: `make` plus a first turn on 100 new instances at once.
 * - heap retained per turn by an in-memory instance that truncates after each turn (bare and round trip):
 *   heap delta after `gc()` over 2,000 turns / 2,000 (bounded: about 0 B).
 *
 * Runs bundled by plain node with `--expose-gc` (see bench/bundled.ts).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import { Bench } from "tinybench"
import * as AgentInstance from "../src/agent/AgentInstance.js"
import * as Loop from "../src/agent/internal/loop.js"
import * as Turn from "../src/agent/Turn.js"
import * as MessageEvent from "../src/conversation/MessageEvent.js"
import * as EventBus from "../src/event/EventBus.js"
import type * as Model from "../src/model/Model.js"
import * as AgentHost from "../src/orchestrator/AgentHost.js"
import * as AgentsTool from "../src/orchestrator/AgentsTool.js"
import * as Orchestrator from "../src/orchestrator/Orchestrator.js"
import * as Bundle from "../src/resource/Bundle.js"
import * as ExtensionState from "../src/workspace/ExtensionState.js"
import * as Instances from "../src/workspace/Instances.js"
import * as MessageStore from "../src/workspace/MessageStore.js"
import * as RuntimeEventLog from "../src/workspace/RuntimeEventLog.js"
import { runBundled } from "./bundled.js"
import { roundTripOps } from "./orchestratorOps.js"

const swarmYaml = `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: scripted }
spec: { provider: scripted, model: bench, script: [{ text: unused }] }
---
apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: lead }
spec: { modelConfig: { modelRef: Model/scripted }, callableAgents: [worker] }
---
apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: worker }
spec: { modelConfig: { modelRef: Model/scripted } }
---
apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: bench }
spec: { entryAgent: Agent/lead, agents: [Agent/lead, Agent/worker] }
`

/** The callee's model: one step, `ok` (stateless, no I/O). */
const echo: Model.Service = (() => {
  const response: Model.Response = {
    message: { role: "assistant", content: "ok" },
    text: "ok",
    toolCalls: [],
    finishReason: "stop",
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    metadata: { provider: "scripted" }
  }
  const generate = () => Effect.succeed(response)
  return {
    provider: "scripted",
    model: "echo",
    generate,
    stream: () => Stream.fromEffect(Effect.map(generate(), (r) => ({ _tag: "Finish" as const, response: r })))
  }
})()

const measure = async (name: string, time: number, fn: () => Promise<unknown>) => {
  const bench = new Bench({ time, warmupTime: 300 })
  bench.add(name, fn)
  await bench.run()
  const r = bench.tasks[0]!.result as { latency: { p50?: number; mean: number } } | undefined
  if (r === undefined) throw new Error(`no result for ${name}`)
  return { p50: (r.latency.p50 ?? r.latency.mean) * 1000, mean: r.latency.mean * 1000 }
}

const round = (x: number) => Math.round(x * 10) / 10

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g === undefined) throw new Error("run with --expose-gc (npm run bench does)")
  for (let i = 0; i < 3; i++) g()
}

const heapUsed = () => {
  gc()
  return process.memoryUsage().heapUsed
}

const truncate = (instance: AgentInstance.AgentInstance) => Loop.appendAll(instance, [MessageEvent.truncate])

const durableStores = (root: string) =>
  Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root })
  ).pipe(Layer.provide(NodeContext.layer))

/** `worker` with a script long enough for every measured turn (a child opens the bundle's model). */
const childSwarmYaml = (steps: number) =>
  swarmYaml.replace(
    "script: [{ text: unused }]",
    `script: [${Array.from({ length: steps }, () => "{ text: ok }").join(", ")}]`
  )

/**
 * Under the bundle, the child host looks for `childEntry.mjs` beside the bundled file: build it there
 * (from the sources this bundle was built from) the same way.
 */
const bundleChildEntry = async () => {
  const here = fileURLToPath(import.meta.url)
  if (path.extname(here) === ".ts") return // under tsx the child runs the sources
  const esbuild = await import("esbuild")
  const repo = path.dirname(fs.realpathSync(path.join(path.dirname(here), "node_modules")))
  await esbuild.build({
    entryPoints: [path.join(repo, "src/orchestrator/internal/childEntry.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: path.join(path.dirname(here), "childEntry.mjs"),
    logLevel: "warning",
    packages: "external"
  })
}

/** p50 / mean of the agents API round trip to a worker in a child process. */
const childRoundTrip = async (dir: string) => {
  const warmup = 30
  const measured = 300
  await bundleChildEntry()
  const bundleDir = path.join(dir, "child-bundle")
  fs.mkdirSync(bundleDir)
  fs.writeFileSync(path.join(bundleDir, "swarm.yaml"), childSwarmYaml(warmup + measured + 10))
  const home = path.join(dir, "child-home")
  const runtime = ManagedRuntime.make(
    AgentHost.childProcess({ stateRoot: home, gracePeriod: "5 seconds" }).pipe(Layer.provideMerge(NodeContext.layer))
  )
  const scope = await runtime.runPromise(Scope.make())
  try {
    const { lead } = await runtime.runPromise(
      Effect.gen(function*() {
        const bundle = yield* Bundle.load(bundleDir)
        const calls = yield* AgentsTool.wire()
        const orchestrator = yield* Orchestrator.makeOnHost(bundle, "bench", { calls })
        yield* orchestrator.request("worker@c", "open") // starts the child, binds the API
        const lead = calls.api.forInstance({
          workspaceId: orchestrator.workspaceId,
          agentName: "lead",
          instanceKey: "c"
        })
        return { lead }
      }).pipe(Scope.extend(scope))
    )
    const request = lead.request({ target: "worker", input: "ping" })
    const times: Array<number> = []
    for (let i = 0; i < warmup + measured; i++) {
      const t0 = performance.now()
      const r = await runtime.runPromise(request)
      if (i >= warmup) times.push(performance.now() - t0)
      if (r.response !== "ok") throw new Error(`child round trip: ${JSON.stringify(r)}`)
    }
    times.sort((a, b) => a - b)
    return {
      p50: times[Math.floor(times.length / 2)]! * 1000,
      mean: times.reduce((a, b) => a + b, 0) / times.length * 1000
    }
  } finally {
    await runtime.runPromise(Scope.close(scope, Exit.void))
    await runtime.dispose()
  }
}

/** 1-3: the bare turn, the in-process and child round trips, the mailbox burst. */
const latencies = async (
  dir: string,
  runtime: ManagedRuntime.ManagedRuntime<EventBus.EventBus | NodeContext.NodeContext, never>,
  bundle: Bundle.Bundle,
  rows: Array<Record<string, string | number>>
) => {
  // 1. The bare callee turn: one step on an in-memory instance.
  const bareScope = await runtime.runPromise(Scope.make())
  const bare = await runtime.runPromise(
    AgentInstance.makeInMemory({
      ref: { workspaceId: "bench", agentName: "worker", instanceKey: "bare" },
      model: echo
    })
      .pipe(Scope.extend(bareScope))
  )
  const bareTurn = () => runtime.runPromise(Effect.tap(Turn.run(bare, "ping"), () => truncate(bare)))
  const bareCheck = await bareTurn()
  if (bareCheck.finishReason !== "text_response") throw new Error(`bare turn: ${bareCheck.finishReason}`)

  // 2. The round trip lead@b -> worker@b through the agents API and the orchestrator's mailbox.
  const swarmScope = await runtime.runPromise(Scope.make())
  const opened = new Map<string, AgentInstance.AgentInstance>()
  const { api, orchestrator } = await runtime.runPromise(
    Effect.gen(function*() {
      const calls = yield* AgentsTool.wire()
      const orchestrator = yield* Orchestrator.makeInMemory(bundle, "bench", {
        models: { lead: echo, worker: echo },
        mailboxCapacity: 10_000,
        agents: calls.agents,
        setup: (instance, context) =>
          Effect.zipRight(
            calls.setup(instance, context),
            Effect.sync(() => void opened.set(instance.label, instance))
          )
      })
      yield* orchestrator.request("lead@b", "open") // binds the API to the orchestrator
      return { api: calls.api, orchestrator }
    }).pipe(Scope.extend(swarmScope))
  )
  const lead = api.forInstance({ workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "b" })
  const request = lead.request({ target: "worker", input: "ping" })
  await runtime.runPromise(request)
  const worker = opened.get("worker@b")!
  const roundTrip = () => runtime.runPromise(Effect.tap(request, () => truncate(worker)))
  const check = await runtime.runPromise(request)
  if (check.response !== "ok") throw new Error(`round trip: ${JSON.stringify(check)}`)

  // Retained heap per turn, both truncating after each turn: heap after `gc()` before and after 2,000 more
  // turns (after 1,000 of warm-up), / 2,000. What a long-running in-memory instance keeps per turn.
  const retained = async (turn: () => Promise<unknown>) => {
    for (let i = 0; i < 1000; i++) await turn()
    const before = heapUsed()
    for (let i = 0; i < 2000; i++) await turn()
    return (heapUsed() - before) / 2000
  }
  rows.push({ task: "heap retained per bare turn (in memory, truncating)", "B/turn": round(await retained(bareTurn)) })
  rows.push({
    task: "heap retained per round trip (in memory, truncating)",
    "B/turn": round(await retained(roundTrip))
  })
  if (only === "retained") {
    await runtime.runPromise(Scope.close(swarmScope, Exit.void))
    return void (await runtime.runPromise(Scope.close(bareScope, Exit.void)))
  }

  // Interleaved, in the same run: bare, round trip, bare again (the load moves).
  const b1 = await measure("bare", 2000, bareTurn)
  const rt = await measure("round trip", 2000, roundTrip)
  const b2 = await measure("bare", 2000, bareTurn)
  const bareP50 = Math.min(b1.p50, b2.p50)
  const bareMean = Math.min(b1.mean, b2.mean)
  rows.push({
    task: "bare Turn.run of the callee (1 step, in memory)",
    "p50 µs": round(bareP50),
    "mean µs": round(bareMean)
  })
  const ops = await roundTripOps(runtime, bundle, echo)
  rows.push({
    task: "request lead@b -> worker@b, in process (in memory)",
    "p50 µs": round(rt.p50),
    "mean µs": round(rt.mean),
    "framework µs (p50)": round(rt.p50 - bareP50),
    target: "< 100 µs",
    "framework Effect ops": round(ops.frameworkOps)
  })

  if (only === "request") {
    await runtime.runPromise(Scope.close(swarmScope, Exit.void))
    return void (await runtime.runPromise(Scope.close(bareScope, Exit.void)))
  }
  // The same request with `worker` in a child process (`AgentHost.childProcess`): the agents API of
  // lead@c (never started) asks worker@c, whose child opens the bundle's scripted model and writes its
  // own durable log (fsync per turn); the round trip crosses IPC twice.
  const child = await childRoundTrip(dir)
  rows.push({
    task: "request lead@c -> worker@c, worker in a child process (its log on disk)",
    "p50 µs": round(child.p50),
    "mean µs": round(child.mean),
    "over in-process p50 µs": round(child.p50 - rt.p50)
  })

  // 3. Messages per second through one mailbox: submit them all, wait for the last.
  const burst = 2000
  const mailbox = () =>
    runtime.runPromise(Effect.gen(function*() {
      const waits: Array<Effect.Effect<unknown, unknown>> = []
      for (let i = 0; i < burst; i++) waits.push(yield* orchestrator.submit("worker@mailbox", `m${i}`))
      yield* Effect.all(waits, { discard: true })
      yield* truncate(opened.get("worker@mailbox")!)
    }))
  await mailbox()
  const mStart = performance.now()
  await mailbox()
  const mMs = performance.now() - mStart
  const bStart = performance.now()
  for (let i = 0; i < burst; i++) await bareTurn()
  const bMs = performance.now() - bStart
  rows.push({
    task: `${burst} messages through one mailbox (one turn each)`,
    "msgs/s": Math.round(burst / (mMs / 1000)),
    "bare Turn.run/s": Math.round(burst / (bMs / 1000)),
    "µs/msg over bare": round((mMs - bMs) * 1000 / burst)
  })
  await runtime.runPromise(Scope.close(swarmScope, Exit.void))
  await runtime.runPromise(Scope.close(bareScope, Exit.void))
}

/**
 * `BENCH_ORCHESTRATOR_ONLY=idle`: only the start and idle-memory rows (`idle-disk`: on disk only; `request`:
 * only the bare turn and the in-process round trip; `retained`: only the heap retained per truncating turn).
 * `BENCH_TMPDIR`: where the state goes (default the OS's temp directory; a tmpfs makes iterations fast).
 * `BENCH_HEAP_SNAPSHOT=<dir>`: heap snapshots before and after the 1,000 idle instances of each mode are written there (for a breakdown).
 */
const only = process.env["BENCH_ORCHESTRATOR_ONLY"]
const snapshotDir = process.env["BENCH_HEAP_SNAPSHOT"]

const snapshot = (name: string) => {
  if (snapshotDir === undefined) return
  gc()
  v8.writeHeapSnapshot(path.join(snapshotDir, `${name}.heapsnapshot`))
}

export const measureAll = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(process.env["BENCH_TMPDIR"] ?? os.tmpdir(), "bench-orchestrator-"))
  const rows: Array<Record<string, string | number>> = []
  try {
    fs.writeFileSync(path.join(dir, "swarm.yaml"), swarmYaml)
    const base = Layer.mergeAll(EventBus.layer(), NodeContext.layer)
    const runtime = ManagedRuntime.make(base)
    const bundle = await runtime.runPromise(Bundle.load(dir))

    if (only !== "idle" && only !== "idle-disk") await latencies(dir, runtime, bundle, rows)

    // 4. Memory per idle instance (1,000) and 5. starting 100 instances, in memory and on disk.
    const modes = only === "request" || only === "retained"
      ? [] as const
      : only === "idle-disk"
      ? ["on disk (fsync)"] as const
      : ["in memory", "on disk (fsync)"] as const
    for (const mode of modes) {
      const root = path.join(dir, mode === "in memory" ? "unused" : "state")
      const rt2 = ManagedRuntime.make(Layer.merge(base, durableStores(root)))
      const options = { models: { lead: echo, worker: echo } }
      const make = mode === "in memory"
        ? Orchestrator.makeInMemory(bundle, "bench", options)
        : Orchestrator.make(bundle, "bench", options)
      // Start: make + a first turn on 100 new instances at once.
      const startScope = await rt2.runPromise(Scope.make())
      const t0 = performance.now()
      await rt2.runPromise(
        Effect.gen(function*() {
          const o = yield* make
          yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => `worker@start-${i}`),
            (a) => o.request(a, "hello"),
            { concurrency: "unbounded", discard: true }
          )
        }).pipe(Scope.extend(startScope))
      )
      const startMs = performance.now() - t0
      await rt2.runPromise(Scope.close(startScope, Exit.void))
      rows.push({
        task: `start a swarm of 100 instances (${mode}; make + first turn each)`,
        "total ms": round(startMs),
        "ms/instance": round(startMs / 100)
      })

      const n = 1000
      const memScope = await rt2.runPromise(Scope.make())
      const o = await rt2.runPromise(make.pipe(Scope.extend(memScope)))
      await rt2.runPromise(o.request("worker@warm", "hello"))
      const tag = mode === "in memory" ? "mem" : "disk"
      snapshot(`${tag}-before`)
      const before = heapUsed()
      await rt2.runPromise(Effect.forEach(
        Array.from({ length: n }, (_, i) => `worker@idle-${i}`),
        (a) => o.request(a, "hello"),
        { concurrency: 50, discard: true }
      ))
      const listed = await rt2.runPromise(o.list)
      if (listed.filter((i) => i.status === "idle").length < n) throw new Error("instances not idle")
      // Idle means idle: past the stores' fileIdleTimeout (1 s), when an instance's files are closed (its
      // lock and state kept). Without the wait the row measures instances that have just finished a turn.
      if (mode !== "in memory") await new Promise((resolve) => setTimeout(resolve, 2500))
      const fdsOpen = fs.readdirSync("/proc/self/fd").length
      const after = heapUsed()
      snapshot(`${tag}-after`)
      rows.push({
        task: `memory per idle instance, ${n} instances (${mode}; one turn each)`,
        "KB/instance": round((after - before) / n / 1024),
        "open fds": fdsOpen,
        target: "< 50 KB"
      })
      await rt2.runPromise(Scope.close(memScope, Exit.void))
      await rt2.dispose()
    }
    await runtime.dispose()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(`\nOrchestrator (issue 16); load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}:`)
  console.table(rows)
}

const childFlag = "EFFECT_SWARM_BENCH_ORCHESTRATOR_CHILD"

/** Measures on the bundled code with `--expose-gc` (see bench/bundled.ts). */
export const run = (): Promise<void> =>
  runBundled({ entry: import.meta.url, name: "orchestrator", childFlag, measureAll, nodeArgs: ["--expose-gc"] })

if (process.env[childFlag] === "1") {
  await measureAll()
}
