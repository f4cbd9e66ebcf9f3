/**
 * Model adapters (issue 14): the cost of encoding a request and decoding a response for a 20-message
 * conversation with 8 tools, per provider, against a canned body (no network), and `@effect/ai`
 * 0.37's `generateText` on the same input in the same run.
 *
 * Rows:
 * - `<provider> encode+decode`: our request body built and serialised (`JSON.stringify`), the canned
 *   body parsed (`JSON.parse`) and decoded into our response: the adapter's own cost per call.
 * - `<provider> generate (fake HttpClient)`: the whole `Model.generate` through the shared HTTP path
 *   (retry schedule, timeout, status check, body read) with an `HttpClient` that answers the canned body
 *   from memory: what a step pays besides the bytes on the wire.
 * - `@effect/ai generateText`: `LanguageModel.generateText` with the same prompt (built as `Prompt`
 *   values, the cheap way) and the same 8 tools as raw-JSON-Schema tools, over a provider that returns
 *   the canned response's parts from memory (so no wire format at all: a floor for @effect/ai).
 * - `effect-ai bridge generate`: our bridge over that same @effect/ai provider.
 *
 * Reported: µs per call, p50 and mean over tinybench samples, and CPU µs per call. Bundled with
 * esbuild and run by plain node, as bench/pipeline.ts explains.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Bench } from "tinybench"
import type * as Message from "../src/conversation/Message.js"
import type * as Http from "../src/model/internal/http.js"
import * as Model from "../src/model/Model.js"
import * as Anthropic from "../src/model/providers/Anthropic.js"
import * as EffectAi from "../src/model/providers/EffectAi.js"
import * as OpenAi from "../src/model/providers/OpenAi.js"
import * as OpenAiCompatible from "../src/model/providers/OpenAiCompatible.js"
import { runBundled } from "./bundled.js"

const tools = Array.from({ length: 8 }, (_, i) => ({
  name: `tool${i}__run`,
  description: `Tool number ${i}: does something useful with a query and options.`,
  parameters: {
    type: "object",
    properties: {
      query: { type: "string", description: "What to look for", maxLength: 200 },
      limit: { type: "integer", minimum: 1, maximum: 50 },
      mode: { type: "string", enum: ["fast", "thorough"] }
    },
    required: ["query"],
    additionalProperties: false
  }
}))

const filler = "The quick brown fox jumps over the lazy dog while the tests keep running. ".repeat(3)

const messages: Array<Message.MessageData> = []
for (let i = 0; messages.length < 20; i++) {
  if (i % 2 === 0) messages.push({ role: "user", content: `Question ${i}: ${filler}` })
  else {
    messages.push({
      role: "assistant",
      content: `Looking into it. ${filler}`,
      toolCalls: [{ id: `call_${i}`, name: `tool${i % 8}__run`, arguments: { query: `q${i}`, limit: 5 } }]
    })
    messages.push({
      role: "tool",
      content: `{"results":["${filler}"]}`,
      toolCallId: `call_${i}`,
      toolName: `tool${i % 8}__run`
    })
  }
}
messages.length = 20

const request: Model.Request = {
  system: "You are a careful assistant.",
  messages,
  tools,
  params: { temperature: 0.2, maxTokens: 1024 }
}

const usage = { prompt_tokens: 2000, completion_tokens: 40, total_tokens: 2040 }
const bodies = {
  "openai-compatible": JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    model: "llama3.1",
    choices: [{
      index: 0,
      finish_reason: "tool_calls",
      message: {
        role: "assistant",
        content: "Checking two things.",
        tool_calls: [
          {
            id: "call_a",
            type: "function",
            function: { name: "tool1__run", arguments: "{\"query\":\"a\",\"limit\":3}" }
          },
          { id: "call_b", type: "function", function: { name: "tool2__run", arguments: "{\"query\":\"b\"}" } }
        ]
      }
    }],
    usage
  }),
  openai: JSON.stringify({
    id: "resp_1",
    object: "response",
    status: "completed",
    model: "gpt-4.1",
    output: [
      {
        type: "message",
        id: "msg_1",
        role: "assistant",
        content: [{ type: "output_text", text: "Checking two things.", annotations: [] }]
      },
      {
        type: "function_call",
        id: "fc_a",
        call_id: "call_a",
        name: "tool1__run",
        arguments: "{\"query\":\"a\",\"limit\":3}"
      },
      { type: "function_call", id: "fc_b", call_id: "call_b", name: "tool2__run", arguments: "{\"query\":\"b\"}" }
    ],
    usage: { input_tokens: 2000, output_tokens: 40, total_tokens: 2040 }
  }),
  anthropic: JSON.stringify({
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4",
    stop_reason: "tool_use",
    content: [
      { type: "text", text: "Checking two things." },
      { type: "tool_use", id: "toolu_a", name: "tool1__run", input: { query: "a", limit: 3 } },
      { type: "tool_use", id: "toolu_b", name: "tool2__run", input: { query: "b" } }
    ],
    usage: { input_tokens: 2000, output_tokens: 40 }
  })
} as const

const settings = (provider: string): Http.Settings => ({
  provider,
  maxRetries: 2,
  timeout: Duration.minutes(10),
  baseDelay: Duration.seconds(1),
  maxRetryWait: Duration.minutes(1),
  keyHint: "KEY"
})

const ids = (n: number) => `call_x_${n}`

const codecs: Record<keyof typeof bodies, () => Effect.Effect<Model.Response, unknown>> = {
  "openai-compatible": () => {
    JSON.stringify(OpenAiCompatible.encode("llama3.1", request, false))
    return OpenAiCompatible.decode(settings("openai-compatible"), JSON.parse(bodies["openai-compatible"]), ids, 0)
  },
  openai: () => {
    JSON.stringify(OpenAi.encode("gpt-4.1", request, false))
    return OpenAi.decode(settings("openai"), JSON.parse(bodies.openai), 0)
  },
  anthropic: () => {
    JSON.stringify(Anthropic.encode("claude-sonnet-4", request, false))
    return Anthropic.decode(settings("anthropic"), JSON.parse(bodies.anthropic))
  }
}

// As a model server answers a whole (not streamed) call: its length declared, not compressed (the adapters then
// read the body at once; a chunked or compressed body is counted as it arrives, ~1 ms more a call).
const cannedClient = (body: string) =>
  HttpClient.make((req) =>
    Effect.succeed(
      HttpClientResponse.fromWeb(
        req,
        new Response(body, {
          headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }
        })
      )
    )
  )

// The @effect/ai side: the same tools as raw-JSON-Schema tools, the same prompt as Prompt values.
const passthrough = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const aiTools = tools.map((t) =>
  Tool.make(t.name, { description: t.description }).setParameters(passthrough.annotations({ jsonSchema: t.parameters }))
)
const toolkit: Toolkit.WithHandler<Record<string, (typeof aiTools)[number]>> = {
  tools: Object.fromEntries(aiTools.map((t) => [t.name, t])),
  handle: () => Effect.die("not resolved")
}
const prompt = EffectAi.promptOf(request)
const aiParts = [
  { type: "text", text: "Checking two things." },
  { type: "tool-call", id: "call_a", name: "tool1__run", params: { query: "a", limit: 3 } },
  { type: "tool-call", id: "call_b", name: "tool2__run", params: { query: "b" } },
  { type: "finish", reason: "tool-calls", usage: { inputTokens: 2000, outputTokens: 40, totalTokens: 2040 } }
] as const
const aiLayer = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({ generateText: () => Effect.succeed([...aiParts]), streamText: () => Stream.die("unused") })
)

const round = (x: number) => Math.round(x * 10) / 10

const measure = async (name: string, fn: () => unknown) => {
  const bench = new Bench({ time: 1500, warmupTime: 300 })
  bench.add(name, fn as () => Promise<unknown>)
  await bench.run()
  const r = bench.tasks[0]!.result as { latency: { p50?: number; mean: number } } | undefined
  if (r === undefined) throw new Error(`no result for ${name}`)
  const start = process.cpuUsage()
  const n = 2000
  for (let i = 0; i < n; i++) await fn()
  const used = process.cpuUsage(start)
  return {
    task: name,
    "p50 µs/call": round((r.latency.p50 ?? r.latency.mean) * 1000),
    "mean µs/call": round(r.latency.mean * 1000),
    "CPU µs/call": round((used.user + used.system) / n)
  }
}

const measureAll = async (): Promise<void> => {
  const rows: Array<Record<string, string | number>> = []
  for (const provider of ["openai-compatible", "openai", "anthropic"] as const) {
    const check = Effect.runSync(codecs[provider]())
    if (check.toolCalls.length !== 2) throw new Error(`${provider}: expected 2 tool calls`)
    rows.push(await measure(`${provider} encode+decode`, () => Effect.runSync(codecs[provider]())))
    const model = Effect.runSync(Model.make(
      {
        metadata: { name: "b" },
        spec: { provider, model: "m", endpoint: "http://127.0.0.1:9/v1", apiKey: { _tag: "Value", value: "k" } }
      },
      { httpClient: cannedClient(bodies[provider]) }
    ))
    rows.push(await measure(`${provider} generate (fake HttpClient)`, () => Effect.runPromise(model.generate(request))))
    const client = cannedClient(bodies[provider])
    const floor = HttpClientRequest.post("http://127.0.0.1:9/v1/x").pipe(
      HttpClientRequest.bodyText(JSON.stringify(OpenAiCompatible.encode("m", request, false)), "application/json")
    )
    rows.push(
      await measure(
        `  floor: fake HttpClient post + read body`,
        () => Effect.runPromise(Effect.flatMap(client.execute(floor), (r) => r.text))
      )
    )
  }
  const runtime = ManagedRuntime.make(aiLayer)
  const ai = LanguageModel.generateText({ prompt, toolkit, disableToolCallResolution: true })
  const r = await runtime.runPromise(ai)
  if (r.toolCalls.length !== 2) throw new Error("@effect/ai: expected 2 tool calls")
  rows.push(await measure("@effect/ai generateText (8 tools, no wire format)", () => runtime.runPromise(ai)))
  const bridge = await runtime.runPromise(EffectAi.make())
  rows.push(
    await measure("effect-ai bridge generate (same provider)", () => Effect.runPromise(bridge.generate(request)))
  )
  await runtime.dispose()
  console.table(rows)
}

const childFlag = "EFFECT_SWARM_BENCH_MODEL_CHILD"

/** Measures on the bundled code (see bench/bundled.ts). */
export const run = (): Promise<void> => runBundled({ entry: import.meta.url, name: "model", childFlag, measureAll })

if (process.env[childFlag] === "1") await measureAll()
else if (import.meta.url === `file://${process.argv[1]}`) await run()
