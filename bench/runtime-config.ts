/**
 * RuntimeConfig construction: time per call (tinybench) and bytes allocated per call.
 *
 * Allocation is measured in a child Node process started with `--expose-gc` and a 256 MiB young
 * generation, so no scavenge runs inside the measured loop: heapUsed after - before, divided by the
 * number of calls. The seed promises < 1 µs and < 5 KB per minimal construction.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Bench } from "tinybench"
import * as RuntimeConfig from "../src/config/RuntimeConfig.js"

const R = RuntimeConfig

export const minimal = () => R.make("bun")

// Options are built once, as an application would hold them; the call builds and validates.
const fullOptions = [
  R.withEntrypointPath("./tools/main.ts"),
  R.withEnvironment("production"),
  R.withBunPermissions(["--allow-read", "--allow-net=api.example.com", "--allow-env=API_KEY,API_SECRET"]),
  R.withMaxMemoryMB(1024),
  R.withToolExecutionTimeout("30 seconds"),
  R.withMaxStderrCaptureSize(2 * 1024 * 1024),
  R.withBackoffInitialInterval(50),
  R.withBackoffMaxInterval("2 seconds"),
  R.withBackoffMaxElapsedTime("10 seconds"),
  R.withNativeTools({ callAgents: true, callWorkflows: true }),
  R.withWorkerFilePerm(0o600)
]
export const full = () => R.make("bun", ...fullOptions)
const fullInput = {
  runtimeType: "bun",
  entrypointPath: "./tools/main.ts",
  environment: "production",
  bunPermissions: ["--allow-read", "--allow-net=api.example.com", "--allow-env=API_KEY,API_SECRET"],
  maxMemoryMB: 1024,
  toolExecutionTimeout: "30 seconds",
  maxStderrCaptureSize: 2 * 1024 * 1024,
  backoffInitialInterval: 50,
  backoffMaxInterval: "2 seconds",
  backoffMaxElapsedTime: "10 seconds",
  nativeTools: { callAgents: true, callWorkflows: true },
  workerFilePerm: 0o600
}
export const schemaFull = () => R.decodeEither(fullInput)
export const schemaMinimal = () => R.decodeEither({ runtimeType: "bun" })

const allocationPerCall = (name: "minimal" | "full" | "schemaFull" | "schemaMinimal"): number => {
  const out = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      "--max-semi-space-size=256",
      "--min-semi-space-size=256",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--alloc",
      name
    ],
    { encoding: "utf8" }
  )
  return Number(out.trim())
}

const measureAllocation = (fn: () => unknown): number => {
  const gc = (globalThis as { gc?: () => void }).gc!
  const n = 20_000
  for (let i = 0; i < 2_000; i++) fn()
  gc()
  gc()
  const keep: Array<unknown> = new Array(n)
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < n; i++) keep[i] = fn()
  const after = process.memoryUsage().heapUsed
  // The results are retained so the delta counts them; subtract the retaining array itself.
  return (after - before - n * 8) / n
}

export const run = async (): Promise<void> => {
  const bench = new Bench({ time: 1000, warmup: true })
  bench
    .add("make(\"bun\") (minimal, fast path)", minimal)
    .add("make(\"bun\", 11 options) (full, fast path)", full)
    .add("decode({runtimeType}) (minimal, Schema path)", schemaMinimal)
    .add("decode(full input) (full, Schema path)", schemaFull)
  await bench.run()
  const names = ["minimal", "full", "schemaMinimal", "schemaFull"] as const
  const rows = bench.tasks.map((task, i) => {
    const result = task.result as { latency?: { p50?: number; mean?: number } } | undefined
    const meanMs = result?.latency?.mean ?? NaN
    return {
      task: task.name,
      "mean ns/call": Math.round(meanMs * 1e6),
      "p50 ns/call": Math.round((result?.latency?.p50 ?? NaN) * 1e6),
      "bytes/call": Math.round(allocationPerCall(names[i]!))
    }
  })
  console.table(rows)
}

if (process.argv[2] === "--alloc") {
  const name = process.argv[3] as "minimal" | "full" | "schemaFull" | "schemaMinimal"
  const fns = { minimal, full, schemaFull, schemaMinimal }
  console.log(measureAllocation(fns[name]))
}
