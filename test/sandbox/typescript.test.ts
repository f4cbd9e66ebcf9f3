/**
 * TypeScript entrypoints: Bun and Deno run them as is; Node strips types from 22.6 (the runtime passes
 * `--experimental-strip-types` on 22.6-23.5) and older Nodes are refused before anything is spawned,
 * with a typed error saying what to do. Bundle validation warns about the same case.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Permissions from "effect-swarm/config/Permissions"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as Bundle from "effect-swarm/resource/Bundle"
import * as Limits from "effect-swarm/sandbox/Limits"
import * as SandboxedTools from "effect-swarm/sandbox/SandboxedTools"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fixture, tempDir } from "./helpers.js"

const entry = fixture("sandbox", "typescript", "tools.ts")

const hostStripsTypes = Limits.typeScriptSupport("node", process.versions.node)._tag !== "Unsupported"

/** A layer whose spawner counts the processes it starts. */
const counted = (runtimeType: RuntimeConfig.RuntimeType) => {
  const spawned = { n: 0 }
  const layer = ToolRuntime.layerWith({
    spawner: (command, args, options) => {
      spawned.n++
      return ChildProcess.spawn(command, args, options)
    }
  }).pipe(
    Layer.provide(
      RuntimeConfig.layer(
        runtimeType,
        RuntimeConfig.withEntrypointPath(entry),
        RuntimeConfig.withToolExecutionTimeout("20 seconds")
      )
    ),
    Layer.orDie
  )
  return { spawned, layer }
}

const execute = (request: ToolRuntime.ExecuteRequest) =>
  Effect.flatMap(ToolRuntime.ToolRuntime, (runtime) => runtime.execute(request))

describe("Limits.typeScriptSupport", () => {
  it("Bun and Deno run TypeScript natively", () => {
    assert.deepStrictEqual(Limits.typeScriptSupport("bun", "1.4.5"), { _tag: "Native" })
    assert.deepStrictEqual(Limits.typeScriptSupport("deno", "2.9.6"), { _tag: "Native" })
  })

  it("Node: refused before 22.6, a flag on 22.6-23.5, native from 23.6", () => {
    for (const version of ["18.19.0", "20.20.2", "22.5.1", "unknown"]) {
      const support = Limits.typeScriptSupport("node", version)
      assert.strictEqual(support._tag, "Unsupported", version)
      if (support._tag === "Unsupported") {
        assert.include(support.reason, "22.6")
        assert.include(support.suggestion, "bun or deno")
      }
    }
    for (const version of ["22.6.0", "22.12.0", "23.0.0", "23.5.9"]) {
      assert.deepStrictEqual(
        Limits.typeScriptSupport("node", version),
        { _tag: "Flags", flags: ["--experimental-strip-types"] },
        version
      )
    }
    for (const version of ["23.6.0", "24.1.0", "25.0.0"]) {
      assert.deepStrictEqual(Limits.typeScriptSupport("node", version), { _tag: "Native" }, version)
    }
  })

  it("recognises .ts, .mts and .cts entrypoints only", () => {
    assert.isTrue(Limits.isTypeScriptEntry("/t/tools.ts"))
    assert.isTrue(Limits.isTypeScriptEntry("/t/tools.mts"))
    assert.isTrue(Limits.isTypeScriptEntry("/t/tools.cts"))
    assert.isFalse(Limits.isTypeScriptEntry("/t/tools.mjs"))
    assert.isFalse(Limits.isTypeScriptEntry("/t/tools.js"))
    assert.isFalse(Limits.isTypeScriptEntry("/t/tools.d.ts.json"))
  })

  it("launchArgs puts the strip-types flag before nodeOptions, with or without the permission model", () => {
    const base = {
      maxMemoryMB: 128,
      nodeOptions: ["--stack-size=2000"],
      workerPath: "/w/worker.mjs",
      implicitRead: ["/w"],
      scratchDir: "/w/s",
      callEnvNames: [],
      typeScriptFlags: ["--experimental-strip-types"]
    }
    const open = Limits.launchArgs({
      ...base,
      capabilities: Limits.capabilitiesOf("node", "22.12.0"),
      grants: Permissions.grants(["--allow-all"])
    })
    assert.deepStrictEqual(open, [
      "--experimental-strip-types",
      "--disable-warning=ExperimentalWarning",
      "--stack-size=2000",
      "--max-old-space-size=128",
      "/w/worker.mjs"
    ])
    const restricted = Limits.launchArgs({
      ...base,
      capabilities: Limits.capabilitiesOf("node", "22.12.0"),
      grants: Permissions.grants(["--allow-read=/data", "--allow-write", "--allow-run", "--allow-net", "--allow-env"])
    })
    assert.strictEqual(restricted[0], "--permission")
    assert.strictEqual(restricted.filter((a) => a === "--disable-warning=ExperimentalWarning").length, 1)
    assert.isBelow(restricted.indexOf("--experimental-strip-types"), restricted.indexOf("--stack-size=2000"))
    const plain = Limits.launchArgs({
      ...base,
      typeScriptFlags: [],
      capabilities: Limits.capabilitiesOf("node", "24.1.0"),
      grants: Permissions.grants(["--allow-all"])
    })
    assert.notInclude(plain, "--experimental-strip-types")
  })
})

describe("TypeScript entrypoints through ToolRuntime", () => {
  for (const runtimeType of ["bun", "deno"] as const) {
    it.live(`${runtimeType} runs a multi-file TypeScript entrypoint as is, cold and pooled`, () => {
      const { layer } = counted(runtimeType)
      return Effect.gen(function*() {
        assert.strictEqual(yield* execute({ toolId: "add", input: { a: 2, b: 3 } }), 5)
        assert.strictEqual(yield* execute({ toolId: "greet", input: { name: "ts" }, pool: { size: 1 } }), "hello, ts")
        assert.deepStrictEqual(yield* execute({ toolId: "shape", input: null, pool: { size: 1 } }), { typed: true })
      }).pipe(Effect.provide(layer))
    }, 60_000)
  }

  if (hostStripsTypes) {
    it.live(`node ${process.versions.node} strips the types and runs it`, () => {
      const { layer } = counted("node")
      return Effect.gen(function*() {
        assert.strictEqual(yield* execute({ toolId: "add", input: { a: 2, b: 3 } }), 5)
        assert.strictEqual(yield* execute({ toolId: "greet", input: { name: "ts" }, pool: { size: 1 } }), "hello, ts")
      }).pipe(Effect.provide(layer))
    }, 60_000)
  } else {
    it.live(`node ${process.versions.node} refuses it before spawning, cold and pooled, with what to do`, () => {
      const { layer, spawned } = counted("node")
      return Effect.gen(function*() {
        for (const pool of [undefined, { size: 1 }]) {
          const error = yield* Effect.flip(execute({ toolId: "add", input: { a: 1, b: 2 }, ...(pool ? { pool } : {}) }))
          assert.strictEqual(error._tag, "EntrypointUnsupported", JSON.stringify(error))
          if (error._tag !== "EntrypointUnsupported") return
          assert.strictEqual(error.toolId, "add")
          assert.strictEqual(error.entrypointPath, fs.realpathSync(entry))
          assert.strictEqual(error.runtimeType, "node")
          assert.strictEqual(error.version, process.versions.node)
          assert.include(error.message, "type stripping needs Node 22.6")
          assert.include(error.message, "bun or deno")
          // The registry sees the suggestion too.
          assert.include(SandboxedTools.toFailure(error).suggestion ?? "", "compile the entry to JavaScript")
        }
        assert.strictEqual(spawned.n, 0)
      }).pipe(Effect.provide(layer))
    })
  }
})

describe("bundle validation of TypeScript entries on node", () => {
  const toolDoc = (name: string, runtimeType: string, entryPath: string) =>
    [
      "apiVersion: effect-swarm/v1",
      "kind: Tool",
      `metadata: { name: ${name} }`,
      "spec:",
      `  entry: ${entryPath}`,
      "  exports: [{ name: add, description: Add, parameters: { type: object } }]",
      `  runtime: { type: ${runtimeType} }`
    ].join("\n")

  it.scoped("warns about a node tool with a .ts entry when this Node cannot strip types", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      fs.mkdirSync(path.join(dir, "tools"))
      for (const file of ["a.ts", "b.mts", "c.mjs"]) fs.writeFileSync(path.join(dir, "tools", file), "export {}\n")
      fs.writeFileSync(
        path.join(dir, "tools.yaml"),
        [
          toolDoc("on-node", "node", "./tools/a.ts"),
          toolDoc("on-node-mts", "node", "./tools/b.mts"),
          toolDoc("on-deno", "deno", "./tools/a.ts"),
          toolDoc("on-bun", "bun", "./tools/b.mts"),
          toolDoc("node-js", "node", "./tools/c.mjs")
        ].join("\n---\n")
      )
      const bundle = yield* Bundle.load(dir)
      const warned = bundle.warnings.filter((w) => w.code === "E_CONFIG_ENTRY_UNSUPPORTED")
      if (hostStripsTypes) {
        assert.deepStrictEqual(warned, [])
        return
      }
      assert.deepStrictEqual(warned.map((w) => [w.document, w.path, w.severity]), [
        [0, "spec.entry", "warning"],
        [1, "spec.entry", "warning"]
      ])
      assert.include(warned[0]!.message, "Tool/on-node")
      assert.include(warned[0]!.message, `Node ${process.versions.node}`)
      assert.include(warned[0]!.suggestion ?? "", "bun or deno")
    }).pipe(Effect.provide(NodeContext.layer)))
})
