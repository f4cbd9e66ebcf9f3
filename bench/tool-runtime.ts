/**
 * ToolRuntime: one no-op tool call per runtime, cold (a fresh process per call) and warm (pooled
 * worker), next to the bare spawn floor of the same runtime binary measured in the same run.
 *
 * - floor: spawn `<runtime> floor.mjs` (a script that writes one byte with the runtime's own stdout:
 *   `Deno.stdout`, `Bun.stdout`, `process.stdout` on Node) and wait for its exit;
 * - floor + heap cap (node, deno): the same with the `--max-old-space-size` flag the runtime always
 *   passes; on Node 20 it costs on its own (V8 rejects Node's built-in code cache when memory flags
 *   change, fixed upstream in V8 87356585659b), so it is part of any heap-capped start;
 * - cold: `ToolRuntime.execute` of a tool returning 42 (spawn, handshake, import, call, reap), back to
 *   back: each call runs beside the background teardown of the previous call's worker (SIGKILL, exit,
 *   scratch removal), which a floor sample (waited for until exit) never does;
 * - cold, paced: the same call after a 100 ms pause (the previous worker reaped), alternating with a
 *   floor sample after the same pause: a truly cold call, as a tool call seconds after the last one;
 * - warm: the same call on a pool of one pre-started worker;
 * - pre-started: the same call on a single-use worker started ahead (`prespawn: 1`, the default; the
 *   cold rows use `prespawn: 0`). Measured call by call, each after the next worker has had time to
 *   start (1 s: a tool call follows a model response, seconds apart), so the row is what a call
 *   costs when its worker is waiting (its tree is stopped with SIGSTOP before the call returns;
 *   killing and reaping it and starting the next one happen afterwards, in the background);
 * - warm, one call a second: calls on a pool of one, alternating with the pre-started ones, each after
 *   the same one-second pause: the like-for-like warm figure for the pre-started row (the back-to-back
 *   warm row keeps caches hot and the worker awake, which no tool call seconds apart gets);
 * - raw round trip: one NDJSON line to a bare child of the same runtime that echoes it back over stdio
 *   (no protocol, no Effect): the floor a warm call can approach;
 * - under bubblewrap (when `bwrap` works here): the floor started inside the same namespaces and
 *   mounts a worker gets (`bwrap ... <runtime> floor.mjs`), and cold and warm calls with
 *   `isolation: "os"`; the rows without "(bubblewrap)" use `isolation: "runtime"`.
 *
 * Wall-clock figures on a shared machine swing with its load; the slow tasks also report CPU time, which
 * does not: the children's (user + system, from this process's `cutime + cstime` in /proc, i.e. of the
 * children it reaped, 10 ms ticks averaged over all calls) and this process's own per call.
 *
 * Run: `npx tsx bench/index.ts tool-runtime` (or `npm run bench -- tool-runtime`). For faster loops:
 * `BENCH_RUNTIMES=bun,deno` runs those runtimes only, `BENCH_TOOL_ROWS=cold` only the floors and the
 * cold rows (no pre-started, warm or raw rows).
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bench } from "tinybench"
import * as RuntimeConfig from "../src/config/RuntimeConfig.js"
import * as Sandbox from "../src/sandbox/Sandbox.js"
import * as ToolRuntime from "../src/sandbox/ToolRuntime.js"

const allRuntimes = ["bun", "node", "deno"] as const
const chosen = (process.env.BENCH_RUNTIMES ?? "").split(",").filter((r) => r.length > 0)
const runtimes = allRuntimes.filter((r) => chosen.length === 0 || chosen.includes(r))
/** `BENCH_TOOL_ROWS=cold`: the floors and cold rows only. */
const coldOnly = process.env.BENCH_TOOL_ROWS === "cold"

const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

const stats = (task: { readonly result?: unknown }) => {
  const latency = (task.result as { latency?: { samples?: ReadonlyArray<number> } } | undefined)?.latency
  const samples = [...(latency?.samples ?? [])].sort((a, b) => a - b)
  return { n: samples.length, p50: percentile(samples, 50), p90: percentile(samples, 90) }
}

const ticksPerSecond = 100

/** CPU time in ms of the children this process has reaped (Linux /proc; NaN elsewhere). */
const childrenCpuMs = (): number => {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // Fields 16 and 17 (cutime, cstime), counted from 1 with the pid; here from 3 (state) at index 0.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond
  } catch {
    return NaN
  }
}

/** Runs a slow task alone, with the CPU time it made children and this process spend, per call. */
const slowTask = async (name: string, fn: () => Promise<unknown>) => {
  let calls = 0
  const counted = () => {
    calls++
    return fn()
  }
  const bench = new Bench({ time: 0, iterations: 30, warmup: true, warmupIterations: 3, retainSamples: true })
  bench.add(name, counted)
  const children = childrenCpuMs()
  const own = process.cpuUsage()
  await bench.run()
  const ownUsed = process.cpuUsage(own)
  return {
    task: bench.tasks[0]!,
    childCpu: (childrenCpuMs() - children) / calls,
    hostCpu: (ownUsed.user + ownUsed.system) / 1000 / calls
  }
}

/**
 * Calls on pre-started workers, one at a time, each after a pause that lets the next worker start
 * (outside the measurement), alternating with calls on a warm pool of one worker in the same layer
 * after the same pause: the like-for-like warm figure (a worker idle for a second, as between two tool
 * calls of an agent, answers more slowly than one called back to back: caches, scheduler wake-up).
 */
const pacedTasks = async (
  runtimeType: string,
  bubblewrap: boolean,
  layer: Layer.Layer<ToolRuntime.ToolRuntime, unknown>
) => {
  const runtime = ManagedRuntime.make(layer)
  const service = await runtime.runPromise(ToolRuntime.ToolRuntime)
  const prestarted = () => runtime.runPromise(service.execute({ toolId: "noop", input: null }))
  const warm = () => runtime.runPromise(service.execute({ toolId: "noop", input: null, pool: { size: 1 } }))
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1000))
  const samples = { prestarted: [] as Array<number>, warm: [] as Array<number> }
  const timed = async (call: () => Promise<unknown>, into: Array<number>, keep: boolean) => {
    await pause()
    const started = performance.now()
    await call()
    if (keep) into.push(performance.now() - started)
  }
  try {
    await prestarted() // cold: starts the first pre-started worker
    await warm() // starts the pool's worker
    for (let i = 0; i < 23; i++) {
      await timed(prestarted, samples.prestarted, i >= 3)
      await timed(warm, samples.warm, i >= 3)
    }
  } finally {
    await runtime.dispose()
  }
  const row = (task: string, list: Array<number>) => {
    list.sort((a, b) => a - b)
    return { name: task, n: list.length, p50: percentile(list, 50), p90: percentile(list, 90) }
  }
  return [
    row(`${runtimeType} pre-started${bubblewrap ? " (bubblewrap)" : ""}`, samples.prestarted),
    row(`${runtimeType} warm (pool of 1${bubblewrap ? ", bubblewrap" : ""}), one call a second`, samples.warm)
  ]
}

/**
 * Cold calls and floor samples alternating, each after a 100 ms pause (by then the previous call's
 * worker has been killed, reaped and its scratch directory removed in the background): p50s of both and
 * the ratio, from the same pairs.
 */
const pacedCold = async (name: string, cold: () => Promise<unknown>, floor: () => Promise<unknown>) => {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 100))
  const samples = { cold: [] as Array<number>, floor: [] as Array<number> }
  for (let i = 0; i < 28; i++) {
    for (const [run, into] of [[floor, samples.floor], [cold, samples.cold]] as const) {
      await pause()
      const started = performance.now()
      await run()
      if (i >= 3) into.push(performance.now() - started)
    }
  }
  const p50 = (list: Array<number>) => percentile([...list].sort((a, b) => a - b), 50)
  const p90 = (list: Array<number>) => percentile([...list].sort((a, b) => a - b), 90)
  return [
    { name: `${name} floor, paced`, n: samples.floor.length, p50: p50(samples.floor), p90: p90(samples.floor) },
    {
      name: `${name} cold, paced (${(p50(samples.cold) / p50(samples.floor)).toFixed(2)}x the paced floor)`,
      n: samples.cold.length,
      p50: p50(samples.cold),
      p90: p90(samples.cold)
    }
  ]
}

const spawnFloor = (command: string, args: ReadonlyArray<string>, env: Record<string, string>) => () =>
  new Promise<void>((resolve, reject) => {
    const child = ChildProcess.spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], env })
    child.stdout.resume()
    child.once("error", reject)
    child.once("exit", () => resolve())
  })

const echoScript = "process.stdin.setEncoding('utf8');let b='';process.stdin.on('data',(d)=>{b+=d;let i;" +
  "while((i=b.indexOf('\\n'))!==-1){const l=b.slice(0,i);b=b.slice(i+1);process.stdout.write(l+'\\n')}})"

/** A bare echo child and a function doing one line round trip with it. */
const rawRoundTrip = (command: string, args: ReadonlyArray<string>) => {
  const child = ChildProcess.spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] })
  let waiting: (() => void) | undefined
  let buffer = ""
  child.stdout.setEncoding("utf8")
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk
    let nl = buffer.indexOf("\n")
    while (nl !== -1) {
      buffer = buffer.slice(nl + 1)
      const resolve = waiting
      waiting = undefined
      resolve?.()
      nl = buffer.indexOf("\n")
    }
  })
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      waiting = resolve
      child.stdin.write("{\"t\":\"call\",\"id\":1,\"tool\":\"noop\",\"input\":null}\n")
    })
  return { roundTrip, close: () => child.kill("SIGKILL") }
}

export const run = async (): Promise<void> => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "es-bench-tools-")))
  const entry = path.join(dir, "tools.mjs")
  const floor = path.join(dir, "floor.mjs")
  fs.writeFileSync(entry, "export default { noop: () => 42 }\n")
  // The cheapest way each runtime has to write one byte: Node-compatible `process.stdout` costs Bun
  // about 25 ms and Deno about 50 ms of extra start-up, which no tool call pays.
  fs.writeFileSync(
    floor,
    "if (globalThis.Deno) Deno.stdout.writeSync(new Uint8Array([120]))\n" +
      "else if (globalThis.Bun) { const w = Bun.stdout.writer(); w.write(\"x\"); w.flush() }\n" +
      "else process.stdout.write(\"x\")\n"
  )
  const rows: Array<Record<string, string | number>> = []
  try {
    const bubblewrap = Sandbox.bubblewrap()
    const osAvailable = bubblewrap.probe()._tag === "Available"
    for (const runtimeType of runtimes) {
      const layerFor = (isolation: RuntimeConfig.Isolation, prespawn = 0) =>
        ToolRuntime.layer.pipe(
          Layer.provide(
            RuntimeConfig.layer(
              runtimeType,
              RuntimeConfig.withEntrypointPath(entry),
              RuntimeConfig.withMaxMemoryMB(512),
              RuntimeConfig.withIsolation(isolation),
              RuntimeConfig.withPrespawn(prespawn)
            )
          )
        )
      const runtime = ManagedRuntime.make(layerFor("runtime"))
      const osRuntime = osAvailable ? ManagedRuntime.make(layerFor("os")) : undefined
      const service = await runtime.runPromise(ToolRuntime.ToolRuntime)
      const binary = ToolRuntime.resolveBinary(runtimeType)
      const floorArgs = runtimeType === "deno" ? ["run", "-q", "--no-prompt", floor] : [floor]
      const heapFlag = runtimeType === "deno" ? "--v8-flags=--max-old-space-size=512" : "--max-old-space-size=512"
      const cappedArgs = runtimeType === "deno" ?
        ["run", "-q", "--no-prompt", heapFlag, floor] :
        [heapFlag, floor]
      const floorEnv: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? dir,
        DENO_NO_UPDATE_CHECK: "1",
        NO_COLOR: "1"
      }
      const cold = () => runtime.runPromise(service.execute({ toolId: "noop", input: null }))
      const warm = () => runtime.runPromise(service.execute({ toolId: "noop", input: null, pool: { size: 1 } }))
      if (!coldOnly) await warm() // start the pool outside the measurement
      const osService = osRuntime === undefined ? undefined : await osRuntime.runPromise(ToolRuntime.ToolRuntime)
      const osCold = () => osRuntime!.runPromise(osService!.execute({ toolId: "noop", input: null }))
      const osWarm = () => osRuntime!.runPromise(osService!.execute({ toolId: "noop", input: null, pool: { size: 1 } }))
      if (osRuntime !== undefined && !coldOnly) await osWarm()
      const prestarted = coldOnly ? [] : await pacedTasks(runtimeType, false, layerFor("runtime", 1))
      if (osRuntime !== undefined && !coldOnly) {
        prestarted.push(...(await pacedTasks(runtimeType, true, layerFor("os", 1))))
      }
      const slow = [await slowTask(`${runtimeType} spawn floor`, spawnFloor(binary, floorArgs, floorEnv))]
      if (runtimeType !== "bun") {
        slow.push(await slowTask(`${runtimeType} floor + heap cap`, spawnFloor(binary, cappedArgs, floorEnv)))
      }
      slow.push(await slowTask(`${runtimeType} cold`, cold))
      // The honest floor: with the heap cap every Node and Deno worker gets.
      const paced = await pacedCold(
        runtimeType,
        cold,
        spawnFloor(binary, runtimeType === "bun" ? floorArgs : cappedArgs, floorEnv)
      )
      if (osRuntime !== undefined) {
        const real = fs.realpathSync(binary)
        const scratch = path.join(dir, "scratch")
        fs.mkdirSync(scratch, { recursive: true })
        const wrapped = bubblewrap.wrap(real, floorArgs, {
          binary: real,
          workerPath: floor,
          read: [dir],
          write: "none",
          implicitRead: [],
          network: false,
          scratchDir: scratch,
          scratchBytes: 64 * 1024 * 1024,
          hide: []
        })
        slow.push(
          await slowTask(`${runtimeType} spawn floor (bubblewrap)`, spawnFloor(wrapped.command, wrapped.args, floorEnv))
        )
        slow.push(await slowTask(`${runtimeType} cold (bubblewrap)`, osCold))
        paced.push(
          ...(await pacedCold(
            `${runtimeType} (bubblewrap)`,
            osCold,
            spawnFloor(wrapped.command, wrapped.args, floorEnv)
          ))
        )
      }
      const fast = new Bench({ time: 1000, iterations: 200, warmup: true, retainSamples: true })
      if (!coldOnly) {
        const echoFile = path.join(dir, "echo.mjs")
        fs.writeFileSync(echoFile, echoScript)
        const raw = rawRoundTrip(binary, runtimeType === "deno" ? ["run", "-q", echoFile] : [echoFile])
        await raw.roundTrip()
        fast.add(`${runtimeType} warm (pool of 1)`, warm).add(`${runtimeType} raw stdio round trip`, raw.roundTrip)
        if (osRuntime !== undefined) fast.add(`${runtimeType} warm (pool of 1, bubblewrap)`, osWarm)
        await fast.run()
        raw.close()
      }
      for (const { childCpu, hostCpu, task } of slow) {
        const s = stats(task)
        rows.push({
          task: task.name,
          n: s.n,
          "p50 ms": Number(s.p50.toFixed(3)),
          "p90 ms": Number(s.p90.toFixed(3)),
          "child cpu ms/call": Number(childCpu.toFixed(1)),
          "host cpu ms/call": Number(hostCpu.toFixed(2))
        })
      }
      for (const p of [...paced, ...prestarted]) {
        rows.push({ task: p.name, n: p.n, "p50 ms": Number(p.p50.toFixed(3)), "p90 ms": Number(p.p90.toFixed(3)) })
      }
      for (const task of fast.tasks) {
        const s = stats(task)
        rows.push({ task: task.name, n: s.n, "p50 ms": Number(s.p50.toFixed(3)), "p90 ms": Number(s.p90.toFixed(3)) })
      }
      await runtime.dispose()
      if (osRuntime !== undefined) await osRuntime.dispose()
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  console.table(rows)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await Effect.runPromise(Effect.promise(run))
}
