/**
 * ToolRuntime: one no-op tool call per runtime, cold (a fresh process per call) and warm (pooled
 * worker), next to the bare spawn floor of the same runtime binary measured in the same run.
 *
 * - floor: spawn `<runtime> floor.mjs` (a script that writes one byte) and wait for its exit;
 * - cold: `ToolRuntime.execute` of a tool returning 42 (spawn, handshake, import, call, reap);
 * - warm: the same call on a pool of one pre-started worker;
 * - raw round trip: one NDJSON line to a bare child of the same runtime that echoes it back over stdio
 *   (no protocol, no Effect): the floor a warm call can approach.
 *
 * Run: `npx tsx bench/index.ts tool-runtime` (or `npm run bench -- tool-runtime`).
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bench } from "tinybench"
import * as RuntimeConfig from "../src/config/RuntimeConfig.js"
import * as ToolRuntime from "../src/sandbox/ToolRuntime.js"

const runtimes = ["bun", "node", "deno"] as const

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
  fs.writeFileSync(floor, "process.stdout.write(\"x\")\n")
  const rows: Array<Record<string, string | number>> = []
  try {
    for (const runtimeType of runtimes) {
      const runtime = ManagedRuntime.make(
        ToolRuntime.layer.pipe(
          Layer.provide(
            RuntimeConfig.layer(
              runtimeType,
              RuntimeConfig.withEntrypointPath(entry),
              RuntimeConfig.withMaxMemoryMB(512)
            )
          )
        )
      )
      const service = await runtime.runPromise(ToolRuntime.ToolRuntime)
      const binary = ToolRuntime.resolveBinary(runtimeType)
      const floorArgs = runtimeType === "deno" ? ["run", "-q", "--no-prompt", floor] : [floor]
      const floorEnv: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? dir,
        DENO_NO_UPDATE_CHECK: "1",
        NO_COLOR: "1"
      }
      const cold = () => runtime.runPromise(service.execute({ toolId: "noop", input: null }))
      const warm = () => runtime.runPromise(service.execute({ toolId: "noop", input: null, pool: { size: 1 } }))
      await warm() // start the pool outside the measurement
      const slow = new Bench({ time: 0, iterations: 30, warmup: true, warmupIterations: 3, retainSamples: true })
      slow.add(`${runtimeType} spawn floor`, spawnFloor(binary, floorArgs, floorEnv)).add(`${runtimeType} cold`, cold)
      await slow.run()
      const echoFile = path.join(dir, "echo.mjs")
      fs.writeFileSync(echoFile, echoScript)
      const raw = rawRoundTrip(binary, runtimeType === "deno" ? ["run", "-q", echoFile] : [echoFile])
      await raw.roundTrip()
      const fast = new Bench({ time: 1000, iterations: 200, warmup: true, retainSamples: true })
      fast.add(`${runtimeType} warm (pool of 1)`, warm).add(`${runtimeType} raw stdio round trip`, raw.roundTrip)
      await fast.run()
      raw.close()
      for (const task of [...slow.tasks, ...fast.tasks]) {
        const s = stats(task)
        rows.push({ task: task.name, n: s.n, "p50 ms": Number(s.p50.toFixed(3)), "p90 ms": Number(s.p90.toFixed(3)) })
      }
      await runtime.dispose()
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
