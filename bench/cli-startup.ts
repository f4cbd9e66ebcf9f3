/**
 * CLI start-up: whole processes, timed from outside (spawn to exit), interleaved so that drift in the
 * machine's speed hits every command alike. The floor is `node -e 0` (Node's own start) measured in the
 * same loop; the target (issue 17) is `--help` and `validate` of the minimal bundle under 3x that floor.
 *
 * Commands: the bin as shipped (bundle + V8 code cache warmed by one earlier run of the command), the same
 * bundle without the cache (`EFFECT_SWARM_CODE_CACHE=0`: a first run, or a Node without vm's default
 * loader), and the sources as ES modules through Node's loader (`dist/src/cli/bin.js`, what the bin was
 * before the bundle; only when `npm run build` has produced it).
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const runs = Number(process.env.CLI_STARTUP_RUNS ?? 15)

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

export const run = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-bench-bin-"))
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-bench-home-"))
  try {
    execFileSync(process.execPath, [path.join(repo, "scripts/bundle-bin.mjs"), dir], { stdio: "inherit" })
    const bin = path.join(dir, "effect-swarm.cjs")
    const minimal = path.join(repo, "examples/bundles/minimal")
    const esm = path.join(repo, "dist/src/cli/bin.js")
    const commands: Array<{ name: string; argv: Array<string>; env?: Record<string, string> }> = [
      { name: "node -e 0 (floor)", argv: ["-e", "0"] },
      { name: "--help", argv: [bin, "--help"] },
      { name: "validate minimal", argv: [bin, "validate", minimal] },
      { name: "--help, no code cache", argv: [bin, "--help"], env: { EFFECT_SWARM_CODE_CACHE: "0" } },
      {
        name: "validate, no code cache",
        argv: [bin, "validate", minimal],
        env: { EFFECT_SWARM_CODE_CACHE: "0" }
      }
    ]
    if (fs.existsSync(esm)) {
      commands.push({ name: "--help, unbundled ESM", argv: [esm, "--help"] })
      commands.push({ name: "validate, unbundled ESM", argv: [esm, "validate", minimal] })
    }
    const times = commands.map(() => [] as Array<number>)
    const once = (i: number) => {
      const c = commands[i]!
      const start = performance.now()
      const r = spawnSync(process.execPath, c.argv, {
        env: { ...process.env, EFFECT_SWARM_HOME: home, ...c.env },
        stdio: "ignore"
      })
      const elapsed = performance.now() - start
      if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}`)
      return elapsed
    }
    // Warm-up: fills the code cache (one per command) and the OS file cache.
    for (let i = 0; i < commands.length; i++) once(i)
    for (let n = 0; n < runs; n++) for (let i = 0; i < commands.length; i++) times[i]!.push(once(i))
    const floor = median(times[0]!)
    console.table(commands.map((c, i) => ({
      command: c.name,
      "median ms": median(times[i]!).toFixed(1),
      "min ms": Math.min(...times[i]!).toFixed(1),
      "max ms": Math.max(...times[i]!).toFixed(1),
      "x floor": (median(times[i]!) / floor).toFixed(2)
    })))
    console.log(`${runs} interleaved runs each, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    fs.rmSync(home, { recursive: true, force: true })
  }
}
