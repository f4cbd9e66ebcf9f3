import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { NativeTools, RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as Middleware from "effect-swarm/pipeline/Middleware"
import * as Resource from "effect-swarm/resource/Resource"
import * as SandboxedTools from "effect-swarm/sandbox/SandboxedTools"
import type { ToolContext } from "effect-swarm/tool/ToolRegistry"
import * as ToolRegistry from "effect-swarm/tool/ToolRegistry"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as YAML from "yaml"

const here = path.dirname(fileURLToPath(import.meta.url))
const bundleRoot = path.resolve(here, "..", "fixtures", "sandbox")

const decodeTool = (yaml: string) => Schema.decodeUnknownSync(Resource.Tool)(YAML.parse(yaml))

const sandboxed = decodeTool(`
apiVersion: effect-swarm/v1
kind: Tool
metadata:
  name: sbx
spec:
  entry: tools.mjs
  exports:
    - name: echo
      description: Echo the input and the call context
      parameters: { type: object }
    - name: throws
      description: Always throws
      parameters: { type: object }
    - name: loop
      description: Never returns
      parameters: { type: object }
    - name: whichRuntime
      description: Names the runtime it runs in
      parameters: { type: object }
  runtime:
    type: deno
    timeout: 3 seconds
    pool: { size: 1 }
`)

const inProcess = decodeTool(`
apiVersion: effect-swarm/v1
kind: Tool
metadata:
  name: local
spec:
  entry: tools.mjs
  exports:
    - name: echo
      description: Echo
      parameters: { type: object }
`)

const context = (toolName: string): ToolContext => ({
  agentName: "planner",
  instanceKey: "main",
  turnId: "turn-1",
  toolCallId: "call-1",
  toolName,
  trace: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" },
  traceId: "0af7651916cd43dd8448eb211c80319c",
  workdir: "/tmp"
})

const Live = Layer.mergeAll(
  ToolRegistry.layer,
  ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node")))
)

describe("SandboxedTools", () => {
  it.live("registers a Tool with spec.runtime as sandboxed handlers (runtime block over the layer config)", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* SandboxedTools.register(sandboxed, bundleRoot))
      assert.isFalse(yield* SandboxedTools.register(inProcess, bundleRoot))
      const registry = yield* ToolRegistry.ToolRegistry
      assert.deepStrictEqual((yield* registry.catalog).map((i) => i.name), [
        "sbx__echo",
        "sbx__throws",
        "sbx__loop",
        "sbx__whichRuntime"
      ])
      const which = Option.getOrThrow(yield* registry.lookup("sbx__whichRuntime"))
      assert.strictEqual(yield* which.handler({}, context("sbx__whichRuntime")), "deno")
      const echo = Option.getOrThrow(yield* registry.lookup("sbx__echo"))
      const result = yield* echo.handler({ a: 1 }, context("sbx__echo"))
      assert.deepStrictEqual(result, {
        input: { a: 1 },
        config: {
          agentName: "planner",
          instanceKey: "main",
          turnId: "turn-1",
          toolCallId: "call-1",
          toolName: "sbx__echo",
          traceId: "0af7651916cd43dd8448eb211c80319c",
          workdir: "/tmp"
        },
        toolId: "echo"
      })
      const throws = Option.getOrThrow(yield* registry.lookup("sbx__throws"))
      const failure = yield* Effect.flip(throws.handler({}, context("sbx__throws")))
      assert.strictEqual(failure.name, "TypeError")
      assert.strictEqual(failure.code, "E_BAD")
      assert.strictEqual(failure.suggestion, "pass a number")
      const loop = Option.getOrThrow(yield* registry.lookup("sbx__loop"))
      assert.strictEqual(Option.map(Option.fromNullable(loop.timeout), String).pipe(Option.isSome), true)
      const timedOut = yield* Effect.flip(loop.handler({}, context("sbx__loop")))
      assert.strictEqual(timedOut.name, "ToolTimeout")
      assert.strictEqual(timedOut.code, "E_TOOL_TIMEOUT")
    }).pipe(Effect.provide(Live)))
})

const agentTool = (nativeTools: string) =>
  decodeTool(`
apiVersion: effect-swarm/v1
kind: Tool
metadata:
  name: caller
spec:
  entry: tools.mjs
  exports:
    - name: agentAnyway
      description: Calls ctx.callAgent
      parameters: { type: object }
  runtime:
    type: node
${nativeTools}
`)

describe("spec.runtime.nativeTools", () => {
  it("is validated: a list of callAgent / callWorkflow, each once", () => {
    const decode = Schema.decodeUnknownEither(Resource.ToolRuntimeSchema)
    const ok = decode({ type: "node", nativeTools: ["callAgent"] })
    assert.isTrue(Either.isRight(ok) && ok.right.nativeTools.join() === "callAgent")
    const absent = decode({ type: "node" })
    assert.isTrue(Either.isRight(absent) && absent.right.nativeTools.length === 0)
    for (const bad of [["callAgents"], "callAgent", ["callAgent", "callAgent"], [1]]) {
      const r = decode({ type: "node", nativeTools: bad })
      assert.isTrue(Either.isLeft(r), JSON.stringify(bad))
      if (Either.isLeft(r)) assert.match(r.left.message, /nativeTools|native tool/)
    }
  })

  /** A fake host that records what each callAgent received. */
  const recordingHost = () => {
    const calls: Array<{ target: string; call: NativeTools.AgentCall | undefined }> = []
    const layer = NativeTools.layer({
      callAgent: (target, _input, call) => Effect.sync(() => calls.push({ target, call })).pipe(Effect.as("ok")),
      callWorkflow: () => Effect.succeed(null)
    })
    return { calls, layer }
  }

  // The layer turns agent calls on for every tool: a Tool that did not declare callAgent still may not.
  const withHost = (host: Layer.Layer<NativeTools.NativeTools>) =>
    Layer.mergeAll(
      ToolRegistry.layer,
      ToolRuntime.layer.pipe(
        Layer.provide(
          RuntimeConfig.layer("node", RuntimeConfig.withNativeTools({ callAgents: true, callWorkflows: true }))
        ),
        Layer.provide(host)
      )
    )

  it.live("a Tool that did not declare callAgent cannot call it: NativeToolDisabled names the tool and the field", () => {
    const host = recordingHost()
    return Effect.gen(function*() {
      yield* SandboxedTools.register(agentTool(""), bundleRoot)
      const registry = yield* ToolRegistry.ToolRegistry
      const tool = Option.getOrThrow(yield* registry.lookup("caller__agentAnyway"))
      const failure = yield* Effect.flip(tool.handler({}, context("caller__agentAnyway")))
      assert.strictEqual(failure.name, "NativeToolDisabled")
      assert.include(failure.message, "\"agentAnyway\"")
      assert.include(failure.message, "spec.runtime.nativeTools")
      assert.include(failure.suggestion ?? "", "nativeTools: [callAgent]")
      assert.deepStrictEqual(host.calls, [], "the host service was never asked")
    }).pipe(Effect.provide(withHost(host.layer)))
  })

  it.live("a declared callAgent carries the real caller: agent@instance, the tool call's traceparent, the call chain", () => {
    const host = recordingHost()
    return Effect.gen(function*() {
      yield* SandboxedTools.register(agentTool("    nativeTools: [callAgent]"), bundleRoot)
      const registry = yield* ToolRegistry.ToolRegistry
      const tool = Option.getOrThrow(yield* registry.lookup("caller__agentAnyway"))
      const ctx = context("caller__agentAnyway")
      const result = yield* tool.handler({}, ctx).pipe(
        Effect.locally(Middleware.currentCaller, {
          agentName: "planner",
          instanceKey: "main",
          turnId: "turn-1",
          trace: ctx.trace,
          callChain: ["lead@main"]
        })
      )
      assert.strictEqual(result, "ok")
      assert.strictEqual(host.calls.length, 1)
      const call = host.calls[0]!.call!
      assert.strictEqual(host.calls[0]!.target, "helper")
      assert.strictEqual(call.caller, "planner@main")
      assert.strictEqual(call.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
      assert.deepStrictEqual(call.callChain, ["lead@main"])
      assert.strictEqual(call.toolId, "agentAnyway")
    }).pipe(Effect.provide(withHost(host.layer)))
  })
})
