/**
 * In-process entries imported at their content version (`run --watch` reloads an edited tool, extension or
 * connector module): real files in a temp directory, edited between imports; an unchanged file is never
 * evaluated again (each module counts its evaluations on globalThis).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { EntryModule, EventBus, Extension, ExtensionState, Pipeline, ToolModule, ToolRegistry } from "effect-swarm"
import * as path from "node:path"

const Live = Layer.merge(NodeContext.layer, EventBus.layer())

/** A temp directory; `commonjs` puts a package.json there, so a `.js` is a CommonJS module. */
const tempDir = (options?: { readonly commonjs?: boolean }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-entry-" })
    yield* fs.writeFileString(
      path.join(dir, "package.json"),
      options?.commonjs === true ? "{}\n" : "{\"type\":\"module\"}\n"
    )
    return { dir, write: (name: string, text: string) => fs.writeFileString(path.join(dir, name), text) }
  })

/** Evaluations of the modules a test wrote, by key (each module adds its own key's count). */
const evaluations = (key: string): number => ((globalThis as Record<string, unknown>)[key] as number | undefined) ?? 0

const esm = (key: string, value: string) =>
  `globalThis[${JSON.stringify(key)}] = (globalThis[${JSON.stringify(key)}] ?? 0) + 1\n` +
  `export const value = ${JSON.stringify(value)}\n`

const valueOf = (imported: EntryModule.Imported) => (imported.module as { readonly value: string }).value

describe("EntryModule", () => {
  it.scoped("an edited ES module is imported again; an unchanged one is the module already imported", () =>
    Effect.gen(function*() {
      const { dir, write } = yield* tempDir()
      const key = `entry-esm-${Math.random()}`
      const file = path.join(dir, "tool.mjs")
      yield* write("tool.mjs", esm(key, "one"))
      const first = yield* EntryModule.load(file)
      assert.strictEqual(valueOf(first), "one")
      assert.match(first.url, /\/tool\.mjs\?version=[0-9a-f]{16}$/)
      const again = yield* EntryModule.load(file)
      assert.strictEqual(again.module, first.module)
      assert.strictEqual(evaluations(key), 1)

      yield* write("tool.mjs", esm(key, "two"))
      const edited = yield* EntryModule.load(file)
      assert.strictEqual(valueOf(edited), "two")
      assert.notStrictEqual(edited.version, first.version)
      assert.strictEqual(evaluations(key), 2)

      // Back to the first content: the first module, not a third evaluation.
      yield* write("tool.mjs", esm(key, "one"))
      const back = yield* EntryModule.load(file)
      assert.strictEqual(back.module, first.module)
      assert.strictEqual(evaluations(key), 2)
    }).pipe(Effect.provide(Live)))

  it.scoped("an edited CommonJS module (require.cache is keyed by path) is imported again", () =>
    Effect.gen(function*() {
      const { dir, write } = yield* tempDir({ commonjs: true })
      const file = path.join(dir, "tool.js")
      yield* write("tool.js", "exports.value = \"one\"\n")
      assert.strictEqual(valueOf(yield* EntryModule.load(file)), "one")
      yield* write("tool.js", "exports.value = \"two\"\n")
      assert.strictEqual(valueOf(yield* EntryModule.load(file)), "two")
    }).pipe(Effect.provide(Live)))

  it.scoped("a missing file fails with the importer's own message", () =>
    Effect.gen(function*() {
      const { dir } = yield* tempDir()
      const error = yield* Effect.flip(EntryModule.load(path.join(dir, "absent.mjs")))
      assert.strictEqual(error._tag, "EntryImportError")
      assert.strictEqual(error.file, path.join(dir, "absent.mjs"))
      assert.include(error.message, "cannot import")
      assert.include(error.message, "absent.mjs")
    }).pipe(Effect.provide(Live)))

  it.scoped("ToolModule.load after an edit binds the new handler", () =>
    Effect.gen(function*() {
      const { dir, write } = yield* tempDir()
      const definition = {
        resourceName: "stamp",
        entry: path.join(dir, "stamp.mjs"),
        exports: [{ name: "say" }]
      }
      const say = (loaded: ToolModule.Loaded) =>
        loaded.tools[0]!.handler({}, {
          agentName: "alpha",
          instanceKey: "i",
          turnId: "t",
          toolCallId: "c",
          toolName: "stamp__say",
          trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" },
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          workdir: dir
        })
      yield* write("stamp.mjs", "export const say = () => \"version 1\"\n")
      assert.strictEqual(yield* say(yield* ToolModule.load(definition)), "version 1")
      yield* write("stamp.mjs", "export const say = () => \"version 2\"\n")
      assert.strictEqual(yield* say(yield* ToolModule.load(definition)), "version 2")
    }).pipe(Effect.provide(Live)))

  it.scoped("Extension.load after an edit calls the new register", () =>
    Effect.gen(function*() {
      const { dir, write } = yield* tempDir()
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-entry-state-" })
      const state = yield* ExtensionState.make({ root })
      const key = `entry-ext-${Math.random()}`
      const extension = (version: string) =>
        `export function register() { (globalThis[${JSON.stringify(key)}] ??= []).push(${JSON.stringify(version)}) }\n`
      const load = Effect.gen(function*() {
        const pipeline = yield* Pipeline.make()
        const registry = yield* ToolRegistry.make
        yield* Extension.load({
          extensions: [{ name: "audit", entry: path.join(dir, "audit.mjs"), config: {} }],
          instance: { workspaceId: "ws", agentName: "alpha", instanceKey: "i" },
          pipeline,
          registry
        }).pipe(Effect.provideService(ExtensionState.ExtensionState, state), Effect.scoped)
      })
      yield* write("audit.mjs", extension("v1"))
      yield* load
      yield* write("audit.mjs", extension("v2"))
      yield* load
      assert.deepStrictEqual((globalThis as Record<string, unknown>)[key], ["v1", "v2"])
    }).pipe(Effect.provide(Live)))
})
