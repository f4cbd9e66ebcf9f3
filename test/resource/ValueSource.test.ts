import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option, Schema } from "effect"
import { ValueSource } from "effect-swarm"

const decode = Schema.decodeUnknownEither(ValueSource.ValueSource)

describe("ValueSource", () => {
  it("decodes the three exclusive forms", () => {
    assert.deepStrictEqual(decode({ value: "x" }), Either.right({ _tag: "Value" as const, value: "x" }))
    assert.deepStrictEqual(
      decode({ valueFrom: { env: "API_KEY" } }),
      Either.right({ _tag: "Env" as const, env: "API_KEY", required: true })
    )
    assert.deepStrictEqual(
      decode({ valueFrom: { env: "REGION", required: false } }),
      Either.right({ _tag: "Env" as const, env: "REGION", required: false })
    )
    assert.deepStrictEqual(
      decode({ valueFrom: { secretRef: { ref: "Secret/slack", key: "bot-token" } } }),
      Either.right({ _tag: "Secret" as const, secret: "slack", key: "bot-token" })
    )
  })

  it("rejects mixed and malformed forms", () => {
    for (
      const bad of [
        { value: "x", valueFrom: { env: "X" } },
        { valueFrom: { env: "X", secretRef: { ref: "Secret/y" } } },
        { valueFrom: { env: "not a name" } },
        { valueFrom: { secretRef: { ref: "Tool/y" } } },
        { valueFrom: {} },
        "plain",
        { vaule: "x" }
      ]
    ) assert.isTrue(Either.isLeft(decode(bad)), JSON.stringify(bad))
  })

  it.effect("resolves through Config, blank counts as missing, optional env may be unset", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(
        new Map([["API_KEY", "k"], ["BLANK", "  "], ["EFFECT_SWARM_SECRET_SLACK_BOT_TOKEN", "s"]])
      )
      const run = <A, E>(e: Effect.Effect<A, E>) => e.pipe(Effect.withConfigProvider(provider))
      assert.deepStrictEqual(
        yield* run(ValueSource.resolve({ _tag: "Env", env: "API_KEY", required: true }, "f")),
        Option.some("k")
      )
      assert.deepStrictEqual(
        yield* run(ValueSource.resolve({ _tag: "Env", env: "NOPE", required: false }, "f")),
        Option.none()
      )
      const missing = yield* run(ValueSource.resolve({ _tag: "Env", env: "BLANK", required: true }, "f")).pipe(
        Effect.flip
      )
      assert.deepStrictEqual(missing.tried, ["BLANK"])
      assert.deepStrictEqual(
        yield* run(ValueSource.resolve({ _tag: "Secret", secret: "slack", key: "bot-token" }, "token")),
        Option.some("s")
      )
    }))
})
