// Hostile review of the model providers (session 17): a model endpoint is external input, and what it says
// reaches the turn loop, the journal, logs and terminals.
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, HashMap, Logger, Option, Ref, Stream, TestClock } from "effect"
import { TestAgent } from "effect-swarm/testing"
import type * as http from "node:http"
import * as Server from "../model/server.js"
import * as K from "./s17-modelsKit.js"

const deep = (levels: number) => "{\"a\":".repeat(levels) + "1" + "}".repeat(levels)

describe("s17 models: arguments that arrive as a deeply nested value", () => {
  it.scoped("anthropic generate: a tool_use.input nested 100,000 levels is a tool error, not a stack overflow", () =>
    Effect.gen(function*() {
      const body = `{"id":"m1","type":"message","content":[{"type":"tool_use","id":"t1","name":"x__y","input":${
        deep(100_000)
      }}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`
      const deepReply = K.reply(200, { "content-type": "application/json" }, body)
      const ep = yield* K.endpoint(
        deepReply,
        deepReply,
        K.jsonReply({ id: "m2", type: "message", content: [{ type: "text", text: "sorry" }], stop_reason: "end_turn" })
      )
      const model = yield* K.model("anthropic", ep.url)
      const response = yield* model.generate(K.request)
      assert.strictEqual(typeof response.toolCalls[0]!.arguments, "string")
      assert.include(response.toolCalls[0]!.arguments as string, "deeper than 64 levels")
      // Through a turn: the loop answers the call with a tool error the model reads, and the turn goes on.
      const agent = yield* TestAgent.make({ model })
      const result = yield* agent.run("go")
      assert.strictEqual(TestAgent.replyText(result), "sorry")
      const replayed = JSON.stringify(ep.bodies[2])
      assert.include(replayed, "E_TOOL_INVALID_ARGS")
      assert.include(replayed, "deeper than 64 levels")
    }))

  it.scoped("openai-compatible: an arguments object (Ollama style) nested 100,000 levels is kept as text", () =>
    Effect.gen(function*() {
      const call = `{"id":"c1","type":"function","function":{"name":"x__y","arguments":${deep(100_000)}}}`
      const body =
        `{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[${call}]},"finish_reason":"tool_calls"}]}`
      const ep = yield* K.endpoint(
        K.reply(200, { "content-type": "application/json" }, body),
        K.pieces(
          `data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,${
            call.slice(1, -1)
          }}]},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n`,
          65536
        )
      )
      const model = yield* K.model("openai-compatible", ep.url)
      const response = yield* model.generate(K.request)
      assert.include(response.toolCalls[0]!.arguments as string, "deeper than 64 levels")
      const streamed = yield* Effect.flatMap(
        Effect.map(K.collect(model.stream(K.request)), K.finish),
        (r) => Effect.succeed(r.toolCalls[0]!.arguments)
      )
      assert.include(streamed as string, "deeper than 64 levels")
    }))

  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    it.scoped(`${provider}: a deeply nested body of the wrong shape is a ModelProtocolError, not a stack overflow`, () =>
      Effect.gen(function*() {
        const ep = yield* K.endpoint(K.reply(200, { "content-type": "application/json" }, `{"x":${deep(100_000)}}`))
        const model = yield* K.model(provider, ep.url)
        const error = yield* Effect.flip(model.generate(K.request))
        assert.strictEqual(error._tag, "ModelProtocolError")
      }))
  }
})

describe("s17 models: what a provider's error says is bounded and never repeats a secret", () => {
  const secrets = [
    "sk-openai-SECRET-0123456789",
    "sk-ant-SECRET-0123456789",
    "sk-local-SECRET-0123456789",
    "sk-proj-abcdefghijklmnopqrstuv",
    "abc.def.ghi-token"
  ]
  const echo = `Incorrect API key provided: ${secrets.slice(0, 4).join(" / ")}; Authorization: Bearer ${secrets[4]}`
  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    it.scoped(`${provider}: a 401 echoing the key, a 500 of 60 KB with control sequences, a non-JSON 200`, () =>
      Effect.gen(function*() {
        const ep = yield* K.endpoint(
          K.jsonReply({ error: { message: echo, type: "authentication_error" } }, 401),
          K.jsonReply({ error: { message: `\u001b[2J\u001b]0;pwned\u0007 ${echo} ${"x".repeat(60_000)}` } }, 500),
          K.reply(200, { "content-type": "text/html" }, `<html>${echo}</html>`)
        )
        const model = yield* K.model(provider, ep.url)
        for (let i = 0; i < 3; i++) {
          const error = yield* Effect.flip(model.generate(K.request))
          const text = JSON.stringify(error) + error.message
          for (const secret of secrets) assert.notInclude(text, secret)
          assert.include(error.message, "[redacted]")
          assert.notInclude(error.message, "\u001b")
          assert.notInclude(error.message, "\u0007")
          assert.isBelow(error.message.length, 1500)
        }
      }))
  }

  it.scoped("a secret in spec.options.headers is not repeated either", () =>
    Effect.gen(function*() {
      const ep = yield* K.endpoint(K.jsonReply({ error: { message: "bad token: team-TOKEN-42x" } }, 403))
      const model = yield* K.model("openai-compatible", ep.url, {
        maxRetries: 0,
        headers: { "x-team-token": "team-TOKEN-42x" }
      })
      const error = yield* Effect.flip(model.generate(K.request))
      assert.notInclude(error.message, "team-TOKEN-42x")
      assert.include(error.message, "bad token: [redacted]")
    }))
})

describe("s17 models: a whole call is bounded (spec.options.totalTimeout), not only the gap between chunks", () => {
  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    it.scoped(`${provider}: a server trickling a delta every 5 s (timeout 10 s) is cut at totalTimeout 60 s`, () =>
      Effect.gen(function*() {
        let response: http.ServerResponse | undefined
        const ep = yield* K.endpoint((res) => {
          res.writeHead(200, { "content-type": "text/event-stream" })
          res.flushHeaders()
          response = res
        })
        const model = yield* K.model(provider, ep.url, {
          maxRetries: 0,
          timeout: "10 seconds",
          totalTimeout: "60 seconds"
        })
        const seen = yield* Ref.make(0)
        const fiber = yield* Effect.fork(
          Stream.runForEach(model.stream(K.request), () => Ref.update(seen, (n) => n + 1))
        )
        yield* Server.waitUntil(Effect.sync(() => response !== undefined))
        // Each piece of the trickle a complete event of that provider, before the answer would end.
        const full = K.textSse[provider]("x")
        const events = full.split("\n\n").filter((e) => e.includes("delta"))
        for (let i = 0; i < 13; i++) {
          const before = yield* Ref.get(seen)
          response!.write(`${events[0]!}\n\n`)
          if (i < 12) yield* Server.waitUntil(Effect.map(Ref.get(seen), (n) => n > before))
          yield* TestClock.adjust("5 seconds")
          if (i < 11) assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), `still streaming after ${(i + 1) * 5} s`)
        }
        // Before the bound existed the stream went on as long as the trickle did.
        yield* Server.waitUntil(Effect.map(Fiber.poll(fiber), Option.isSome), 5_000)
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        assert.strictEqual(Option.getOrUndefined(error)?._tag, "ModelTimeout")
        assert.include(Option.getOrUndefined(error)?.message ?? "", "did not finish within 60000 ms")
        assert.include(Option.getOrUndefined(error)?.message ?? "", "spec.options.totalTimeout")
      }))
  }

  it.scoped("generate: retry waits count towards totalTimeout (503, retry-after 50 s, totalTimeout 30 s)", () =>
    Effect.gen(function*() {
      const unavailable = K.reply(503, { "content-type": "application/json", "retry-after": "50" }, "{}")
      const ep = yield* K.endpoint(unavailable, unavailable, unavailable)
      const model = yield* K.model("openai-compatible", ep.url, {
        maxRetries: 2,
        timeout: "10 seconds",
        totalTimeout: "30 seconds"
      })
      const fiber = yield* Effect.fork(model.generate(K.request))
      yield* Server.sleepingFor(50_000)
      yield* TestClock.adjust("30 seconds")
      yield* Server.waitUntil(Effect.map(Fiber.poll(fiber), Option.isSome), 5_000)
      const exit = yield* Fiber.await(fiber)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      assert.strictEqual(error?._tag, "ModelTimeout")
      assert.include(error?.message ?? "", "did not finish within 30000 ms")
      assert.strictEqual(ep.bodies.length, 1)
    }))

  it.scoped("totalTimeout is validated like timeout", () =>
    Effect.gen(function*() {
      for (const bad of ["soon", 0, -5, "Infinity"]) {
        const error = yield* Effect.flip(K.model("openai-compatible", "http://127.0.0.1:9/v1", { totalTimeout: bad }))
        assert.strictEqual(error._tag, "ModelConfigError")
        assert.include(error.message, "spec.options.totalTimeout: expected a positive duration")
      }
    }))
})

describe("s17 models: token counts a provider reports are checked (invalid: counted as 0, reported)", () => {
  const bad = { prompt_tokens: -5, completion_tokens: 1e400, total_tokens: -1 }
  const compatBody = (usage: object) => ({
    id: "c",
    choices: [{ index: 0, message: { role: "assistant", content: "x" }, finish_reason: "stop" }],
    usage
  })
  const bodies: Record<K.Provider, { json: string; sse: string }> = {
    "openai-compatible": {
      // 1e400 is Infinity once parsed: JSON text, not JSON.stringify, carries it.
      json: JSON.stringify(compatBody(bad)).replace("null", "1e400"),
      sse: K.chunk({ content: "x" }) + K.chunk({}, "stop", { usage: bad }).replace("null", "1e400") +
        "data: [DONE]\n\n"
    },
    anthropic: {
      json: JSON.stringify({
        id: "m",
        type: "message",
        content: [{ type: "text", text: "x" }],
        stop_reason: "end_turn",
        usage: { input_tokens: 10, cache_read_input_tokens: -50, output_tokens: -7 }
      }),
      sse: [
        { type: "message_start", message: { id: "m", usage: { input_tokens: -3 } } },
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "x" } },
        { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 1e400 } },
        { type: "message_stop" }
      ].map((e) => `data: ${JSON.stringify(e).replace("null", "1e400")}\n\n`).join("")
    },
    openai: {
      json: JSON.stringify({
        id: "r",
        status: "completed",
        output: [{ type: "message", content: [{ type: "output_text", text: "x" }] }],
        usage: { input_tokens: -1, output_tokens: 2 ** 60, total_tokens: -3 }
      }),
      sse: K.openaiText("x").replace("\"input_tokens\":3", "\"input_tokens\":-3")
    }
  }

  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    it.scoped(`${provider}: negative, infinite and absurd counts never reach the response, and are logged`, () =>
      Effect.gen(function*() {
        const logs: Array<string> = []
        const logger = Logger.make(({ annotations, message }) => {
          logs.push(`${String(message)} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`)
        })
        const ep = yield* K.endpoint(
          K.reply(200, { "content-type": "application/json" }, bodies[provider].json),
          K.pieces(bodies[provider].sse, 1000)
        )
        const model = yield* K.model(provider, ep.url)
        const generated = yield* model.generate(K.request).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
        const streamed = K.finish(
          yield* K.collect(model.stream(K.request)).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        )
        for (const usage of [generated.usage, streamed.usage]) {
          for (const [field, value] of Object.entries(usage)) {
            assert.isTrue(
              Number.isSafeInteger(value) && (value as number) >= 0,
              `${field} = ${String(value)} in ${JSON.stringify(usage)}`
            )
          }
        }
        assert.strictEqual(logs.filter((l) => l.includes("invalid token counts")).length, 2, logs.join("\n"))
        assert.include(logs.join("\n"), provider)
      }))
  }

  it.scoped("through a turn: the step's recorded usage is never negative", () =>
    Effect.gen(function*() {
      const ep = yield* K.endpoint(
        K.reply(200, { "content-type": "application/json" }, bodies["openai-compatible"].json)
      )
      const model = yield* K.model("openai-compatible", ep.url)
      const agent = yield* TestAgent.make({ model })
      const result = yield* agent.run("go")
      const usage = result.responseMessage?.metadata["swarm.usage"] as Record<string, number>
      for (const value of Object.values(usage)) assert.isAtLeast(value, 0, JSON.stringify(usage))
    }))
})

describe("s17 models: SSE as a broken or hostile server writes it", () => {
  const variants: Record<string, { transform: (s: string) => string; split: number }> = {
    "CR-only line ends": { transform: (s) => s.replace(/\n/g, "\r"), split: 5 },
    "CR-only line ends, one byte per write": { transform: (s) => s.replace(/\n/g, "\r"), split: 1 },
    "CRLF line ends, one byte per write (a CRLF split between writes)": {
      transform: (s) => s.replace(/\n/g, "\r\n"),
      split: 1
    },
    "every byte its own write, multi-byte characters split": { transform: (s) => s, split: 1 },
    "data: without the space": { transform: (s) => s.replace(/data: /g, "data:"), split: 3 }
  }
  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    for (const [name, { split, transform }] of Object.entries(variants)) {
      it.scoped(`${provider}: ${name}`, () =>
        Effect.gen(function*() {
          const ep = yield* K.endpoint(K.pieces(transform(K.textSse[provider]("héllo wörld ✓")), split))
          const model = yield* K.model(provider, ep.url)
          const response = K.finish(yield* K.collect(model.stream(K.request)))
          assert.strictEqual(response.text, "héllo wörld ✓")
          assert.strictEqual(response.finishReason, "stop")
        }))
    }
  }
})

describe("s17 models: tool names the catalog does not have, or odd ones", () => {
  const odd = ["", "n".repeat(10_240), "\u001b[2J\u001b]0;pwned\u0007evil", "multi_tool_use.parallel"]
  const tools = [{
    item: { name: "real__tool", parameters: { type: "object" } },
    handler: () => Effect.succeed("fine")
  }]

  it.scoped("openai-compatible: each is a readable E_TOOL_NOT_IN_CATALOG, and the history replays", () =>
    Effect.gen(function*() {
      const ep = yield* K.endpoint(
        K.jsonReply({
          id: "c",
          choices: [{
            index: 0,
            message: {
              role: "assistant",
              content: null,
              tool_calls: odd.map((name, i) => ({
                id: `call_${i}`,
                type: "function",
                function: { name, arguments: "{}" }
              }))
            },
            finish_reason: "tool_calls"
          }]
        }),
        K.jsonReply({
          id: "c2",
          choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }]
        })
      )
      const model = yield* K.model("openai-compatible", ep.url)
      const agent = yield* TestAgent.make({ model, tools })
      const result = yield* agent.run("go")
      assert.strictEqual(TestAgent.replyText(result), "ok")
      const messages = (ep.bodies[1] as { messages: Array<Record<string, unknown>> }).messages
      // The history replays under names every provider accepts (OpenAI answers 400 to `multi_tool_use.parallel`).
      const replayed = (messages[1]!.tool_calls as Array<{ function: { name: string } }>).map((c) => c.function.name)
      for (const name of replayed) assert.match(name, /^[a-zA-Z0-9_-]{1,64}$/)
      assert.strictEqual(replayed[3], "multi_tool_use_parallel")
      // Each call is answered with an error the model can read whole: no control characters, no cut.
      const answers = messages.slice(2).map((m) => String(m.content))
      assert.strictEqual(answers.length, 4)
      for (const answer of answers) {
        assert.include(answer, "E_TOOL_NOT_IN_CATALOG")
        assert.include(answer, "is not available in the current Tool Catalog")
        assert.notMatch(answer, /[\u0000-\u0009\u000b-\u001f\u007f]/)
        assert.isBelow(answer.length, 1000)
      }
      // Nor do 10 KB names fill the runtime events.
      assert.isBelow(JSON.stringify(yield* agent.events).length, 20_000)
    }))

  it.scoped("anthropic: an odd name replays under a safe one; a catalog name is replayed as is", () =>
    Effect.gen(function*() {
      const ep = yield* K.endpoint(
        K.jsonReply({ id: "m2", type: "message", content: [{ type: "text", text: "ok" }], stop_reason: "end_turn" })
      )
      const model = yield* K.model("anthropic", ep.url)
      yield* model.generate({
        tools: [{ name: "my.tool" }],
        messages: [
          { role: "user", content: "go" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "t1", name: "multi_tool_use.parallel", arguments: {} }, {
              id: "t2",
              name: "my.tool",
              arguments: {}
            }]
          },
          { role: "tool", content: "ERROR", toolCallId: "t1", toolName: "multi_tool_use.parallel" },
          { role: "tool", content: "fine", toolCallId: "t2", toolName: "my.tool" }
        ]
      })
      const body = ep.bodies[0] as { messages: Array<{ content: Array<{ type: string; name?: string }> }> }
      const names = body.messages[1]!.content.flatMap((b) => b.type === "tool_use" ? [b.name] : [])
      assert.deepStrictEqual(names, ["multi_tool_use_parallel", "my.tool"])
    }))
})

describe("s17 models: two tool calls at one stream index stay two calls", () => {
  it.scoped("openai-compatible: a second id at index 0 starts a call of its own; its deltas follow it", () =>
    Effect.gen(function*() {
      const call = (id: string | undefined, name: string | undefined, args: string) => ({
        tool_calls: [{
          index: 0,
          ...(id === undefined ? {} : { id, type: "function" }),
          function: { ...(name === undefined ? {} : { name }), arguments: args }
        }]
      })
      const ep = yield* K.endpoint(K.pieces(
        K.chunk(call("a", "t__a", "{\"x\":")) + K.chunk(call(undefined, undefined, "1}")) +
          K.chunk(call("b", "t__b", "{\"y\":")) + K.chunk(call(undefined, undefined, "2}")) +
          K.chunk({}, "tool_calls") + "data: [DONE]\n\n",
        1000
      ))
      const model = yield* K.model("openai-compatible", ep.url)
      const response = K.finish(yield* K.collect(model.stream(K.request)))
      assert.deepStrictEqual(response.toolCalls, [
        { id: "a", name: "t__a", arguments: { x: 1 } },
        { id: "b", name: "t__b", arguments: { y: 2 } }
      ])
    }))

  it.scoped("anthropic: a second tool_use block at index 0 starts a call of its own", () =>
    Effect.gen(function*() {
      const ep = yield* K.endpoint(K.pieces(
        [
          { type: "message_start", message: { id: "m", usage: { input_tokens: 3 } } },
          { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "a", name: "t__a" } },
          { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "{\"x\":1}" } },
          { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "b", name: "t__b" } },
          { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "{\"y\":2}" } },
          { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 7 } },
          { type: "message_stop" }
        ].map((e) => `data: ${JSON.stringify(e)}\n\n`).join(""),
        1000
      ))
      const model = yield* K.model("anthropic", ep.url)
      const response = K.finish(yield* K.collect(model.stream(K.request)))
      assert.deepStrictEqual(response.toolCalls, [
        { id: "a", name: "t__a", arguments: { x: 1 } },
        { id: "b", name: "t__b", arguments: { y: 2 } }
      ])
    }))
})

describe("s17 models: HTTP 200 with an error JSON body, and JSON where a stream was asked for", () => {
  const overloaded = { type: "error", error: { type: "overloaded_error", message: "Overloaded, try later" } }
  for (const provider of ["anthropic", "openai", "openai-compatible"] as const) {
    it.scoped(`${provider}: stream answered with an error JSON body is that error, typed`, () =>
      Effect.gen(function*() {
        const ep = yield* K.endpoint(
          K.jsonReply(overloaded),
          K.jsonReply({ error: { type: "authentication_error", message: "invalid x-api-key" } })
        )
        const model = yield* K.model(provider, ep.url)
        const unavailable = yield* Effect.flip(K.collect(model.stream(K.request)))
        assert.strictEqual(unavailable._tag, "ModelUnavailable")
        assert.include(unavailable.message, "Overloaded, try later")
        const auth = yield* Effect.flip(K.collect(model.stream(K.request)))
        assert.strictEqual(auth._tag, "ModelAuthFailed")
      }))

    it.scoped(`${provider}: stream answered with a whole JSON answer says the endpoint does not stream`, () =>
      Effect.gen(function*() {
        const ep = yield* K.endpoint(K.jsonReply({ id: "c", choices: [], output: [], content: [] }))
        const model = yield* K.model(provider, ep.url)
        const error = yield* Effect.flip(K.collect(model.stream(K.request)))
        assert.strictEqual(error._tag, "ModelProtocolError")
        assert.include(error.message, "not an event stream")
      }))

    it.scoped(`${provider}: an event stream sent with content-type application/json is still read`, () =>
      Effect.gen(function*() {
        const ep = yield* K.endpoint(
          K.pieces(K.textSse[provider]("fine"), 7, { "content-type": "application/json" })
        )
        const model = yield* K.model(provider, ep.url)
        assert.strictEqual(K.finish(yield* K.collect(model.stream(K.request))).text, "fine")
      }))
  }

  it.scoped("anthropic generate: HTTP 200 with {type: error} is ModelUnavailable (overloaded), not unreadable", () =>
    Effect.gen(function*() {
      const ep = yield* K.endpoint(K.jsonReply(overloaded))
      const model = yield* K.model("anthropic", ep.url)
      const error = yield* Effect.flip(model.generate(K.request))
      assert.strictEqual(error._tag, "ModelUnavailable")
      assert.include(error.message, "HTTP 529")
      assert.include(error.message, "Overloaded, try later")
    }))
})
