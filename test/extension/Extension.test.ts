import type { Path } from "@effect/platform"
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Fiber, Layer, Option, Schema, Scope, TestClock } from "effect"
import {
  Bundle,
  EventBus,
  Extension,
  ExtensionState,
  Middleware,
  Pipeline,
  ToolExecutor,
  ToolRegistry
} from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const bundleDir = path.resolve(here, "../fixtures/bundles/extensions")

/** A temp state root, the bus and the real ExtensionState on it. */
const setup = Effect.gen(function*() {
  const fsys = yield* FileSystem.FileSystem
  const root = yield* fsys.makeTempDirectoryScoped({ prefix: "effect-swarm-ext-" })
  const state = yield* ExtensionState.make({ root })
  const bundle = yield* Bundle.load(bundleDir, { stateRoot: root })
  return { root, state, bundle, logFile: path.join(root, "extension.log") }
})

const TestLayer = Layer.mergeAll(EventBus.layer(), NodeContext.layer)

const run = <A, E>(
  effect: Effect.Effect<A, E, EventBus.EventBus | FileSystem.FileSystem | Path.Path | Scope.Scope>
) => effect.pipe(Effect.provide(TestLayer))

const instanceRef = (instanceKey: string, agentName = "alpha") => ({ workspaceId: "ws", agentName, instanceKey })

/** One instance: its own pipeline and registry, its environment in a scope the test closes. */
const instance = (
  s: Effect.Effect.Success<typeof setup>,
  instanceKey: string,
  options?: { readonly extensions?: ReadonlyArray<Extension.Definition> }
) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.make()
    const registry = yield* ToolRegistry.make
    const scope = yield* Scope.make()
    const extensions = options?.extensions ??
      (yield* Extension.definitions(s.bundle, "alpha")).map((d) => ({
        ...d,
        config: { ...d.config, logFile: s.logFile }
      }))
    const env = yield* Extension.load({ extensions, instance: instanceRef(instanceKey), pipeline, registry }).pipe(
      Effect.provideService(ExtensionState.ExtensionState, s.state),
      Scope.extend(scope)
    )
    return { pipeline, registry, scope, env, ref: instanceRef(instanceKey) }
  })

const turn = <E = never>(
  pipeline: Pipeline.Service,
  instanceKey: string,
  input = "hello",
  core: (ctx: Middleware.TurnContext) => Effect.Effect<Middleware.TurnResult, E> = (ctx) =>
    Effect.sync(() => {
      ;((ctx.metadata.order ??= []) as Array<string>).push("core")
      return { turnId: ctx.turnId, finishReason: "text_response" as const }
    })
) =>
  Effect.gen(function*() {
    const conversation = yield* Middleware.conversationInMemory()
    const metadata: Record<string, unknown> = {}
    const result = yield* pipeline.runTurn({
      agentName: "alpha",
      instanceKey,
      turnId: `turn-${input}`,
      conversation,
      inputEvent: { input },
      metadata
    }, core)
    return { result, order: metadata.order as Array<string> }
  })

const logLines = (file: string) => fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []

const definition = (
  s: Effect.Effect.Success<typeof setup>,
  name: string,
  config: Record<string, unknown> = {}
): Extension.Definition => {
  const entry = Bundle.find(s.bundle, "Extension", name)!
  return { name, entry: entry.entryFile!, config, resourceFile: entry.file }
}

const loadError = (s: Effect.Effect.Success<typeof setup>, extensions: ReadonlyArray<Extension.Definition>) =>
  Effect.gen(function*() {
    const pipeline = yield* Pipeline.make()
    const registry = yield* ToolRegistry.make
    const error = yield* Extension.load({ extensions, instance: instanceRef("err"), pipeline, registry }).pipe(
      Effect.provideService(ExtensionState.ExtensionState, s.state),
      Effect.scoped,
      Effect.flip
    )
    return { error, registry, pipeline }
  })

describe("Extension", () => {
  it.scoped("merges the Agent's per-use config over the Extension's and calls register once per instance", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const defs = yield* Extension.definitions(s.bundle, "alpha")
      assert.deepStrictEqual(defs.map((d) => [d.name, d.config]), [
        ["recorder", { label: "alpha", level: "info" }],
        ["effectful", {}]
      ])
      assert.strictEqual(defs[0]!.resourceFile, "resources.yaml")
      yield* instance(s, "one")
      assert.deepStrictEqual(logLines(s.logFile), ["one register recorder label=alpha level=info"])
    })))

  it.scoped("orders Effect and Promise middlewares of several extensions by priority, ties in registration order", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const one = yield* instance(s, "one")
      const { order, result } = yield* turn(one.pipeline, "one")
      assert.strictEqual(result.finishReason, "text_response")
      assert.deepStrictEqual(order, [
        "effectful:effect-5:pre",
        "effectful:effect5:pre",
        "recorder:promise:pre",
        "effectful:promise10:pre",
        "core",
        "effectful:promise10:post",
        "recorder:promise:post",
        "effectful:effect5:post",
        "effectful:effect-5:post"
      ])
    })))

  it.scoped("registers extension tools in the instance's own registry: in the catalog, callable, gone at dispose", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const one = yield* instance(s, "one")
      const catalog = yield* one.registry.catalog
      assert.deepStrictEqual(catalog.map((t) => [t.name, t.source]), [[
        "recorder__count",
        { type: "extension", name: "recorder" }
      ]])
      yield* turn(one.pipeline, "one")
      const executor = yield* ToolExecutor.make({ workdir: s.root }).pipe(
        Effect.provideService(ToolRegistry.ToolRegistry, one.registry)
      )
      const result = yield* executor.execute({
        toolCallId: "call-1",
        toolName: "recorder__count",
        args: {},
        catalog,
        context: {
          agentName: "alpha",
          instanceKey: "one",
          turnId: "t",
          trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }
        }
      })
      assert.deepStrictEqual(result.output, { turns: 1, instanceKey: "one" })
      yield* Scope.close(one.scope, Exit.void)
      assert.deepStrictEqual(yield* one.registry.catalog, [])
    })))

  it.scoped("saves state at turn end only when its content changed", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const one = yield* instance(s, "one")
      const file = path.join(s.root, "workspaces", "ws", "instances", "alpha@one", "extensions", "recorder.json")
      // Nothing changed yet: nothing written.
      assert.deepStrictEqual(yield* one.env.saveState, [])
      assert.isFalse(fs.existsSync(file))
      yield* turn(one.pipeline, "one")
      assert.deepStrictEqual(yield* one.env.saveState, ["recorder"])
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), { turns: 1, label: "alpha" })
      const written = fs.statSync(file)
      // A turn that does not touch the state, then a second save: no write.
      yield* turn(one.pipeline, "one", "read-only")
      assert.deepStrictEqual(yield* one.env.saveState, [])
      assert.deepStrictEqual(yield* one.env.saveState, [])
      assert.strictEqual(fs.statSync(file).ino, written.ino)
      yield* turn(one.pipeline, "one")
      assert.deepStrictEqual(yield* one.env.saveState, ["recorder"])
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), { turns: 2, label: "alpha" })
      // A new environment of the same instance starts from the saved state.
      yield* Scope.close(one.scope, Exit.void)
      const again = yield* instance(s, "one")
      yield* turn(again.pipeline, "one")
      assert.deepStrictEqual(yield* again.env.saveState, ["recorder"])
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), { turns: 3, label: "alpha" })
    })))

  it.scoped("delivers this instance's runtime events and extension events; dispose unsubscribes and runs disposers", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const one = yield* instance(s, "one")
      yield* turn(one.pipeline, "one")
      yield* one.env.emit("host.hello", { from: "test" })
      yield* Scope.close(one.scope, Exit.void)
      // After dispose the middlewares step aside and nothing is delivered any more.
      const after = yield* turn(one.pipeline, "one", "after")
      assert.deepStrictEqual(after.order, ["core"])
      const lines = logLines(s.logFile)
      // Runtime events arrive in order, after the fact (never inside the turn), so they interleave with
      // the extension events freely; everything arrived before the disposers ran (dispose drains).
      assert.strictEqual(lines[0], "one register recorder label=alpha level=info")
      assert.deepStrictEqual(lines.filter((l) => l.includes(" event ")), [
        "one event turn.started turn-hello",
        "one event turn.completed turn-hello"
      ])
      assert.deepStrictEqual(lines.filter((l) => !l.includes(" event ")).slice(1), [
        "one note from effectful: {\"turnId\":\"turn-hello\"}",
        "one host says {\"from\":\"test\"}",
        "one dispose recorder",
        "one onDispose recorder"
      ])
      assert.deepStrictEqual(lines.slice(-2), ["one dispose recorder", "one onDispose recorder"])
    })))

  it.scoped("keeps the extensions of two instances apart: pipeline, tools, state and events", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const one = yield* instance(s, "one")
      const two = yield* instance(s, "two")
      yield* turn(one.pipeline, "one")
      yield* turn(one.pipeline, "one")
      const { order } = yield* turn(two.pipeline, "two", "read-only")
      assert.strictEqual(order.filter((m) => m === "core").length, 1)
      assert.deepStrictEqual(yield* one.env.saveState, ["recorder"])
      assert.deepStrictEqual(yield* two.env.saveState, [])
      assert.deepStrictEqual(Option.getOrNull(yield* s.state.get(one.ref, "recorder")), { turns: 2, label: "alpha" })
      assert.isTrue(Option.isNone(yield* s.state.get(two.ref, "recorder")))
      // Each registry has its own handler, bound to its own instance.
      assert.notStrictEqual(
        one.registry.unsafeGet("recorder__count")!.handler,
        two.registry.unsafeGet("recorder__count")!.handler
      )
      yield* Scope.close(one.scope, Exit.void)
      assert.isDefined(two.registry.unsafeGet("recorder__count"))
      yield* Scope.close(two.scope, Exit.void)
      const events = logLines(s.logFile).filter((l) => l.includes(" event "))
      assert.deepStrictEqual(events, [
        "one event turn.started turn-hello",
        "one event turn.completed turn-hello",
        "one event turn.started turn-hello",
        "one event turn.completed turn-hello",
        "two event turn.started turn-read-only",
        "two event turn.completed turn-read-only"
      ])
      assert.deepStrictEqual(logLines(s.logFile).filter((l) => l.includes("note from")).map((l) => l.split(" ")[0]), [
        "one",
        "one",
        "two"
      ])
    })))
})

describe("Extension load errors", () => {
  it.scoped("a module without register is E_EXT_LOAD with the name, file and a suggestion", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const { error } = yield* loadError(s, [definition(s, "no-register")])
      assert.strictEqual(error._tag, "ExtensionLoadError")
      if (error._tag !== "ExtensionLoadError") return
      assert.strictEqual(error.code, "E_EXT_LOAD")
      assert.strictEqual(error.extension, "no-register")
      assert.strictEqual(error.file, path.join(bundleDir, "extensions", "no-register.mjs"))
      assert.strictEqual(error.resourceFile, "resources.yaml")
      assert.include(error.suggestion, "export function register(api, config)")
      assert.include(error.message, "[E_EXT_LOAD] Extension/no-register: the module does not export register")
      const notFn = (yield* loadError(s, [definition(s, "not-a-function")])).error
      assert.include(notFn.message, "register is object, not a function")
    })))

  it.scoped("a register that throws or rejects is E_EXT_INIT carrying its message", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const thrown = (yield* loadError(s, [definition(s, "throws")])).error
      assert.strictEqual(thrown._tag === "ExtensionLoadError" && thrown.code, "E_EXT_INIT")
      assert.include(thrown.message, "register failed: Extension init failed: missing API key")
      const rejected = (yield* loadError(s, [definition(s, "rejects")])).error
      assert.strictEqual(rejected._tag === "ExtensionLoadError" && rejected.code, "E_EXT_INIT")
      assert.include(rejected.message, "could not reach the audit server")
      const badTool = (yield* loadError(s, [definition(s, "bad-tool")])).error
      assert.include(badTool.message, "invalid tool name: no separator")
    })))

  it.scoped("an entry that cannot be imported is E_EXT_IMPORT", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const top = (yield* loadError(s, [definition(s, "import-throws")])).error
      assert.strictEqual(top._tag === "ExtensionLoadError" && top.code, "E_EXT_IMPORT")
      assert.include(top.message, "top-level failure while importing")
      const missing = (yield* loadError(s, [{ name: "missing-ext", entry: path.join(s.root, "nope.mjs"), config: {} }]))
        .error
      assert.strictEqual(missing._tag === "ExtensionLoadError" && missing.code, "E_EXT_IMPORT")
      assert.include(missing.message, "Extension/missing-ext")
    })))

  it.scoped("a failed load undoes what the extensions before it registered", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const defs = yield* Extension.definitions(s.bundle, "partial")
      const { error, pipeline, registry } = yield* loadError(
        s,
        defs.map((d) => ({ ...d, config: { ...d.config, logFile: s.logFile } }))
      )
      assert.strictEqual(error._tag === "ExtensionLoadError" && error.extension, "throws")
      assert.deepStrictEqual(yield* registry.catalog, [])
      const { order } = yield* turn(pipeline, "err")
      assert.deepStrictEqual(order, ["core"])
      assert.deepStrictEqual(logLines(s.logFile), [
        "err register recorder label=base level=info",
        "err dispose recorder",
        "err onDispose recorder"
      ])
    })))

  it.scoped("an unknown agent or an extension used twice is a typed error", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const unknown = yield* Effect.flip(Extension.definitions(s.bundle, "nobody"))
      assert.strictEqual(unknown.code, "E_EXT_AGENT_NOT_FOUND")
      assert.include(unknown.suggestion, "alpha")
      const twice = (yield* loadError(s, [definition(s, "rejects"), definition(s, "rejects")])).error
      assert.strictEqual(twice._tag === "ExtensionLoadError" && twice.code, "E_EXT_DUPLICATE")
    })))

  it.scoped("a register that never settles times out on the Clock", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const fiber = yield* Effect.fork(loadError(s, [definition(s, "hangs")]))
      // Wait until the timeout is scheduled (the import is real I/O), then move the clock past it.
      yield* TestClock.sleeps().pipe(
        Effect.tap(() => Effect.yieldNow()),
        Effect.repeat({ until: (sleeps) => Chunk.isNonEmpty(sleeps) })
      )
      yield* TestClock.adjust("30 seconds")
      const { error } = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag === "ExtensionLoadError" && error.code, "E_EXT_INIT")
      assert.include(error.message, "register did not finish within 30s")
    })))
})

class CoreFailed extends Schema.TaggedError<CoreFailed>()("CoreFailed", { reason: Schema.String }) {}

describe("Extension middleware errors", () => {
  const faulty = (s: Effect.Effect.Success<typeof setup>, mode: string) =>
    instance(s, "f", { extensions: [definition(s, "faulty", { mode })] })

  it.scoped("a Promise middleware's own throw is a MiddlewareError naming it", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const { pipeline } = yield* faulty(s, "promise-throws")
      const error = yield* Effect.flip(turn(pipeline, "f"))
      assert.strictEqual(error._tag, "MiddlewareError")
      assert.strictEqual((error as Middleware.MiddlewareError).middleware, "faulty/quota")
      assert.include((error as Middleware.MiddlewareError).message, "quota exceeded")
    })))

  it.scoped("a failure of next passes through a Promise middleware unchanged", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const { pipeline } = yield* faulty(s, "promise-passes-next-failure")
      const error = yield* Effect.flip(turn(pipeline, "f", "x", () => new CoreFailed({ reason: "model down" })))
      assert.instanceOf(error, CoreFailed)
      assert.strictEqual((error as CoreFailed).reason, "model down")
    })))

  it.scoped("interrupting a turn interrupts the rest of the onion under a Promise middleware", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const { pipeline } = yield* faulty(s, "promise-passes-next-failure")
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(turn(pipeline, "f", "x", () =>
        Deferred.succeed(started, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        )))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      // The core (run in its own fiber for the Promise middleware) was interrupted with the turn.
      yield* Deferred.await(interrupted)
    })))

  it.scoped("a middleware that returns nothing, a Promise from an Effect middleware, a defect, a bad state", () =>
    run(Effect.gen(function*() {
      const s = yield* setup
      const messages: Array<string> = []
      for (const mode of ["promise-returns-undefined", "effect-returns-promise", "effect-dies", "state-not-object"]) {
        const { pipeline, scope } = yield* faulty(s, mode)
        const error = yield* Effect.flip(turn(pipeline, "f"))
        assert.strictEqual(error._tag, "MiddlewareError", mode)
        messages.push((error as Middleware.MiddlewareError).message)
        yield* Scope.close(scope, Exit.void)
      }
      assert.include(messages[0], "faulty/forgot-return: returned undefined instead of a turn result")
      assert.include(
        messages[1],
        "returned a Promise; make it an async function or register it with { style: \"promise\" }"
      )
      assert.include(messages[2], "faulty/dies: bad index")
      assert.include(messages[3], "must be a plain JSON object, got an array")
    })))
})
