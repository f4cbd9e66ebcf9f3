// The agent crash tests' loopback model; fixtures are built and run by test/support/process.ts.
import { Effect } from "effect"
import * as http from "node:http"
import * as Support from "../support/process.js"

export { runUntil } from "../support/process.js"

/** Bundles `test/fixtures/<dir>/<name>.ts` (default dir: `agent`) into one runnable file. */
export const buildFixture = (name: string, dir = "agent") => Support.buildFixture(name, dir)

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
            : step === 2
            // Only idempotent calls: the step is group-committed (its assistant message with its result).
            ? { role: "assistant", content: null, tool_calls: [call(`${task}-d`, "idem__get")] }
            : { role: "assistant", content: `done ${task}` }
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({
            id: "x",
            choices: [{ index: 0, message, finish_reason: step < 3 ? "tool_calls" : "stop" }],
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
