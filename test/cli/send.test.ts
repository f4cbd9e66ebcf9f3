import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)
const fixture = path.join(Bin.repo, "test/fixtures/bundles/cli")

interface ChatMessage {
  readonly role: string
  readonly content?: string | null
  readonly tool_calls?: ReadonlyArray<unknown>
}

/**
 * A loopback model speaking the Chat Completions wire format, stateless like a real one: after a tool
 * result it answers with text quoting it; on a user message asking to deploy it calls greet__deploy.
 * (A scripted model restarts its script in every process, so it cannot continue a turn across `approve`.)
 */
const loopbackModel = Effect.acquireRelease(
  Effect.async<http.Server>((resume) => {
    const server = http.createServer((req, res) => {
      let body = ""
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
      req.on("end", () => {
        const messages: ReadonlyArray<ChatMessage> = JSON.parse(body).messages
        const last = messages[messages.length - 1]!
        const message = last.role === "tool"
          ? { role: "assistant", content: `done: ${last.content}` }
          : {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_deploy_1",
              type: "function",
              function: { name: "greet__deploy", arguments: JSON.stringify({ env: "prod" }) }
            }]
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
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

/** The fixture bundle copied to a temp dir with its model replaced by the loopback one. */
const bundleWithLoopback = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const server = yield* loopbackModel
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-cli-bundle-" })
  yield* fs.copy(fixture, dir, { overwrite: true })
  const port = (server.address() as AddressInfo).port
  yield* fs.writeFileString(
    path.join(dir, "model.yaml"),
    `apiVersion: effect-swarm/v1\nkind: Model\nmetadata: { name: brain }\nspec:\n  provider: openai-compatible\n` +
      `  model: loopback\n  endpoint: http://127.0.0.1:${port}/v1\n  apiKey: { valueFrom: { env: LOOPBACK_KEY } }\n`
  )
  return dir
})

const freshHome = Effect.flatMap(
  FileSystem.FileSystem,
  (fs) => fs.makeTempDirectoryScoped({ prefix: "effect-swarm-cli-home-" })
)

describe("effect-swarm send, approve, deny", () => {
  layer(Live, { timeout: 180_000 })((it) => {
    it.scoped(
      "send runs one turn (a TypeScript tool in-process on Node 20) and prints the reply; --json",
      () =>
        Effect.gen(function*() {
          const bin = yield* Bin.Bin
          const home = yield* freshHome
          const env = { EFFECT_SWARM_HOME: home }
          const text = yield* bin.run(["send", "helper", "greet Ada", "--dir", fixture], { env })
          assert.strictEqual(text.stderr, "")
          assert.strictEqual(text.code, 0)
          assert.strictEqual(text.stdout, "HELLO ADA!\n")
          const json = yield* bin.run(["send", "helper@second", "greet Ada", "--dir", fixture, "--json"], { env })
          assert.strictEqual(json.code, 0)
          const parsed = JSON.parse(json.stdout)
          assert.strictEqual(parsed.instance, "helper@second")
          assert.strictEqual(parsed.workspaceId, "desk")
          assert.strictEqual(parsed.finishReason, "text_response")
          assert.strictEqual(parsed.reply, "HELLO ADA!")
          // The instances are durable under the state root, with their runtime events.
          const listed = JSON.parse((yield* bin.run(["instances", "list", "--json"], { env })).stdout)
          assert.deepStrictEqual(
            listed.instances.map((m: { agentName: string; instanceKey: string }) => `${m.agentName}@${m.instanceKey}`),
            ["helper@default", "helper@second"]
          )
          const events = yield* bin.run(["events", "helper@default", "--json"], { env })
          const completed = events.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) =>
            e.type === "tool.completed"
          )
          assert.deepStrictEqual(completed.map((e: { toolName: string }) => e.toolName), ["greet__hello"])
        }),
      { timeout: 180_000 }
    )

    it.scoped("mistakes are one readable line and exit 3: unknown agent, missing bundle", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const env = { EFFECT_SWARM_HOME: yield* freshHome }
        const unknown = yield* bin.run(["send", "nobody", "hi", "--dir", fixture], { env })
        assert.strictEqual(unknown.code, 3)
        assert.include(unknown.stderr, "nobody")
        assert.notMatch(unknown.stderr, /\n\s+at /)
        const missing = yield* bin.run(["send", "helper", "hi", "--dir", path.join(fixture, "nope")], { env })
        assert.strictEqual(missing.code, 3)
        assert.include(missing.stderr, "nope")
      }), { timeout: 180_000 })

    it.scoped(
      "a tool call that needs approval: send exits 4 naming the call, approve runs it and prints the reply",
      () =>
        Effect.gen(function*() {
          const bin = yield* Bin.Bin
          const dir = yield* bundleWithLoopback
          const env = { EFFECT_SWARM_HOME: yield* freshHome, LOOPBACK_KEY: "test-key" }
          const paused = yield* bin.run(["send", "helper@ops", "deploy it", "--dir", dir], { env })
          assert.strictEqual(paused.code, 4, paused.stderr)
          assert.include(paused.stdout, "awaiting approval: greet__deploy (call call_deploy_1)")
          // The way to deny names the option a reason goes in (a positional reason is refused by the parser).
          assert.include(paused.stdout, "deny helper@ops call_deploy_1 --reason")
          assert.include(paused.stdout, "effect-swarm approve helper@ops call_deploy_1")
          const status = JSON.parse((yield* bin.run(["instances", "list", "--json"], { env })).stdout)
          assert.strictEqual(status.instances[0].status, "awaiting_approval")

          const wrong = yield* bin.run(["approve", "helper@ops", "call_nope", "--dir", dir], { env })
          assert.strictEqual(wrong.code, 3)
          assert.include(wrong.stderr, "call_deploy_1", "the error lists what is pending")

          const approved = yield* bin.run(["approve", "helper@ops", "call_deploy_1", "--dir", dir, "--json"], { env })
          assert.strictEqual(approved.code, 0, approved.stderr)
          const result = JSON.parse(approved.stdout)
          assert.strictEqual(result.finishReason, "text_response")
          assert.include(result.reply, "deployed to prod")

          // deny: the model reads the denial as a tool error and answers.
          const again = yield* bin.run(["send", "helper@ops2", "deploy it", "--dir", dir], { env })
          assert.strictEqual(again.code, 4)
          const denied = yield* bin.run(
            ["deny", "helper@ops2", "call_deploy_1", "--dir", dir, "--reason", "not on a Friday"],
            { env }
          )
          assert.strictEqual(denied.code, 0, denied.stderr)
          assert.include(denied.stdout, "not on a Friday")
        }),
      { timeout: 180_000 }
    )
  })
})
