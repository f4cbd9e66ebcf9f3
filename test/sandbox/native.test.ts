import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { NativeTools, RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const tools = path.resolve(here, "..", "fixtures", "sandbox", "tools.mjs")

const Host = NativeTools.layer({
  callAgent: (target, input) => Effect.succeed({ from: target, echoed: input }),
  callWorkflow: (name) =>
    Effect.fail(new NativeTools.NativeCallFailed({ name: "WorkflowMissing", message: `no ${name}` }))
})

const provide = (runtimeType: string, nativeTools: RuntimeConfig.NativeTools, host: boolean) =>
  Effect.provide(
    ToolRuntime.layer.pipe(
      Layer.provide(
        RuntimeConfig.layer(
          runtimeType,
          RuntimeConfig.withEntrypointPath(tools),
          RuntimeConfig.withNativeTools(nativeTools)
        )
      ),
      Layer.provide(host ? Host : Layer.empty)
    )
  )

describe.each(["bun", "node", "deno"] as const)("native tools on %s", (runtimeType) => {
  it.live("ctx.callAgent round-trips through the host NativeTools service", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const result = yield* runtime.execute({ toolId: "agent", input: { q: "hi" } })
      assert.deepStrictEqual(result, {
        hasAgent: true,
        hasWorkflow: true,
        reply: { from: "helper", echoed: { q: "hi" } }
      })
      const failed = yield* Effect.flip(runtime.execute({ toolId: "workflow", input: 1 }))
      assert.isTrue(failed._tag === "ToolThrew" && failed.name === "WorkflowMissing" && failed.message === "no flow")
    }).pipe(provide(runtimeType, { callAgents: true, callWorkflows: true }, true)))

  it.live("ctx.nativeTools says which bridges are on; an undeclared one is refused naming the tool and the field", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const result = yield* runtime.execute({ toolId: "agent", input: null })
      assert.deepStrictEqual(result, { hasAgent: false, hasWorkflow: false, reply: null })
      const refused = yield* Effect.flip(runtime.execute({ toolId: "agentAnyway", input: 1 }))
      assert.strictEqual(refused._tag, "ToolThrew")
      if (refused._tag !== "ToolThrew") return
      assert.strictEqual(refused.name, "NativeToolDisabled")
      assert.strictEqual(
        refused.message,
        "tool \"agentAnyway\" may not use ctx.callAgent: it is not in the tool's spec.runtime.nativeTools"
      )
      assert.match(refused.suggestion ?? "", /spec\.runtime\.nativeTools: \[callAgent\]/)
    }).pipe(provide(runtimeType, { callAgents: false, callWorkflows: false }, true)))
})

describe("native tools without a host service", () => {
  it.live("calls fail inside the tool with NativeToolsUnavailable", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const failed = yield* Effect.flip(runtime.execute({ toolId: "agent", input: null }))
      assert.isTrue(failed._tag === "ToolThrew" && failed.name === "NativeToolsUnavailable", JSON.stringify(failed))
    }).pipe(provide("node", { callAgents: true, callWorkflows: false }, false)))
})

describe("native tool calls carry their origin and options", () => {
  /** A fake host that records what each callAgent received. */
  const recording = () => {
    const calls: Array<{ target: string; input: unknown; call: NativeTools.AgentCall }> = []
    const layer = NativeTools.layer({
      callAgent: (target, input, call) => Effect.sync(() => calls.push({ target, input, call })).pipe(Effect.as("ok")),
      callWorkflow: () => Effect.succeed(null)
    })
    return { calls, layer }
  }
  const origin: NativeTools.Origin = {
    caller: "planner@main",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    tracestate: "es=1",
    callChain: ["router@main", "planner@main"]
  }

  describe.each(["bun", "node", "deno"] as const)("on %s", (runtimeType) => {
    it.live("the host gets caller, trace context, call chain, tool id and the tool's options", () => {
      const host = recording()
      return Effect.gen(function*() {
        const runtime = yield* ToolRuntime.ToolRuntime
        const withOptions = yield* runtime.execute({
          toolId: "agentWithOptions",
          input: {
            target: "coder",
            input: { task: "x" },
            options: { instanceKey: "k1", mode: "async", timeoutMs: 1500 }
          },
          origin
        })
        assert.strictEqual(withOptions, "ok")
        // Source-compatible: callAgent(target, input) still works, with the origin attached.
        yield* runtime.execute({ toolId: "agent", input: "hi", origin, pool: { size: 1 } })
        assert.deepStrictEqual(host.calls, [
          {
            target: "coder",
            input: { task: "x" },
            call: { ...origin, instanceKey: "k1", mode: "async", timeoutMs: 1500, toolId: "agentWithOptions" }
          },
          { target: "helper", input: "hi", call: { ...origin, toolId: "agent" } }
        ])
      }).pipe(
        Effect.provide(
          ToolRuntime.layer.pipe(
            Layer.provide(
              RuntimeConfig.layer(
                runtimeType,
                RuntimeConfig.withEntrypointPath(tools),
                RuntimeConfig.withNativeTools({ callAgents: true, callWorkflows: false })
              )
            ),
            Layer.provide(host.layer)
          )
        )
      )
    })
  })

  it.live("invalid options fail inside the tool with InvalidNativeOptions, and never reach the host", () => {
    const host = recording()
    return Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      for (const options of [{ mode: "later" }, { timeoutMs: -1 }, { instanceKey: 3 }, { extra: true }, "sync"]) {
        const failed = yield* Effect.flip(runtime.execute({
          toolId: "agentWithOptions",
          input: { target: "coder", input: null, options }
        }))
        assert.isTrue(
          failed._tag === "ToolThrew" && failed.name === "InvalidNativeOptions",
          JSON.stringify(failed).slice(0, 300)
        )
      }
      assert.deepStrictEqual(host.calls, [])
    }).pipe(
      Effect.provide(
        ToolRuntime.layer.pipe(
          Layer.provide(
            RuntimeConfig.layer(
              "node",
              RuntimeConfig.withEntrypointPath(tools),
              RuntimeConfig.withNativeTools({ callAgents: true, callWorkflows: false })
            )
          ),
          Layer.provide(host.layer)
        )
      )
    )
  })
})
