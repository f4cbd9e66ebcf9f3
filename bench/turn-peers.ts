/**
 * The peers of bench/turn.ts, doing the same turn in the same process: 10 steps, each a model response
 * calling one no-op tool, with a fake model (no I/O). The Vercel AI SDK 6 (`generateText` with
 * `stopWhen: stepCountIs(10)` on `MockLanguageModelV3` from `ai/test`) and the OpenAI Agents SDK (`run`
 * with `maxTurns: 10` on a fake `Model`; the run ends with its MaxTurnsExceededError, as our turn ends
 * with `max_steps`). Neither persists anything: compare them with our in-memory row.
 */
import {
  Agent,
  MaxTurnsExceededError,
  type Model,
  run,
  setTracingDisabled,
  tool as agentsTool,
  Usage
} from "@openai/agents"
import { generateText, jsonSchema, stepCountIs, tool } from "ai"
import { MockLanguageModelV3 } from "ai/test"

const parameters = () => ({
  type: "object" as const,
  properties: { query: { type: "string" as const, maxLength: 100 }, n: { type: "integer" as const, minimum: 0 } },
  required: ["query", "n"],
  additionalProperties: false as const
})

/** One Vercel AI SDK turn of `steps` steps; resolves to the number of steps it ran. */
export const vercel = (steps: number) => {
  let n = 0
  const model = new MockLanguageModelV3({
    doGenerate: () =>
      Promise.resolve({
        content: [{
          type: "tool-call" as const,
          toolCallId: `call-${n}`,
          toolName: "noop",
          input: JSON.stringify({ query: "ping", n: n++ })
        }],
        finishReason: { unified: "tool-calls" as const, raw: undefined },
        usage: {
          inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 5, text: 5, reasoning: 0 }
        },
        warnings: []
      })
  })
  const tools = {
    noop: tool({
      description: "does nothing",
      inputSchema: jsonSchema<{ query: string; n: number }>(parameters()),
      execute: () => Promise.resolve({ ok: true })
    })
  }
  return async () => {
    n = 0
    model.doGenerateCalls.length = 0
    const result = await generateText({ model, tools, prompt: "Run the tool ten times.", stopWhen: stepCountIs(steps) })
    return result.steps.length
  }
}

/** One OpenAI Agents SDK run of `steps` model turns; resolves to the number of model calls. */
export const openaiAgents = (steps: number) => {
  setTracingDisabled(true)
  let n = 0
  const model: Model = {
    getResponse: () =>
      Promise.resolve({
        usage: new Usage({ requests: 1, inputTokens: 10, outputTokens: 5, totalTokens: 15 }),
        output: [{
          type: "function_call",
          callId: `call-${n}`,
          name: "noop",
          arguments: JSON.stringify({ query: "ping", n: n++ }),
          status: "completed"
        }]
      }),
    getStreamedResponse: () => {
      throw new Error("not used")
    }
  }
  const agent = new Agent({
    name: "bench",
    instructions: "You run the tool ten times.",
    model,
    tools: [agentsTool({
      name: "noop",
      description: "does nothing",
      // The same JSON Schema, non-strict (its types only accept a zod object or a strict schema literal).
      parameters: parameters() as never,
      strict: false,
      execute: () => Promise.resolve({ ok: true })
    })]
  })
  return async () => {
    n = 0
    try {
      await run(agent, "Run the tool ten times.", { maxTurns: steps })
    } catch (e) {
      if (!(e instanceof MaxTurnsExceededError)) throw e
    }
    return n
  }
}
