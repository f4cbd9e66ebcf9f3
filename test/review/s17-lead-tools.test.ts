/**
 * Session 17 (lead): a tool handler that throws, rejects with, dies with or returns a value nothing can look
 * at (a Proxy whose every trap throws) gives the model a readable tool error, and the call settles.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ToolExecutor, ToolRegistry } from "effect-swarm"

const Tools = ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer))

const hostile = () =>
  new Proxy({}, {
    get: () => {
      throw new Error("trap")
    },
    getPrototypeOf: () => {
      throw new Error("trap")
    },
    has: () => {
      throw new Error("trap")
    },
    ownKeys: () => {
      throw new Error("trap")
    },
    getOwnPropertyDescriptor: () => {
      throw new Error("trap")
    }
  })

const call = (toolName: string) =>
  Effect.flatMap(ToolExecutor.ToolExecutor, (executor) =>
    executor.execute({
      toolCallId: "call-1",
      toolName,
      args: {},
      catalog: [{ name: toolName }],
      context: {
        agentName: "alpha",
        instanceKey: "inst-01",
        turnId: "turn-1",
        trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
      }
    }))

const loose = (f: () => unknown) => f as unknown as ToolRegistry.ToolHandler

describe("tool handlers handing back values nothing can inspect (s17 lead)", () => {
  for (
    const [name, handler] of [
      [
        "throws",
        loose(() => {
          throw hostile()
        })
      ],
      ["rejects", loose(() => Promise.reject(hostile()))],
      ["dies", () => Effect.die(hostile())],
      ["fails", loose(() => Effect.fail(hostile()))]
    ] as const
  ) {
    it.effect(`a handler that ${name} with a Proxy: a tool error the model can read`, () =>
      Effect.gen(function*() {
        const registry = yield* ToolRegistry.ToolRegistry
        yield* registry.register({ name: `t__${name}` }, handler)
        const result = yield* call(`t__${name}`).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(result.status, "error")
        assert.isString(result.error?.message)
        assert.isTrue(JSON.stringify(result).length < 10_000)
      }).pipe(Effect.provide(Tools)), 20_000)
  }

  it.effect(
    "a handler that returns a Proxy: a tool error naming what went wrong, not a defect",
    () =>
      Effect.gen(function*() {
        const registry = yield* ToolRegistry.ToolRegistry
        yield* registry.register({ name: "t__returns" }, loose(() => hostile()))
        const result = yield* call("t__returns").pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(result.status, "error")
        assert.isString(result.error?.message)
        assert.isTrue(JSON.stringify(result).length < 10_000)
      }).pipe(Effect.provide(Tools)),
    20_000
  )
})
