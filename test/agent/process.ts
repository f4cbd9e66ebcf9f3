// Real child processes for the agent crash tests, bundled once with esbuild (as test/workspace/process.ts).
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"

const repo = path.resolve(__dirname, "../..")

/** Bundles `test/fixtures/<dir>/<name>.ts` (default dir: `agent`) into one runnable file. */
export const buildFixture = (name: string, dir = "agent") =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const { build } = await import("esbuild")
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "es-agent-crash-"))
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
        banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
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

/** Runs `node script ...args`; `onLine` returns true to SIGKILL the child at that line. */
export const runUntil = (script: string, args: ReadonlyArray<string>, onLine: (line: string) => boolean) =>
  Effect.async<Run>((resume) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    const lines: Array<string> = []
    let buffer = ""
    let stderr = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (data: string) => {
      buffer += data
      let i: number
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i)
        buffer = buffer.slice(i + 1)
        lines.push(line)
        if (child.exitCode === null && !child.killed && onLine(line)) child.kill("SIGKILL")
      }
    })
    child.stderr.on("data", (d) => stderr += String(d))
    child.on("close", (code, signal) => {
      if (stderr.length > 0) lines.push(`stderr ${stderr}`)
      resume(Effect.succeed({ lines, signal, code }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

interface ChatMessage {
  readonly role: string
  readonly content?: string | null
  readonly tool_calls?: ReadonlyArray<unknown>
}

/**
 * A stateless loopback model speaking the Chat Completions wire format: per turn ("task i", the last
 * user message), step 1 calls `rec__once` and `idem__get`, step 2 calls `rec__once`, step 3 answers.
 * Call ids are derived from the turn and step, so a step asked twice would run its tool twice under the
 * same id (which the test would see). `requests` counts every call per turn and step.
 */
export const modelServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly server: http.Server; readonly asked: Map<string, number> }>(
    (resume) => {
      const asked = new Map<string, number>()
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (c) => body += String(c))
        req.on("end", () => {
          const messages = (JSON.parse(body) as { messages: ReadonlyArray<ChatMessage> }).messages
          let last = messages.length - 1
          while (last >= 0 && messages[last]!.role !== "user") last--
          const task = String(messages[last]?.content ?? "").replace("task ", "t")
          const step = messages.slice(last + 1).filter((m) => m.role === "assistant").length
          asked.set(`${task}/${step}`, (asked.get(`${task}/${step}`) ?? 0) + 1)
          const call = (id: string, name: string) => ({
            id,
            type: "function",
            function: { name, arguments: "{}" }
          })
          const message = step === 0
            ? {
              role: "assistant",
              content: null,
              tool_calls: [call(`${task}-a`, "rec__once"), call(`${task}-b`, "idem__get")]
            }
            : step === 1
            ? { role: "assistant", content: null, tool_calls: [call(`${task}-c`, "rec__once")] }
            : { role: "assistant", content: `done ${task}` }
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({
            id: "x",
            choices: [{ index: 0, message, finish_reason: step < 2 ? "tool_calls" : "stop" }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
          }))
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as { port: number }
        resume(Effect.succeed({ url: `http://127.0.0.1:${address.port}/v1`, server, asked }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)
