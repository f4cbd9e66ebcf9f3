/**
 * Session 17 review: a provider's error text reaches the exported spans (the model client's retry warning is
 * an event of the model-call span; a failed call's error is the spans' status and exception) and may echo the
 * key it was sent, at any length. The observability layer redacts credentials and bounds the text before any
 * exporter reads a span.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, TestClock } from "effect"
import { AgentInstance, EventBus, Model, Turn } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as Server from "../model/server.js"
import { attrs, type OtlpSpan, receiver, spansOf } from "../observability/otlp.js"

const ref = { workspaceId: "ws", agentName: "leaky", instanceKey: "one" }

const secrets = ["sk-proj-AbCdEf1234567890SECRETKEY", "eyJhbGciOi.TOKENSECRET.sig", "AIzaSyTHISISAGOOGLEKEYSECRET00"]

/** An OpenAI-style error body holding the secrets, padded to 200,000 characters. */
const leakyBody = JSON.stringify({
  error: {
    message: `Incorrect API key provided: ${secrets[0]}. Sent header Authorization: Bearer ${secrets[1]}; ` +
      `fallback key=${secrets[2]}. ` + "x".repeat(200_000),
    type: "invalid_request_error",
    code: "rate_limit_exceeded"
  }
})

const reply = (status: number, headers: Record<string, string> = {}): Server.Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: leakyBody
})

const agentOn = (url: string) =>
  Effect.gen(function*() {
    const model = yield* Model.make({
      metadata: { name: "local" },
      spec: { provider: "openai-compatible", model: "llama3.1", endpoint: url }
    })
    return yield* AgentInstance.makeInMemory({ ref, model }).pipe(Effect.provide(EventBus.layer()))
  })

const noSecret = (spans: ReadonlyArray<OtlpSpan>) => {
  const exported = JSON.stringify(spans)
  for (const secret of secrets) assert.notInclude(exported, secret, `a secret was exported: ${secret}`)
  assert.notInclude(exported, "x".repeat(5_000), "the provider's text is bounded")
}

describe("s17 review: provider error text on spans", () => {
  it.scoped(
    "a retried 429 whose body echoes keys: the retry warning event is exported redacted and bounded",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const server = yield* Server.make(
          reply(429, { "retry-after": "2" }),
          Server.json("openai-compatible", "text.json")
        )
        const agent = yield* agentOn(server.url)
        const fiber = yield* Effect.fork(Effect.scoped(
          Turn.run(agent, "hello").pipe(
            Effect.provide(Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metrics: false }))
          )
        ))
        yield* Server.sleepingFor(2000)
        yield* TestClock.adjust("2 seconds")
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.finishReason, "text_response")

        const spans = spansOf(otlp.bodies)
        const warnings = spans.flatMap((s) => s.events ?? []).filter((e) => e.name.startsWith("model call failed"))
        assert.strictEqual(warnings.length, 1, JSON.stringify(spans.map((s) => s.events?.map((e) => e.name))))
        const error = attrs(warnings[0]!.attributes)["error"] as string
        // Scrubbed twice: by the model client where the error is made, and by the layer before export.
        assert.match(error, /Incorrect API key provided: (sk-)?\[redacted\]/)
        assert.include(error, "Bearer [redacted]")
        assert.include(error, "key=[redacted]")
        // The model client already keeps 500 characters of a provider's message; the layer bounds any text.
        assert.isAtMost(error.length, 1_100)
        noSecret(spans)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )

  it.scoped(
    "a 401 whose body echoes keys fails the call: status messages and exception events are redacted and bounded",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const server = yield* Server.make(reply(401))
        const agent = yield* agentOn(server.url)
        const exit = yield* Effect.scoped(
          Turn.run(agent, "hello").pipe(
            Effect.provide(Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metrics: false })),
            Effect.exit
          )
        )
        const spans = spansOf(otlp.bodies)
        const failed = spans.filter((s) => s.status?.code === 2)
        assert.isTrue(Exit.isFailure(exit) || exit.value.finishReason === "error")
        assert.isAbove(failed.length, 0, JSON.stringify(spans.map((s) => s.name)))
        assert.isTrue(
          failed.some((s) => (s.status?.message ?? "").includes("[redacted]")),
          JSON.stringify(failed.map((s) => s.status))
        )
        for (const span of failed) assert.isAtMost((span.status?.message ?? "").length, 1_100)
        noSecret(spans)
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: Duration.toMillis("60 seconds") }
  )

  it.scoped("any log line in a span: its text and annotations are bounded and redacted", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      yield* Effect.scoped(
        Effect.logWarning(`upstream said: ${"y".repeat(100_000)} api_key=${secrets[0]}`).pipe(
          Effect.annotateLogs({ body: `{"x-api-key": "${secrets[2]}", "pad": "${"z".repeat(50_000)}"}` }),
          Effect.withSpan("probe"),
          Effect.provide(Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metrics: false }))
        )
      )
      const [probe] = spansOf(otlp.bodies).filter((s) => s.name === "probe")
      const [event] = probe!.events!
      assert.isAtMost(event!.name.length, 1_100)
      assert.match(event!.name, /^upstream said: y+\.\.\. \(100\d{3} characters\)$/)
      const body = attrs(event!.attributes)["body"] as string
      assert.include(body, `"x-api-key": "[redacted]"`)
      assert.isAtMost(body.length, 1_100)
      noSecret([probe!])
    }).pipe(Effect.provide(NodeContext.layer)))
})
