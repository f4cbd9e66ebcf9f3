import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, Schema, TestClock } from "effect"
import { Bundle, EntryModule, Resource, ToolExecutor, ToolModule, ToolRegistry } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as YAML from "yaml"
import { tool, writeBundle } from "../resource/helpers.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/tools")
const fixture = (name: string) => path.join(fixtures, name)

const Tools = ToolExecutor.layer({ workdir: "/tmp/tool-workdir" }).pipe(Layer.provideMerge(ToolRegistry.layer))

const context = {
  agentName: "alpha",
  instanceKey: "inst-01",
  turnId: "turn-1",
  trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
}

const loadAndRegister = (definition: ToolModule.Definition) =>
  Effect.flatMap(ToolModule.load(definition), ToolModule.register)

const call = (toolName: string, args: unknown) =>
  Effect.flatMap(
    ToolExecutor.ToolExecutor,
    (executor) =>
      Effect.flatMap(ToolRegistry.ToolRegistry, (registry) =>
        Effect.flatMap(registry.catalog, (catalog) =>
          executor.execute({ toolCallId: "call-7", toolName, args, catalog, context })))
  )

describe("ToolModule", () => {
  it.effect("loads `export const handlers` and runs values, throws and rejections", () =>
    Effect.gen(function*() {
      yield* loadAndRegister({
        resourceName: "calc",
        entry: fixture("handlers-const.mjs"),
        exports: [
          { name: "add", parameters: { type: "object", required: ["a", "b"] } },
          { name: "boom" },
          { name: "throwsString" },
          { name: "rejects" },
          { name: "context" }
        ]
      })
      const registry = yield* ToolRegistry.ToolRegistry
      assert.deepStrictEqual((yield* registry.catalog).map((i) => i.name), [
        "calc__add",
        "calc__boom",
        "calc__throwsString",
        "calc__rejects",
        "calc__context"
      ])
      assert.deepStrictEqual((yield* registry.catalog)[0]!.source, { type: "config", name: "calc" })
      assert.strictEqual((yield* call("calc__add", { a: 2, b: 3 })).output, 5)
      assert.strictEqual((yield* call("calc__add", { a: 2 })).error?.code, "E_TOOL_INVALID_ARGS")
      assert.deepStrictEqual((yield* call("calc__boom", {})).error, {
        name: "Error",
        message: "boom",
        code: "E_BOOM",
        suggestion: "try again",
        helpUrl: "https://example.com/boom"
      })
      assert.strictEqual((yield* call("calc__throwsString", {})).error?.message, "Unknown tool execution error")
      assert.deepStrictEqual((yield* call("calc__rejects", {})).error, { name: "TypeError", message: "rejected" })
      assert.deepStrictEqual((yield* call("calc__context", {})).output, {
        agentName: "alpha",
        toolName: "calc__context",
        toolCallId: "call-7",
        traceId: context.trace.traceId,
        workdir: "/tmp/tool-workdir",
        hasSignal: true
      })
    }).pipe(Effect.provide(Tools)))

  it.effect("loads `export default { handlers }`, `export default { fn }` and named exports", () =>
    Effect.gen(function*() {
      yield* loadAndRegister({ resourceName: "a", entry: fixture("default-handlers.mjs"), exports: [{ name: "echo" }] })
      yield* loadAndRegister({
        resourceName: "b",
        entry: fixture("default-fns.mjs"),
        exports: [{ name: "ping" }, { name: "nothing" }]
      })
      yield* loadAndRegister({ resourceName: "c", entry: fixture("named.mjs"), exports: [{ name: "hello" }] })
      assert.deepStrictEqual((yield* call("a__echo", { x: 1 })).output, { echoed: { x: 1 } })
      assert.strictEqual((yield* call("b__ping", {})).output, "pong")
      assert.strictEqual((yield* call("b__nothing", {})).output, null)
      assert.strictEqual((yield* call("c__hello", { name: "ann" })).output, "hello ann from c__hello")
    }).pipe(Effect.provide(Tools)))

  it.effect("handlers may return Effects, whose failures become tool errors", () =>
    Effect.gen(function*() {
      yield* loadAndRegister({
        resourceName: "fx",
        entry: fixture("effects.mjs"),
        exports: [{ name: "succeed" }, { name: "fail" }]
      })
      assert.deepStrictEqual((yield* call("fx__succeed", { n: 21 })).output, { doubled: 42 })
      const failed = yield* call("fx__fail", {})
      assert.strictEqual(failed.status, "error")
      assert.strictEqual(failed.error?.code, "E_EFFECT")
      assert.strictEqual(failed.error?.message, "effect failed")
    }).pipe(Effect.provide(Tools)))

  it.effect("reports every declared export without a handler, by own property only", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ToolModule.load({
        resourceName: "calc",
        entry: fixture("handlers-const.mjs"),
        exports: [{ name: "add" }, { name: "missing" }, { name: "toString" }, { name: "notAHandler" }]
      }))
      assert.strictEqual(error._tag, "ToolModuleError")
      assert.deepStrictEqual(error.missing, ["missing", "toString", "notAHandler"])
      assert.include(error.message, "no handler for 'missing', 'toString', 'notAHandler'")
    }))

  it.effect("reports modules that cannot be imported", () =>
    Effect.gen(function*() {
      const broken = yield* Effect.flip(ToolModule.load({
        resourceName: "x",
        entry: fixture("broken.mjs"),
        exports: [{ name: "a" }]
      }))
      assert.include(broken.message, "module evaluation failed")
      const absent = yield* Effect.flip(ToolModule.load({
        resourceName: "x",
        entry: fixture("absent.mjs"),
        exports: [{ name: "a" }]
      }))
      assert.include(absent.message, "cannot import")
    }))

  it.effect("a Promise handler past its timeout is abandoned with E_TOOL_TIMEOUT and its signal aborted", () =>
    Effect.gen(function*() {
      yield* loadAndRegister({
        resourceName: "slow",
        entry: fixture("hang.mjs"),
        exports: [{ name: "wait" }],
        timeout: "2 seconds"
      })
      // The instance ToolModule imported: at the file's content version (a plain import would be another one).
      const hang = (yield* EntryModule.load(fixture("hang.mjs"))).module as { readonly state: { aborted: number } }
      const before = hang.state.aborted
      const fiber = yield* Effect.fork(call("slow__wait", {}))
      yield* TestClock.adjust("2 seconds")
      const r = yield* Fiber.join(fiber)
      assert.strictEqual(r.error?.code, "E_TOOL_TIMEOUT")
      assert.strictEqual(hang.state.aborted, before + 1)
    }).pipe(Effect.provide(Tools)))

  it.effect("the handler logger writes through Effect's logger with the call's annotations", () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ annotations, message }) => {
      const text = (Array.isArray(message) ? message : [message]).join(" ")
      lines.push(`${text} ${JSON.stringify(Object.fromEntries(annotations))}`)
    })
    return Effect.gen(function*() {
      yield* loadAndRegister({ resourceName: "lg", entry: fixture("handlers-const.mjs"), exports: [{ name: "log" }] })
      assert.strictEqual((yield* call("lg__log", { text: "hi" })).output, "ok")
      assert.isTrue(lines.some((l) => l.includes("logged from tool hi") && l.includes("\"toolCallId\":\"call-7\"")))
    }).pipe(Effect.provide([Tools, Logger.replace(Logger.defaultLogger, logger)]))
  })

  it.effect("builds a definition from a Tool resource decoded from YAML", () =>
    Effect.gen(function*() {
      const doc = YAML.parse(`
apiVersion: effect-swarm/v1
kind: Tool
metadata:
  name: calc
spec:
  entry: ./handlers-const.mjs
  errorMessageLimit: 120
  exports:
    - name: add
      description: Adds two numbers
      parameters:
        type: object
        properties:
          a: { type: number }
          b: { type: number }
        required: [a, b]
`)
      const resource = yield* Schema.decodeUnknown(Resource.Tool)(doc)
      const definition = ToolModule.fromResource(resource, fixtures)
      assert.strictEqual(definition.entry, fixture("handlers-const.mjs"))
      assert.strictEqual(definition.errorMessageLimit, 120)
      yield* loadAndRegister(definition)
      const registry = yield* ToolRegistry.ToolRegistry
      const entry = registry.unsafeGet("calc__add")!
      assert.strictEqual(entry.errorMessageLimit, 120)
      assert.strictEqual(entry.item.description, "Adds two numbers")
      assert.strictEqual((yield* call("calc__add", { a: 1, b: 2 })).output, 3)
      assert.include(
        (yield* call("calc__add", { a: "1", b: 2 })).error?.message,
        "args.a: expected number but got string"
      )
    }).pipe(Effect.provide(Tools)))

  it.scoped("runs the file Bundle.load validated: the compiled .js beside a .ts entry", () =>
    Effect.gen(function*() {
      const dir = yield* writeBundle({
        "resources.yaml": tool("calc", "./tools/calc.ts", ["which"]),
        // The TypeScript source would not even import on Node 20; the compiled module is what runs.
        "tools/calc.ts": "export const which = (): string => \"typescript\"\n",
        "tools/calc.js": "export const which = () => \"compiled\"\n"
      })
      const bundle = yield* Bundle.load(dir)
      const entry = Bundle.find(bundle, "Tool", "calc")!
      assert.strictEqual(entry.entryFile, path.join(dir, "tools/calc.js"))
      const definition = ToolModule.fromResource(entry.resource, entry.rootDir, { entryFile: entry.entryFile })
      assert.strictEqual(definition.entry, entry.entryFile)
      yield* loadAndRegister(definition)
      assert.strictEqual((yield* call("calc__which", {})).output, "compiled")
    }).pipe(Effect.provide([Tools, NodeContext.layer])))
})
