// Real child processes for the crash tests (test/workspace, test/agent): a fixture is bundled once,
// dependencies included, with esbuild (which vite already ships) and run with plain `node`: starting tsx,
// or loading effect's hundreds of ESM files, per kill would dominate the run time.
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const repo = path.resolve(__dirname, "../..")

/** Bundles `test/fixtures/<dir>/<name>.ts` into a temp dir (removed with the scope); gives the bundle. */
export const buildFixture = (name: string, dir: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const { build } = await import("esbuild")
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `es-${dir}-crash-`))
      const outfile = path.join(outdir, `${name}.mjs`)
      await build({
        entryPoints: [path.join(repo, "test/fixtures", dir, `${name}.ts`)],
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        outfile,
        logLevel: "error",
        // CommonJS dependencies that require Node built-ins need a require in an ES module.
        banner: {
          js:
            "import { createRequire as __esCreateRequire } from 'node:module'; const require = __esCreateRequire(import.meta.url);"
        },
        alias: { "effect-swarm": path.join(repo, "src/index.ts") }
      })
      return outfile
    }),
    (file) => Effect.sync(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))
  )

export interface Run {
  readonly lines: ReadonlyArray<string>
  readonly signal: NodeJS.Signals | null
  readonly code: number | null
}

/**
 * Runs `node script ...args`; `onLine` sees every stdout line and returns true to SIGKILL the child
 * right there. Resolves when the child has exited, with its stdout lines (an unterminated last one
 * included) and its stderr as a last `stderr ...` line. Interrupting the effect kills the child.
 *
 * `stepwise`: the child waits after each line for a newline on its stdin (a fixture that reads fd 0
 * synchronously after printing), which the parent writes once `onLine` said not to kill. The kill then
 * lands exactly at the line, however loaded the machine; without it the child runs on while the parent
 * gets to the line, so how far it got before the kill depends on the scheduler.
 */
export const runUntil = (
  script: string,
  args: ReadonlyArray<string>,
  onLine: (line: string, pid: number) => boolean,
  options?: { readonly stepwise?: boolean | undefined }
) =>
  Effect.async<Run>((resume) => {
    const stepwise = options?.stepwise === true
    const child = spawn(process.execPath, [script, ...args], {
      stdio: [stepwise ? "pipe" : "ignore", "pipe", "pipe"]
    })
    // A child killed (or exited) while a go-ahead is on its way: the write fails with EPIPE, harmlessly.
    child.stdin?.on("error", () => {})
    const lines: Array<string> = []
    let buffer = ""
    let stderr = ""
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (data: string) => {
      buffer += data
      let i: number
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i)
        buffer = buffer.slice(i + 1)
        lines.push(line)
        if (child.exitCode !== null || child.killed) continue
        if (onLine(line, child.pid!)) child.kill("SIGKILL")
        else if (stepwise) child.stdin?.write("\n")
      }
    })
    child.stderr!.on("data", (d) => stderr += String(d))
    child.on("close", (code, signal) => {
      if (buffer.length > 0) lines.push(buffer)
      if (stderr.length > 0) lines.push(`stderr ${stderr}`)
      resume(Effect.succeed({ lines, signal, code }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })
