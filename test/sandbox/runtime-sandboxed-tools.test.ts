import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
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
