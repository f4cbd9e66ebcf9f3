import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Option } from "effect"
import { ToolRegistry } from "effect-swarm"

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("ToolRegistry", () => {
  it.effect("registers, looks up, unregisters; catalog in insertion order", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry.ToolRegistry
      yield* registry.register({ name: "b__one" }, () => Effect.succeed(1))
      yield* registry.register({ name: "a__two" }, () => Effect.succeed(2))
      assert.deepStrictEqual((yield* registry.catalog).map((i) => i.name), ["b__one", "a__two"])
      assert.isTrue(Option.isSome(yield* registry.lookup("a__two")))
      assert.isTrue(yield* registry.unregister("b__one"))
      assert.isFalse(yield* registry.unregister("b__one"))
      assert.deepStrictEqual((yield* registry.catalog).map((i) => i.name), ["a__two"])
      assert.isTrue(Option.isNone(yield* registry.lookup("b__one")))
    }).pipe(Effect.provide(ToolRegistry.layer)))

  it.effect("a duplicate replaces the earlier handler in place and says so", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const registry = yield* ToolRegistry.ToolRegistry
      yield* registry.register({ name: "x__a" }, () => Effect.succeed("first"))
      yield* registry.register({ name: "x__b" }, () => Effect.succeed("b"))
      yield* registry.register({ name: "x__a", description: "second" }, () => Effect.succeed("second"))
      const entry = registry.unsafeGet("x__a")!
      assert.strictEqual(entry.item.description, "second")
      assert.deepStrictEqual((yield* registry.catalog).map((i) => i.name), ["x__a", "x__b"])
      assert.isTrue(logs.lines.some((l) => l.startsWith("WARN") && l.includes("x__a was registered again")))
    }).pipe(Effect.provide([ToolRegistry.layer, logs.layer]))
  })

  it.effect("refuses invalid tool names", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry.ToolRegistry
      const error = yield* Effect.flip(registry.register({ name: "nope" }, () => Effect.succeed(1)))
      assert.strictEqual(error._tag, "ToolNameError")
      assert.include(error.message, "invalid tool name: nope")
    }).pipe(Effect.provide(ToolRegistry.layer)))
})
