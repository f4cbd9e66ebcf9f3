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

  it.live("the functions are absent when native tools are off", () =>
    Effect.gen(function*() {
      const runtime = yield* ToolRuntime.ToolRuntime
      const result = yield* runtime.execute({ toolId: "agent", input: null })
      assert.deepStrictEqual(result, { hasAgent: false, hasWorkflow: false, reply: null })
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
