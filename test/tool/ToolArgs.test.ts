import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { ToolArgs, ToolError } from "effect-swarm"
import type { ToolCatalog } from "effect-swarm"

const validatorOf = (schema: ToolCatalog.JsonSchema) => Either.getOrThrow(ToolArgs.compile(schema))

describe("ToolArgs", () => {
  it("reports missing, unexpected and mistyped properties in the reference's wording and order", () => {
    const validate = validatorOf({
      type: "object",
      properties: { command: { type: "string" }, n: { type: "integer" } },
      required: ["command"],
      additionalProperties: false
    })
    assert.deepStrictEqual(validate({ command: "pwd" }), [])
    assert.deepStrictEqual(validate({ n: 1.5, extra: 1 }), [
      { path: "args.command", message: "required property is missing" },
      { path: "args.extra", message: "unexpected property" },
      { path: "args.n", message: "expected integer but got number" }
    ])
    assert.deepStrictEqual(validate({ command: 123 }), [
      { path: "args.command", message: "expected string but got integer" }
    ])
  })

  it("checks nested required and additionalProperties, items paths and enums", () => {
    const validate = validatorOf({
      type: "object",
      properties: {
        user: {
          type: "object",
          properties: { name: { type: "string" }, role: { enum: ["admin", "dev"] } },
          required: ["name"],
          additionalProperties: false
        },
        arr: { type: "array", items: { type: "number" } }
      }
    })
    assert.deepStrictEqual(validate({ user: { role: "boss", x: 1 }, arr: [1, "2"] }), [
      { path: "args.user.name", message: "required property is missing" },
      { path: "args.user.x", message: "unexpected property" },
      { path: "args.user.role", message: "value must be one of [\"admin\", \"dev\"]" },
      { path: "args.arr[1]", message: "expected number but got string" }
    ])
  })

  it("checks numeric and string constraints, oneOf and $ref (which the reference ignored)", () => {
    const validate = validatorOf({
      type: "object",
      $defs: { port: { type: "integer", minimum: 1, maximum: 65535 } },
      properties: {
        port: { $ref: "#/$defs/port" },
        name: { type: "string", minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
        target: { oneOf: [{ type: "string" }, { type: "object", required: ["host"] }] }
      }
    })
    assert.deepStrictEqual(validate({ port: 80, name: "abc", target: "x" }), [])
    const issues = validate({ port: 70000, name: "A", target: { nohost: true } })
    const paths = issues.map((i) => i.path)
    assert.deepStrictEqual(paths.sort(), ["args.name", "args.name", "args.port", "args.target"].sort())
    assert.isTrue(issues.some((i) => i.path === "args.port" && i.message.includes("<= 65535")))
    assert.isTrue(issues.some((i) => i.path === "args.target" && i.message.includes("oneOf")))
    // The failing oneOf branches are summarised by the oneOf issue, not listed one by one.
    assert.isFalse(issues.some((i) => i.path === "args.target.host"))
  })

  it("reports a non-object argument value against an object schema", () => {
    const validate = validatorOf({ type: "object", properties: {} })
    assert.deepStrictEqual(validate("nope"), [{ path: "args", message: "expected object but got string" }])
  })

  it("formats at most five issues and counts the rest", () => {
    const issues = Array.from(
      { length: 7 },
      (_, i) => ({ path: `args.p${i}`, message: "required property is missing" })
    )
    const message = ToolArgs.formatIssues("t__x", issues)
    assert.strictEqual(
      message,
      "Invalid arguments for tool 't__x': args.p0: required property is missing; args.p1: required property is missing; " +
        "args.p2: required property is missing; args.p3: required property is missing; " +
        "args.p4: required property is missing; +2 more issues"
    )
  })

  it("suggests the required and allowed keys, (none) when empty", () => {
    assert.strictEqual(
      ToolArgs.suggestion({ type: "object", properties: { a: {}, b: {} }, required: ["a"] }),
      "Check the input schema and rewrite the arguments. required=[a], allowed=[a, b]"
    )
    assert.strictEqual(
      ToolArgs.suggestion({ type: "object" }),
      "Check the input schema and rewrite the arguments. required=[(none)], allowed=[(none)]"
    )
  })

  it("compiles each schema once: by identity, and by content for rebuilt copies", () => {
    const schema = { type: "object", properties: { q: { type: "string" } } } as const
    const a = ToolArgs.compile(schema)
    const b = ToolArgs.compile(schema)
    const c = ToolArgs.compile(JSON.parse(JSON.stringify(schema)))
    assert.isTrue(Either.isRight(a) && Either.isRight(b) && Either.isRight(c))
    assert.strictEqual(Either.getOrThrow(a), Either.getOrThrow(b))
    assert.strictEqual(Either.getOrThrow(a), Either.getOrThrow(c))
  })

  it("refuses a schema ajv cannot compile", () => {
    const r = ToolArgs.compile({ type: "object", properties: { a: { $ref: "#/$defs/missing" } } })
    assert.isTrue(Either.isLeft(r))
  })
})

describe("truncation properties", () => {
  it.prop(
    "a truncated message is never longer than the limit and keeps the start of the original",
    [FastCheck.string({ maxLength: 300 }), FastCheck.integer({ min: 0, max: 200 })],
    ([message, limit]) => {
      const out = ToolError.truncate(message, limit)
      if (message.length <= limit) return out === message
      const kept = out.endsWith(ToolError.truncationSuffix) && limit > ToolError.truncationSuffix.length
        ? out.slice(0, out.length - ToolError.truncationSuffix.length)
        : out
      return out.length === limit && message.startsWith(kept)
    }
  )
})
