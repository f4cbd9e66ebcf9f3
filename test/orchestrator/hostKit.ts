import { FileSystem } from "@effect/platform"
import { Effect, Queue } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const hostBundleDir = path.resolve(here, "../fixtures/bundles/host")

interface ChatMessage {
  readonly role: string
  readonly content?: string | null
}

/** A tool of the fixture bundle started in a child (`gate__wait`, `gate__spin`), with that child's pid. */
export interface Started {
  readonly tool: string
  readonly pid: number
}

/**
 * The test's loopback server: a stateless model speaking Chat Completions (a user message -> call
 * `gate__wait`; a tool result -> `done: <result>`), and the gate the fixture tools report to (`/started`)
 * and wait at (`/gate`, held open until the server closes).
 */
export const loopback = Effect.gen(function*() {
  const started = yield* Queue.unbounded<Started>()
  const modelCalls: Array<string> = []
  const server = yield* Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const s = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        if (url.pathname === "/started") {
          Queue.unsafeOffer(started, {
            tool: url.searchParams.get("tool") ?? "",
            pid: Number(url.searchParams.get("pid"))
          })
          return res.end("ok")
        }
        if (url.pathname === "/gate") return // held open: the tool blocks until its process ends
        let body = ""
        req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
        req.on("end", () => {
          const messages: ReadonlyArray<ChatMessage> = JSON.parse(body).messages
          const last = messages[messages.length - 1]!
          modelCalls.push(last.role)
          const message = last.role === "tool"
            ? { role: "assistant", content: `done: ${last.content}` }
            : {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "call_wait_1", type: "function", function: { name: "gate__wait", arguments: "{}" } }]
            }
          res.setHeader("content-type", "application/json")
          res.end(JSON.stringify({
            id: "chatcmpl-1",
            object: "chat.completion",
            created: 0,
            model: "loopback",
            choices: [{ index: 0, message, finish_reason: last.role === "tool" ? "stop" : "tool_calls" }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
          }))
        })
      })
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) =>
      Effect.async<void>((resume) => {
        s.closeAllConnections()
        s.close(() => resume(Effect.void))
      })
  )
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, started, modelCalls }
})

/** The fixture bundle in a temp dir with its loopback model pointed at `url`, and a fresh state root. */
export const hostFixture = (url: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-host-bundle-" })
    yield* fs.copy(hostBundleDir, dir, { overwrite: true })
    yield* fs.writeFileString(
      path.join(dir, "models.yaml"),
      `apiVersion: effect-swarm/v1\nkind: Model\nmetadata: { name: loop }\nspec:\n  provider: openai-compatible\n` +
        `  model: loopback\n  endpoint: ${url}/v1\n  apiKey: { valueFrom: { env: LOOPBACK_KEY } }\n`
    )
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-host-home-" })
    return { dir, home, env: { LOOPBACK_KEY: "test-key", GATE_URL: url } }
  })

/** Whether a process with this id exists (signal 0 probes without sending anything). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every file under `dir` whose name is `name`. */
export const findFiles = (dir: string, name: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const all = yield* fs.readDirectory(dir, { recursive: true })
    return all.filter((f) => path.basename(f) === name).map((f) => path.join(dir, f))
  })
