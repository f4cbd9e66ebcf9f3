/**
 * Round trips through real Bun, Node and Deno workers: every JSON shape comes back as itself
 * (`undefined` and `null` distinguished, primitives unwrapped), large outputs and inputs, unicode that
 * breaks naive line framing, the three module shapes, own-property lookup only, and the
 * `(input, config, ctx)` call.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { Scope } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as fs from "node:fs"
import * as path from "node:path"
import { fixture, runtimes, tempDir } from "./helpers.js"
import type { Runtime } from "./helpers.js"

const shapes = {
  "default-object": fixture("roundtrip", "default-object.mjs"),
  "named-exports": fixture("roundtrip", "named-exports.mjs"),
  handlers: fixture("roundtrip", "handlers.mjs")
} as const

type Shape = keyof typeof shapes

const runtimeLayer = (runtime: Runtime, shape: Shape, entrypoint: string = shapes[shape]) =>
  ToolRuntime.layer.pipe(
    Layer.provide(
      RuntimeConfig.layer(
        runtime,
        RuntimeConfig.withEntrypointPath(entrypoint),
        RuntimeConfig.withToolExecutionTimeout("20 seconds")
      )
    ),
    Layer.orDie
  )

const execute = (request: ToolRuntime.ExecuteRequest) =>
  Effect.flatMap(ToolRuntime.ToolRuntime, (runtime) => runtime.execute(request))

const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.matchEffect({
      onSuccess: (value) =>
        Effect.dieMessage(`expected a failure, got success: ${JSON.stringify(value)?.slice(0, 300)}`),
      onFailure: Effect.succeed
    })
  )

/** A warm pool of one worker per layer, for the cases that need many calls. */
const warm = { size: 1 }

/** Same text as `unicodeSample` in test/fixtures/roundtrip/shared.mjs. */
const unicodeSample =
  "héllo wörld · 日本語 · Ελληνικά · עברית · 🎉👩‍👩‍👧‍👦🏳️‍🌈 · 𝄞𝕏𠜎 · \u2028\u2029 · tab\tcr\rlf\n · nul\u0000 · end"

const expectedValues: ReadonlyArray<readonly [string, unknown]> = [
  ["undefined", undefined],
  ["null", null],
  ["zero", 0],
  ["negative", -12.5],
  ["big", Number.MAX_SAFE_INTEGER],
  ["true", true],
  ["false", false],
  ["emptyString", ""],
  ["string", "a string"],
  ["emptyArray", []],
  ["array", [1, "two", null, { three: 3 }, [4]]],
  ["emptyObject", {}],
  ["object", { nested: { data: "complex object", bool: false, array: [1, 2, 3] }, n: null }],
  ["unicode", unicodeSample]
]

const toolsOf: Record<Shape, ReadonlyArray<string>> = {
  "default-object": ["echo", "arity", "value", "asyncValue", "large", "measure", "fail", "shape", "ns/dotted.tool-id"],
  "named-exports": ["echo", "arity", "value", "asyncValue", "large", "measure", "fail", "shape"],
  handlers: ["echo", "arity", "value", "asyncValue", "large", "measure", "fail", "shape"]
}

/** Inherited or non-function names that must never resolve to a tool. */
const notTools = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "default", "handlers"]

const checksum = (text: string) => {
  let sum = 0
  for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i) * (i % 7 + 1)) % 1_000_000_007
  return sum
}

describe.each(runtimes)("round trips on %s", (runtime) => {
  for (const shape of Object.keys(shapes) as Array<Shape>) {
    layer(runtimeLayer(runtime, shape), { excludeTestServices: true, timeout: "30 seconds" })(shape, (it) => {
      it.effect("resolves the module shape", () =>
        Effect.gen(function*() {
          assert.strictEqual(yield* execute({ toolId: "shape", input: null }), shape)
        }))

      it.effect("calls the tool with (input, config, ctx)", () =>
        Effect.gen(function*() {
          const result = yield* execute({ toolId: "echo", input: { a: 1, list: [1, 2] }, config: { c: "two" } })
          const echoed = result as {
            input: unknown
            config: unknown
            ctxType: string
            ctxKeys: ReadonlyArray<string>
            ctxToolId: unknown
          }
          assert.deepStrictEqual(echoed.input, { a: 1, list: [1, 2] })
          assert.deepStrictEqual(echoed.config, { c: "two" })
          assert.strictEqual(echoed.ctxType, "object")
          assert.strictEqual(echoed.ctxToolId, "echo")
          // Native tools are off by default: ctx.nativeTools says so, and the bridges refuse with
          // NativeToolDisabled (native.test.ts) instead of being absent.
          assert.include(echoed.ctxKeys, "nativeTools")
          assert.strictEqual(yield* execute({ toolId: "arity", input: null }), 3)
        }))

      it.effect("returns tool errors as ToolThrew with name, message, stack, code, suggestion, helpUrl", () =>
        Effect.gen(function*() {
          const error = yield* failureOf(execute({ toolId: "fail", input: { message: "bad input: -1" } }))
          assert.strictEqual(error._tag, "ToolThrew", JSON.stringify(error))
          if (error._tag !== "ToolThrew") return
          assert.strictEqual(error.toolId, "fail")
          assert.strictEqual(error.name, "ValidationError")
          assert.strictEqual(error.message, "bad input: -1")
          assert.strictEqual(error.code, "E_BAD_INPUT")
          assert.strictEqual(error.suggestion, "pass a positive number")
          assert.strictEqual(error.helpUrl, "https://example.com/help/bad-input")
          assert.include(error.stack ?? "", "bad input: -1")
        }))

      it.effect("constructor, toString, __proto__ and friends are not tools", () =>
        Effect.gen(function*() {
          // Every inherited name on the default-object shape; a sample on the others.
          const names = shape === "default-object"
            ? notTools
            : shape === "handlers"
            ? ["constructor", "toString", "__proto__", "handlers"]
            // A module namespace has a null prototype: nothing is inherited, only `default` could slip in.
            : ["constructor", "default"]
          // The first probe cold, the rest on a warm worker (the lookup happens in the worker either way).
          const errors = yield* Effect.forEach(
            names,
            (toolId, i) => failureOf(execute({ toolId, input: null, ...(i === 0 ? {} : { pool: warm }) })),
            { concurrency: 4 }
          )
          errors.forEach((error, i) => {
            const toolId = names[i]!
            assert.strictEqual(error._tag, "ToolNotFound", `${toolId}: ${JSON.stringify(error)}`)
            if (error._tag !== "ToolNotFound") return
            assert.strictEqual(error.toolId, toolId)
            for (const tool of toolsOf[shape]) assert.include(error.available, tool)
            for (const name of notTools) assert.notInclude(error.available, name)
          })
        }))

      if (shape === "default-object") {
        it.effect("returns every JSON value as itself, undefined and null distinguished", () =>
          Effect.gen(function*() {
            // Each cold call is one process: the kinds that differ most go cold, every kind goes through a
            // warm worker (same framing and serialization code, no process per value).
            const coldKinds = ["undefined", "null", "zero", "string", "object"]
            const runs = [
              { toolId: "value", cases: expectedValues.filter(([k]) => coldKinds.includes(k)), pool: undefined },
              { toolId: "value", cases: expectedValues, pool: warm },
              { toolId: "asyncValue", cases: expectedValues, pool: warm }
            ]
            for (const { cases, pool, toolId } of runs) {
              const results = yield* Effect.forEach(
                cases,
                ([kind]) => execute({ toolId, input: { kind }, ...(pool === undefined ? {} : { pool }) }),
                { concurrency: 4 }
              )
              cases.forEach(([kind, expected], i) => {
                const label = `${toolId} ${kind} ${pool === undefined ? "cold" : "warm"}`
                if (expected === undefined) assert.isUndefined(results[i], label)
                else assert.deepStrictEqual(results[i], expected, label)
              })
            }
          }))

        it.effect("tool ids may contain / . and -", () =>
          Effect.gen(function*() {
            assert.strictEqual(yield* execute({ toolId: "ns/dotted.tool-id", input: null }), "ids may contain / . -")
          }))

        it.effect("a thrown string is a ToolThrew carrying the string", () =>
          Effect.gen(function*() {
            const error = yield* failureOf(execute({ toolId: "failWithString", input: null }))
            assert.strictEqual(error._tag, "ToolThrew", JSON.stringify(error))
            if (error._tag === "ToolThrew") assert.strictEqual(error.message, "plain string thrown")
          }))

        it.effect("large outputs and inputs (a few MB) arrive intact", () =>
          Effect.gen(function*() {
            const output = (yield* execute({ toolId: "large", input: { mb: 4, count: 64 } })) as ReadonlyArray<string>
            assert.strictEqual(output.length, 64)
            const size = Math.floor((4 * 1024 * 1024) / 64)
            output.forEach((item, i) => {
              assert.strictEqual(item.length, size)
              assert.strictEqual(item, String(i % 10).repeat(size))
            })
            const text = unicodeSample.repeat(Math.ceil((3 * 1024 * 1024) / unicodeSample.length))
            const measured = yield* execute({ toolId: "measure", input: { text } })
            assert.deepStrictEqual(measured, { length: text.length, sum: checksum(text) })
          }))

        it.effect("unicode (emoji, non-BMP, U+2028/U+2029, CR, NUL) survives both directions", () =>
          Effect.gen(function*() {
            const result = yield* execute({
              toolId: "echo",
              input: { text: unicodeSample, [unicodeSample]: "key" },
              config: { text: unicodeSample }
            })
            const echoed = result as { input: unknown; config: unknown }
            assert.deepStrictEqual(echoed.input, { text: unicodeSample, [unicodeSample]: "key" })
            assert.deepStrictEqual(echoed.config, { text: unicodeSample })
          }))
      }

      if (shape === "named-exports") {
        it.effect("a non-function export is not a tool", () =>
          Effect.gen(function*() {
            const error = yield* failureOf(execute({ toolId: "VERSION", input: null }))
            assert.strictEqual(error._tag, "ToolNotFound", JSON.stringify(error))
            if (error._tag === "ToolNotFound") assert.notInclude(error.available, "VERSION")
          }))
      }
    })
  }
})

// The seed spliced the entrypoint into a template as an import specifier: quotes broke it, `tools.ts`
// became a bare package name and `../x` was not re-based (compozy report §6.14). It also shared one
// worker file per project between managers (§6.15).
describe.each(runtimes)("entrypoint paths on %s", (runtime) => {
  const copyShape = (dir: string) => {
    fs.copyFileSync(fixture("roundtrip", "default-object.mjs"), path.join(dir, "default-object.mjs"))
    fs.copyFileSync(fixture("roundtrip", "shared.mjs"), path.join(dir, "shared.mjs"))
    return path.join(dir, "default-object.mjs")
  }

  // `?` has its own case below (Bun needs a workaround for it).
  it.scopedLive("a directory name with spaces, quotes, #, %, $, backticks and emoji", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir(), "tools dir \"q\" 'a' #h %20 $HOME `x` ü🎉")
      fs.mkdirSync(dir)
      const entrypoint = copyShape(dir)
      const shape = yield* execute({ toolId: "shape", input: null }).pipe(
        Effect.provide(runtimeLayer(runtime, "default-object", entrypoint))
      )
      assert.strictEqual(shape, "default-object")
    }))

  // Bun 1.4.5 reads `?` in a module path as a query, even through a symlink; the runtime imports the
  // entry through a symlink to the deepest `?` directory with --preserve-symlinks. Two nested
  // directories have a `?`, and the entry imports its sibling through the link.
  it.scopedLive("a directory name with ? and # (a query and a fragment in URL terms), multi-file, cold and warm", () =>
    Effect.gen(function*() {
      const top = path.join(yield* tempDir(), "tools?v=1&x=2#frag")
      const dir = path.join(top, "nested ?again")
      fs.mkdirSync(dir, { recursive: true })
      const entrypoint = copyShape(dir)
      const results = yield* Effect.all([
        execute({ toolId: "shape", input: null }),
        execute({ toolId: "value", input: { kind: "unicode" }, pool: warm }),
        execute({ toolId: "value", input: { kind: "object" }, pool: warm })
      ]).pipe(Effect.provide(runtimeLayer(runtime, "default-object", entrypoint)))
      assert.deepStrictEqual(results, [
        "default-object",
        expectedValues.find(([k]) => k === "unicode")![1],
        expectedValues.find(([k]) => k === "object")![1]
      ])
    }))

  // Runs the multi-file default-object shape from `dirName` with reads restricted to `readable(dir)`.
  const underReadRestriction = (
    dirName: string,
    readable: (dir: string) => Effect.Effect<string, never, Scope.Scope>
  ) =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir(), dirName)
      fs.mkdirSync(dir)
      const entrypoint = copyShape(dir)
      const outcome = yield* execute({
        toolId: "shape",
        input: null,
        runtime: [
          RuntimeConfig.withPermissions([`--allow-read=${yield* readable(dir)}`, "--allow-net", "--allow-env"]),
          RuntimeConfig.withPermissionPolicy("warn")
        ]
      }).pipe(Effect.provide(runtimeLayer(runtime, "default-object", entrypoint)), Effect.either)
      assert.isTrue(outcome._tag === "Right" && outcome.right === "default-object", JSON.stringify(outcome))
    })

  // The entrypoint's directory is implicitly readable, so a tool module can import its siblings even
  // when reads are restricted to somewhere else.
  it.scopedLive("a multi-file tool runs under a read restriction that does not name its directory", () =>
    underReadRestriction("tools", () => tempDir()))

  // A granted tools directory whose path has spaces, # and non-ASCII (and repeats the implicit grant).
  it.scopedLive("a tools directory with special characters granted by --allow-read under restrictions", () =>
    underReadRestriction("restricted tools #1 ü", (dir) => Effect.succeed(dir)))

  it.live("a relative entrypoint path without ./ resolves against the working directory", () =>
    Effect.gen(function*() {
      const relative = path.relative(process.cwd(), shapes["named-exports"])
      assert.isFalse(relative.startsWith("."))
      const shape = yield* execute({ toolId: "shape", input: null }).pipe(
        Effect.provide(runtimeLayer(runtime, "named-exports", relative))
      )
      assert.strictEqual(shape, "named-exports")
    }))

  it.live("two layers with different entrypoints run side by side without sharing a worker file", () =>
    Effect.gen(function*() {
      const results = yield* Effect.all(
        (["default-object", "handlers", "named-exports"] as const).map((shape) =>
          execute({ toolId: "shape", input: null }).pipe(Effect.provide(runtimeLayer(runtime, shape)))
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results, ["default-object", "handlers", "named-exports"])
    }))
})
