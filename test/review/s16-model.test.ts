// Hostile review of the model providers (session 16): a model endpoint is external input.
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Stream } from "effect"
import { Model } from "effect-swarm"
import * as http from "node:http"
import * as zlib from "node:zlib"
import * as Server from "../model/server.js"

const keys = ConfigProvider.fromMap(
  new Map([["OPENAI_API_KEY", "sk-openai-secret"], ["ANTHROPIC_API_KEY", "sk-ant-secret"]])
)

const make = (
  provider: "openai" | "anthropic" | "openai-compatible",
  url: string,
  options: Record<string, number | string> = { maxRetries: 0 },
  layerOptions: Model.LayerOptions = {}
) =>
  Model.make({
    metadata: { name: provider },
    spec: {
      provider,
      model: "m",
      endpoint: url,
      options,
      ...(provider === "openai-compatible" ? { apiKey: { _tag: "Value" as const, value: "sk-local-secret" } } : {})
    }
  }, layerOptions).pipe(Effect.withConfigProvider(keys))

const request: Model.Request = { messages: [{ role: "user", content: "hi" }] }

describe("s16 model: a redirect never carries the key or the conversation to another host", () => {
  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    for (const status of [302, 307]) {
      it.scoped(`${provider}: a ${status} to another host fails typed, naming the target; that host sees nothing`, () =>
        Effect.gen(function*() {
          const elsewhere = yield* Server.make({ status: 200, body: "{}" })
          const endpoint = yield* Server.make({
            status,
            headers: { location: `${elsewhere.url.replace("/v1", "")}/steal?token=t` },
            body: ""
          })
          const model = yield* make(provider, endpoint.url)
          const error = yield* Effect.flip(model.generate(request))
          assert.deepStrictEqual(elsewhere.requests.map((r) => r.headers), [])
          assert.strictEqual(endpoint.requests.length, 1)
          assert.strictEqual(error._tag, "ModelBadRequest")
          assert.include(error.message, `${provider}: request rejected (HTTP ${status})`)
          assert.include(error.message, `redirects to ${elsewhere.url.replace("/v1", "")}/steal`)
          assert.include(error.message, "set spec.endpoint")
          assert.notInclude(error.message, "token=t")
        }))
    }
  }
})

describe("s16 model: a response body is bounded (maxResponseBytes, default 64 MiB)", () => {
  const MiB = 1024 * 1024
  const completion = (content: string) =>
    JSON.stringify({
      id: "c",
      object: "chat.completion",
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }]
    })

  it.scoped("generate: a body past the limit fails with ModelProtocolError naming the limit, not read to the end", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ status: 200, body: completion("x".repeat(2 * MiB)), split: 64 * 1024 })
      const model = yield* make("openai-compatible", server.url, { maxRetries: 0 }, { maxResponseBytes: MiB })
      const error = yield* Effect.flip(Effect.asVoid(model.generate(request)))
      assert.strictEqual(error?._tag, "ModelProtocolError")
      assert.include(error.message, "openai-compatible: unreadable response: the response body is larger than 1048576")
      assert.include(error.message, "maxResponseBytes")
      // Under the limit the same answer reads whole.
      server.push({ status: 200, body: completion("x".repeat(MiB / 2)) })
      const response = yield* model.generate(request)
      assert.strictEqual(response.message.content, "x".repeat(MiB / 2))
    }))

  it.scoped("generate: a compressed body is bounded by what it inflates to, not by its declared length", () =>
    Effect.gen(function*() {
      // 4 MiB of text gzipped to a few KiB, its (small) length declared: read at once by its content-length,
      // it would inflate past the limit unseen. Without compression the declared length is the bound.
      const body = zlib.gzipSync(completion("x".repeat(4 * MiB)))
      const server = yield* Effect.acquireRelease(
        Effect.async<http.Server>((resume) => {
          const s = http.createServer((_req, res) => {
            res.writeHead(200, {
              "content-type": "application/json",
              "content-encoding": "gzip",
              "content-length": String(body.length)
            })
            res.end(body)
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.async<void>((resume) => {
            s.close(() => resume(Effect.void))
          })
      )
      const port = (server.address() as { port: number }).port
      const model = yield* make("openai-compatible", `http://127.0.0.1:${port}/v1`, { maxRetries: 0 }, {
        maxResponseBytes: MiB
      })
      const error = yield* Effect.flip(Effect.asVoid(model.generate(request)))
      assert.strictEqual(error?._tag, "ModelProtocolError")
      assert.include(error.message, "the response body is larger than 1048576")
    }))

  it.scoped("stream: an SSE line that never ends fails at the limit instead of filling memory", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({
        status: 200,
        headers: { "content-type": "text/event-stream" },
        body: "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(2 * MiB),
        split: 64 * 1024,
        hang: true
      })
      const model = yield* make("anthropic", server.url, { maxRetries: 0 }, { maxResponseBytes: MiB })
      const error = yield* Effect.flip(Stream.runDrain(model.stream(request)))
      assert.strictEqual(error?._tag, "ModelProtocolError")
      assert.include(error.message, "anthropic: unreadable response: the response body is larger than 1048576")
      yield* Server.waitUntil(Effect.sync(() => server.aborted() === 1))
    }))

  it.scoped("an error status reads at most 64 KiB of its body for the message, then closes the connection", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ status: 400, body: "no. ".repeat(4 * MiB), split: 64 * 1024 })
      const model = yield* make("openai", server.url)
      const error = yield* Effect.flip(model.generate(request))
      assert.strictEqual(error._tag, "ModelBadRequest")
      assert.include(error.message, "openai: request rejected (HTTP 400): no. no.")
      yield* Server.waitUntil(Effect.sync(() => server.aborted() === 1))
    }))

  it.effect("a maxResponseBytes that is not a positive integer is a ModelConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(make("openai", "http://127.0.0.1:9/v1", {}, { maxResponseBytes: 0 }))
      assert.strictEqual(error._tag, "ModelConfigError")
      assert.include(error.message, "maxResponseBytes must be a positive integer, got 0")
    }))
})

describe("s16 model: credentials in spec.endpoint never reach an error or a log", () => {
  it.scoped("an endpoint with user:password is a ModelConfigError at build time that does not repeat them", () =>
    Effect.gen(function*() {
      const server = yield* Server.make({ status: 200, body: "{}" })
      const endpoint = server.url.replace("http://", "http://admin:hunter2@")
      const exit = yield* Effect.exit(
        Effect.flatMap(make("openai-compatible", endpoint), (model) => model.generate(request))
      )
      assert.strictEqual(server.requests.length, 0)
      assert.isTrue(Exit.isFailure(exit))
      const text = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      assert.notInclude(text, "hunter2")
      assert.include(text, "ModelConfigError")
      assert.include(text, "Model/openai-compatible spec.endpoint: the URL carries credentials")
    }))

  it.effect("an endpoint that is no http(s) URL is a ModelConfigError naming spec.endpoint", () =>
    Effect.gen(function*() {
      for (const endpoint of ["localhost:11434/v1", "ftp://127.0.0.1/v1", "not a url"]) {
        const error = yield* Effect.flip(make("openai-compatible", endpoint))
        assert.strictEqual(error._tag, "ModelConfigError")
        assert.include(error.message, "Model/openai-compatible spec.endpoint: expected an http(s) URL")
      }
    }))
})

describe("s16 model: tool-call arguments nested past 64 levels are kept as raw text", () => {
  it.scoped("generate returns the raw text (the turn loop answers it), and the next request replays it", () =>
    Effect.gen(function*() {
      const depth = 100_000
      const args = "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)
      const body = JSON.stringify({
        id: "c",
        object: "chat.completion",
        model: "m",
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "deep", arguments: args } }]
          },
          finish_reason: "tool_calls"
        }]
      })
      const server = yield* Server.make({ status: 200, body }, {
        status: 200,
        body: JSON.stringify({
          choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }]
        })
      })
      const model = yield* make("openai-compatible", server.url)
      const response = yield* model.generate(request)
      const call = response.message.toolCalls?.[0]
      assert.strictEqual(typeof call?.arguments, "string")
      assert.strictEqual((call?.arguments as string).length, args.length)
      const next = yield* model.generate({
        messages: [
          ...request.messages,
          response.message,
          { role: "tool", content: "ERROR: arguments nested too deep", toolCallId: "call_1", toolName: "deep" }
        ]
      })
      assert.strictEqual(next.message.content, "ok")
    }))
})
