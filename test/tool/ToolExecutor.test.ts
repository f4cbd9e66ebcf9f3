import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, TestClock } from "effect"
import { ToolError, ToolExecutor, ToolRegistry } from "effect-swarm"

const Tools = ToolExecutor.layer().pipe(Layer.provideMerge(ToolRegistry.layer))

const context = {
  agentName: "alpha",
  instanceKey: "inst-01",
  turnId: "turn-1",
  trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
}

const call = (toolName: string, args: unknown, extra?: Partial<ToolExecutor.ExecuteRequest>) =>
  Effect.flatMap(ToolExecutor.ToolExecutor, (executor) =>
    executor.execute({
      toolCallId: "call-1",
      toolName,
      args,
      catalog: [{ name: toolName }],
      context,
      ...extra
    }))

const register = (
  name: string,
  handler: ToolRegistry.ToolHandler,
  options?: ToolRegistry.EntryOptions,
  parameters?: ToolRegistry.Entry["item"]["parameters"]
) => Effect.flatMap(ToolRegistry.ToolRegistry, (registry) => registry.register({ name, parameters }, handler, options))

describe("ToolExecutor", () => {
  describe("handlers written in plain JavaScript", () => {
    it.effect("a Promise is awaited, its rejection is the tool's error; a plain value is the result", () =>
      Effect.gen(function*() {
        // Untyped JS: the registry's type says Effect, but a tool module's author returns what JS returns.
        const loose = (f: () => unknown) => f as unknown as ToolRegistry.ToolHandler
        yield* register("js__ok", loose(() => Promise.resolve({ done: true })))
        yield* register("js__bad", loose(() => Promise.reject(new Error("disk full"))))
        yield* register("js__value", loose(() => 42))
        const ok = yield* call("js__ok", {})
        assert.deepStrictEqual(ok, { toolCallId: "call-1", toolName: "js__ok", status: "ok", output: { done: true } })
        const bad = yield* call("js__bad", {})
        assert.strictEqual(bad.status, "error")
        assert.include(bad.error?.message, "disk full")
        assert.strictEqual((yield* call("js__value", {})).output, 42)
      }).pipe(Effect.provide(Tools)))

    it.effect("a Promise that never settles times out like an Effect", () =>
      Effect.gen(function*() {
        yield* register("js__hang", (() => new Promise(() => {})) as unknown as ToolRegistry.ToolHandler, {
          timeout: "5 seconds"
        })
        const fiber = yield* Effect.fork(call("js__hang", {}))
        yield* TestClock.adjust("5 seconds")
        const result = yield* Fiber.join(fiber)
        assert.strictEqual(result.error?.code, ToolError.codes.timeout)
      }).pipe(Effect.provide(Tools)))
  })

  describe("catalog guard (reference tool-catalog-guard)", () => {
    it.effect("blocks tools not in the catalog, allows them when listed", () =>
      Effect.gen(function*() {
        let calls = 0
        yield* register("bash__exec", () => Effect.sync(() => ++calls).pipe(Effect.as("ok")))
        const blocked = yield* call("bash__exec", {}, { catalog: [] })
        assert.strictEqual(blocked.status, "error")
        assert.strictEqual(blocked.error?.code, "E_TOOL_NOT_IN_CATALOG")
        assert.strictEqual(blocked.error?.name, "ToolNotInCatalogError")
        assert.strictEqual(
          blocked.error?.message,
          "Tool 'bash__exec' is not available in the current Tool Catalog. No tools are available in this step."
        )
        // The model reads which tools it does have, so it can correct itself (at most 20 names listed).
        const catalog = Array.from({ length: 25 }, (_, i) => ({ name: `t__n${i}` }))
        const named = yield* call("bash__exec", {}, { catalog })
        assert.include(named.error?.message, "Available tools: t__n0, t__n1,")
        assert.include(named.error?.message, "t__n19 and 5 more.")
        assert.notInclude(named.error?.message, "t__n20")
        assert.strictEqual(blocked.toolCallId, "call-1")
        assert.strictEqual(blocked.toolName, "bash__exec")
        assert.strictEqual(calls, 0)
        const ok = yield* call("bash__exec", {}, { catalog: [{ name: "bash__exec" }] })
        assert.deepStrictEqual(ok, { toolCallId: "call-1", toolName: "bash__exec", status: "ok", output: "ok" })
        const bypass = yield* call("bash__exec", {}, { catalog: [], allowRegistryBypass: true })
        assert.strictEqual(bypass.status, "ok")
        assert.strictEqual(calls, 2)
      }).pipe(Effect.provide(Tools)))

    it.effect("blocks schema-mismatched args before the handler runs", () =>
      Effect.gen(function*() {
        let calls = 0
        yield* register("bash__exec", () => Effect.sync(() => ++calls).pipe(Effect.as("ran")))
        const catalog = [{
          name: "bash__exec",
          parameters: {
            type: "object",
            properties: { command: { type: "string" } },
            required: ["command"],
            additionalProperties: false
          }
        }]
        const missing = yield* call("bash__exec", {}, { catalog })
        assert.strictEqual(missing.error?.code, "E_TOOL_INVALID_ARGS")
        assert.strictEqual(missing.error?.name, "ToolInputValidationError")
        assert.include(missing.error?.message, "required property is missing")
        assert.strictEqual(
          missing.error?.suggestion,
          "Check the input schema and rewrite the arguments. required=[command], allowed=[command]"
        )
        assert.include(
          (yield* call("bash__exec", { command: 123 }, { catalog })).error?.message,
          "expected string but got integer"
        )
        assert.include(
          (yield* call("bash__exec", { command: "pwd", extra: "x" }, { catalog })).error?.message,
          "unexpected property"
        )
        assert.strictEqual((yield* call("bash__exec", { command: "pwd" }, { catalog })).status, "ok")
        assert.strictEqual(calls, 1)
      }).pipe(Effect.provide(Tools)))
  })

  it.effect("E_TOOL_NOT_FOUND after the guard and validation", () =>
    Effect.gen(function*() {
      const r = yield* call("ghost__run", { a: 1 })
      assert.strictEqual(r.error?.code, "E_TOOL_NOT_FOUND")
      assert.strictEqual(r.error?.message, "Tool 'ghost__run' is not registered.")
      // Validation comes first: invalid args for an unregistered tool report the args.
      const v = yield* call("ghost__run", {}, {
        catalog: [{ name: "ghost__run", parameters: { type: "object", required: ["a"] } }]
      })
      assert.strictEqual(v.error?.code, "E_TOOL_INVALID_ARGS")
    }).pipe(Effect.provide(Tools)))

  it.effect("E_TOOL_INVALID_SCHEMA for a schema ajv cannot compile", () =>
    Effect.gen(function*() {
      yield* register("bad__schema", () => Effect.succeed(1))
      const r = yield* call("bad__schema", {}, {
        catalog: [{ name: "bad__schema", parameters: { type: "object", properties: { a: { $ref: "#/nowhere" } } } }]
      })
      assert.strictEqual(r.error?.code, "E_TOOL_INVALID_SCHEMA")
      // A tool an extension registered has no export in the bundle: the suggestion names both origins.
      assert.include(r.error?.suggestion, "api.tools.register")
    }).pipe(Effect.provide(Tools)))

  it.effect("validates with the registered schema when the catalog item has none", () =>
    Effect.gen(function*() {
      yield* register("reg__schema", () => Effect.succeed(1), undefined, { type: "object", required: ["q"] })
      const r = yield* call("reg__schema", {})
      assert.strictEqual(r.error?.code, "E_TOOL_INVALID_ARGS")
    }).pipe(Effect.provide(Tools)))

  describe("error messages (reference error-message-limit)", () => {
    it("truncates like the reference", () => {
      assert.strictEqual(ToolError.truncate("short", 100), "short")
      const cut = ToolError.truncate("a".repeat(200), 50)
      assert.strictEqual(cut.length, 50)
      assert.isTrue(cut.endsWith("... (truncated)"))
      assert.strictEqual(ToolError.truncate("abcdefghij", 5), "abcde")
      const exact = "b".repeat(50)
      assert.strictEqual(ToolError.truncate(exact, 50), exact)
      assert.strictEqual(ToolError.truncate("c".repeat(51), 50).length, 50)
      // The boundary where the suffix no longer fits.
      assert.strictEqual(ToolError.truncate("d".repeat(20), 15), "d".repeat(15))
      assert.strictEqual(ToolError.truncate("d".repeat(20), 16), "d... (truncated)")
    })

    it.effect("a 2000-char thrown error is cut to 1000 by default", () =>
      Effect.gen(function*() {
        yield* register("t__long", () => Effect.die(new Error("x".repeat(2000))))
        const r = yield* call("t__long", {})
        assert.strictEqual(r.status, "error")
        assert.strictEqual(r.error?.message.length, 1000)
        assert.isTrue(r.error?.message.endsWith("... (truncated)"))
      }).pipe(Effect.provide(Tools)))

    it.effect("the tool's errorMessageLimit applies, and the request's overrides it", () =>
      Effect.gen(function*() {
        yield* register("t__limited", () => Effect.die(new Error("y".repeat(500))), { errorMessageLimit: 100 })
        assert.strictEqual((yield* call("t__limited", {})).error?.message.length, 100)
        assert.strictEqual((yield* call("t__limited", {}, { errorMessageLimit: 40 })).error?.message.length, 40)
        // Executor-produced errors are truncated with the same limit.
        const guard = yield* call("t__limited", {}, { catalog: [], errorMessageLimit: 20 })
        assert.strictEqual(guard.error?.message, "Tool ... (truncated)")
      }).pipe(Effect.provide(Tools)))

    it.effect("copies code, suggestion and helpUrl from a thrown error", () =>
      Effect.gen(function*() {
        yield* register("t__coded", () =>
          Effect.die(Object.assign(new Error("bad"), {
            code: "E_TEST",
            suggestion: "Try again",
            helpUrl: "https://example.com/help"
          })))
        const r = yield* call("t__coded", {})
        assert.deepStrictEqual(r.error, {
          name: "Error",
          message: "bad",
          code: "E_TEST",
          suggestion: "Try again",
          helpUrl: "https://example.com/help"
        })
        assert.strictEqual(
          ToolExecutor.forModel(r),
          "ERROR: bad\nCODE: E_TEST\nSUGGESTION: Try again\nHELP: https://example.com/help"
        )
      }).pipe(Effect.provide(Tools)))

    it.effect("a thrown non-Error becomes 'Unknown tool execution error'", () =>
      Effect.gen(function*() {
        yield* register("t__str", () => Effect.die("string error"))
        const r = yield* call("t__str", {})
        assert.strictEqual(r.error?.message, "Unknown tool execution error")
      }).pipe(Effect.provide(Tools)))

    it.effect("an Effect handler's typed failure keeps its fields", () =>
      Effect.gen(function*() {
        yield* register("t__typed", () =>
          Effect.fail(
            new ToolError.ToolFailure({ name: "QuotaError", message: "quota exhausted", code: "E_QUOTA" })
          ))
        const r = yield* call("t__typed", {})
        assert.deepStrictEqual(r.error, { name: "QuotaError", message: "quota exhausted", code: "E_QUOTA" })
      }).pipe(Effect.provide(Tools)))

    it("formats errors for the model (T7)", () => {
      assert.strictEqual(ToolError.formatForModel(undefined), "ERROR: unknown tool error")
      assert.strictEqual(
        ToolError.formatForModel({ message: "m", code: "E_TOOL_INVALID_ARGS", suggestion: " ", helpUrl: "" }),
        "ERROR: m\nCODE: E_TOOL_INVALID_ARGS\nACTION: Fix arguments to match the tool schema, then call this tool again."
      )
    })
  })

  describe("timeouts under TestClock", () => {
    it.effect("interrupts an Effect handler at the default 60 s", () =>
      Effect.gen(function*() {
        let interrupted = false
        yield* register("t__never", () =>
          Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))))
        const fiber = yield* Effect.fork(call("t__never", {}))
        yield* TestClock.adjust("59 seconds")
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
        yield* TestClock.adjust("1 second")
        const r = yield* Fiber.join(fiber)
        assert.strictEqual(r.error?.code, "E_TOOL_TIMEOUT")
        assert.strictEqual(r.error?.message, "Tool 't__never' did not finish within 1m.")
        assert.isTrue(interrupted)
      }).pipe(Effect.provide(Tools)))

    it.effect("honours the tool's own timeout", () =>
      Effect.gen(function*() {
        yield* register("t__slow", () => Effect.sleep("10 seconds").pipe(Effect.as("late")), { timeout: "5 seconds" })
        yield* register("t__fast", () => Effect.sleep("3 seconds").pipe(Effect.as("done")), { timeout: "5 seconds" })
        const slow = yield* Effect.fork(call("t__slow", {}))
        const fast = yield* Effect.fork(call("t__fast", {}))
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual((yield* Fiber.join(slow)).error?.code, "E_TOOL_TIMEOUT")
        assert.deepStrictEqual((yield* Fiber.join(fast)).output, "done")
      }).pipe(Effect.provide(Tools)))

    it.effect("interrupting the caller interrupts the handler (no result)", () =>
      Effect.gen(function*() {
        let interrupted = false
        yield* register("t__hold", () =>
          Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))))
        const fiber = yield* Effect.fork(call("t__hold", {}))
        yield* TestClock.adjust("1 second")
        yield* Fiber.interrupt(fiber)
        assert.isTrue(interrupted)
      }).pipe(Effect.provide(Tools)))
  })

  describe("outputs", () => {
    it.effect("normalises outputs to JSON", () =>
      Effect.gen(function*() {
        class Thing {
          toString() {
            return "a thing"
          }
        }
        yield* register("t__out", () =>
          Effect.succeed({ u: undefined, n: Infinity, d: new Date(0), t: new Thing(), big: 10n, list: [NaN, "s"] }))
        const r = yield* call("t__out", {})
        assert.deepStrictEqual(r.output, {
          u: null,
          n: "Infinity",
          d: "1970-01-01T00:00:00.000Z",
          t: "a thing",
          big: "10",
          list: ["NaN", "s"]
        })
        yield* register("t__undef", () =>
          Effect.succeed(undefined))
        assert.strictEqual((yield* call("t__undef", {})).output, null)
      }).pipe(Effect.provide(Tools)))

    it("keeps an own \"__proto__\" key as data, never as the prototype", () => {
      const parsed = JSON.parse("{\"__proto__\": {\"polluted\": true}, \"ok\": 1}") as Record<string, unknown>
      const out = ToolExecutor.toJsonValue(parsed) as Record<string, unknown>
      assert.strictEqual(Object.getPrototypeOf(out), Object.prototype)
      assert.isUndefined((out as { polluted?: boolean }).polluted)
      assert.deepStrictEqual(Object.keys(out), ["__proto__", "ok"])
      assert.strictEqual(JSON.stringify(out), "{\"__proto__\":{\"polluted\":true},\"ok\":1}")
    })

    it("survives cycles", () => {
      const a: Record<string, unknown> = { name: "a" }
      a.self = a
      assert.deepStrictEqual(ToolExecutor.toJsonValue(a), { name: "a", self: "[Circular]" })
    })

    it.effect("caps large outputs with a marker (configurable)", () =>
      Effect.gen(function*() {
        yield* register("t__big", () => Effect.succeed({ blob: "z".repeat(5000) }))
        yield* register("t__small", () => Effect.succeed({ blob: "z".repeat(100) }))
        const big = yield* call("t__big", {})
        assert.strictEqual(big.status, "ok")
        const text = big.output as string
        assert.isTrue(typeof text === "string")
        assert.isTrue(Buffer.byteLength(text) <= 1000)
        assert.isTrue(text.startsWith("{\"blob\":\"zzz"))
        assert.include(text, "output truncated: 5011 bytes of JSON, limit 1000")
        assert.deepStrictEqual((yield* call("t__small", {})).output, { blob: "z".repeat(100) })
      }).pipe(
        Effect.provide(ToolExecutor.layer({ maxOutputBytes: 1000 }).pipe(Layer.provideMerge(ToolRegistry.layer)))
      ))

    it("caps multi-byte strings without splitting a character", () => {
      const out = ToolExecutor.capOutput("é".repeat(1000), 200) as string
      assert.isTrue(Buffer.byteLength(out) <= 200)
      assert.isFalse(out.includes("\uFFFD"))
      assert.strictEqual(ToolExecutor.capOutput("short", 200), "short")
    })

    it("caps by the JSON text's bytes: escaped control characters count 6 each, small values are kept as they are", () => {
      // 40 units whose JSON is 242 bytes: over a 200-byte cap although 40 x 3 + 2 is under it.
      const controls = "\u0001".repeat(40)
      const out = ToolExecutor.capOutput(controls, 200) as string
      assert.isTrue(Buffer.byteLength(out) <= 200)
      assert.include(out, "output truncated: 242 bytes of JSON, limit 200")
      const small = { ok: true, n: [1, 2.5, null], s: "x".repeat(20) }
      assert.strictEqual(ToolExecutor.capOutput(small, 200), small)
      // Just over the cap (nested): capped, not kept.
      const nested = { a: [{ b: "y".repeat(190) }] }
      assert.include(ToolExecutor.capOutput(nested, 200) as string, "output truncated: 206 bytes of JSON, limit 200")
    })
  })

  it.effect("passes the call context to the handler", () =>
    Effect.gen(function*() {
      yield* register("t__ctx", (args, ctx) => Effect.succeed({ args, ctx: { ...ctx } }))
      const r = yield* call("t__ctx", { q: 1 }, {
        context: { ...context, stepIndex: 2, workdir: "/work/dir" }
      })
      const out = r.output as any
      assert.deepStrictEqual(out.args, { q: 1 })
      assert.strictEqual(out.ctx.toolCallId, "call-1")
      assert.strictEqual(out.ctx.toolName, "t__ctx")
      assert.strictEqual(out.ctx.traceId, context.trace.traceId)
      assert.strictEqual(out.ctx.workdir, "/work/dir")
      assert.strictEqual(out.ctx.stepIndex, 2)
    }).pipe(Effect.provide(Tools)))
})
