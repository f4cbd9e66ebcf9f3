// Hostile review of the model providers (session 16): a model endpoint is external input.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { Model } from "effect-swarm"
import * as Server from "../model/server.js"

const keys = ConfigProvider.fromMap(
  new Map([["OPENAI_API_KEY", "sk-openai-secret"], ["ANTHROPIC_API_KEY", "sk-ant-secret"]])
)

const make = (
  provider: "openai" | "anthropic" | "openai-compatible",
  url: string,
  options: Record<string, number | string> = { maxRetries: 0 }
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
  }).pipe(Effect.withConfigProvider(keys))

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
