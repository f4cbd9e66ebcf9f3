// One workspace, one orchestrator (issue 16, session 12): an orchestrator with a state root holds
// <root>/workspaces/<id>/orchestrator.lock for its scope; a second one on the same workspace is refused when it
// starts, typed, naming the holder, and writes nothing. Real files, a real second process (the public API in a
// bundled child script), the echo model as the only fake.
import type { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { Orchestrator } from "effect-swarm"
import { spawn } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { buildFixture } from "../support/process.js"
import { storesLayer } from "../support/stores.js"
import {
  baseLayer,
  bundleDir,
  durableContext,
  echoModel,
  loadBundle,
  openDurable,
  scopedTest,
  text
} from "./helpers.js"

/** Every file under `dir` with its size and modification time: what a refused start must leave as it was. */
const snapshot = (fs: FileSystem.FileSystem, dir: string) =>
  Effect.gen(function*() {
    const names = yield* fs.readDirectory(dir, { recursive: true })
    const files: Array<string> = []
    for (const name of [...names].sort()) {
      const info = yield* fs.stat(path.join(dir, name))
      if (info.type === "File") files.push(`${name} ${info.size} ${Option.getOrUndefined(info.mtime)?.getTime()}`)
    }
    return files
  }).pipe(Effect.orDie)

/** The child orchestrator of `root-holder.ts` on `root`, running once it printed "ready"; killed with the scope. */
const holderProcess = (script: string, root: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly pid: number; readonly exited: Promise<void>; readonly kill: () => void }, Error>(
      (resume) => {
        const child = spawn(process.execPath, [script, root, bundleDir], { stdio: ["ignore", "pipe", "pipe"] })
        const exited = new Promise<void>((done) => child.on("exit", () => done()))
        let out = ""
        let err = ""
        child.stdout.setEncoding("utf8")
        child.stdout.on("data", (d: string) => {
          out += d
          if (out.includes("ready\n")) {
            resume(Effect.succeed({ pid: child.pid!, exited, kill: () => void child.kill("SIGKILL") }))
          } else if (out.includes("failed")) resume(Effect.fail(new Error(out)))
        })
        child.stderr.on("data", (d) => err += String(d))
        child.on("exit", (code) => resume(Effect.fail(new Error(`holder exited (${code}): ${out} ${err}`))))
        return Effect.sync(() => child.kill("SIGKILL"))
      }
    ),
    (holder) => Effect.promise(() => (holder.kill(), holder.exited))
  )

describe("one workspace, one orchestrator: refused at start", () => {
  it.live(
    "another process holds the workspace: the start fails WorkspaceLocked naming its pid, host and start, writes " +
      "nothing; once that process is killed, its stale lock is taken over",
    () =>
      Effect.gen(function*() {
        const { context, fs, root } = yield* durableContext("es-orch-rootlock-")
        const script = yield* buildFixture("root-holder", "orchestrator")
        const holder = yield* holderProcess(script, root)
        const bundle = yield* loadBundle
        const model = echoModel()
        const models = { models: { alpha: model.service, beta: model.service } }
        const before = yield* snapshot(fs, root)
        const refused = yield* Effect.flip(
          Effect.scoped(Orchestrator.make(bundle, "default", models)).pipe(
            Effect.provide(context)
          )
        )
        assert.strictEqual(refused._tag, "WorkspaceLocked", refused.message)
        if (refused._tag !== "WorkspaceLocked") return
        assert.strictEqual(refused.pid, holder.pid)
        assert.strictEqual(refused.hostname, os.hostname())
        assert.isFalse(refused.sameProcess)
        assert.match(refused.since ?? "", /^\d{4}-\d\d-\d\dT/)
        assert.strictEqual(refused.file, path.join(root, "workspaces", "default", "orchestrator.lock"))
        assert.include(refused.message, `process ${holder.pid} on host ${os.hostname()}, running since`)
        assert.include(refused.message, "Stop that process first")
        assert.deepStrictEqual(yield* snapshot(fs, root), before, "the refused start wrote under the root")
        // The holder dies without a finalizer: its lock is stale, and the next start takes it over.
        holder.kill()
        yield* Effect.promise(() => holder.exited)
        const scope = yield* Scope.make()
        const orchestrator = yield* Orchestrator.make(bundle, "default", models).pipe(
          Effect.provide(context),
          Scope.extend(scope)
        )
        assert.include(yield* fs.readFileString(refused.file), `"pid":${process.pid}`)
        assert.strictEqual(text(yield* orchestrator.request("alpha@one", "hi")), "echo: hi")
        yield* Scope.close(scope, Exit.void)
        assert.isFalse(yield* fs.exists(refused.file), "the lock goes with the orchestrator's scope")
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    120_000
  )

  scopedTest(
    "a second orchestrator in this process on the same workspace (also through a symlinked root) is refused at " +
      "start and writes nothing; another workspace of the root starts; after the first closes, the next starts",
    () =>
      Effect.gen(function*() {
        const { context, fs, root } = yield* durableContext("es-orch-rootlock-")
        const bundle = yield* loadBundle
        const model = echoModel()
        const models = { models: { alpha: model.service, beta: model.service } }
        const first = yield* openDurable(bundle, "default", context, models)
        assert.strictEqual(text(yield* first.orchestrator.request("alpha@one", "hello")), "echo: hello")
        const before = yield* snapshot(fs, root)
        const link = `${root}-link`
        yield* fs.symlink(root, link)
        yield* Effect.addFinalizer(() => fs.remove(link).pipe(Effect.ignore))
        for (const at of [root, link]) {
          // Its own stores on the same files, as another orchestrator of this process would have.
          const refused = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
            const other = yield* Layer.build(storesLayer(at))
            return yield* Orchestrator.make(bundle, "default", models).pipe(Effect.provide(other))
          })))
          assert.strictEqual(refused._tag, "WorkspaceLocked", `${at}: ${refused.message}`)
          if (refused._tag !== "WorkspaceLocked") return
          assert.isTrue(refused.sameProcess)
          assert.strictEqual(refused.pid, process.pid)
          assert.include(refused.message, "another orchestrator in this process, running since")
          assert.include(refused.message, "Close that orchestrator's scope first")
        }
        assert.deepStrictEqual(yield* snapshot(fs, root), before, "the refused start wrote under the root")
        // Another workspace of the same root is another orchestrator's business: it starts.
        const elsewhere = yield* openDurable(bundle, "default", context, { ...models, workspaceId: "elsewhere" })
        assert.strictEqual(text(yield* elsewhere.orchestrator.request("alpha@one", "there")), "echo: there")
        yield* Scope.close(elsewhere.scope, Exit.void)
        yield* Scope.close(first.scope, Exit.void)
        const next = yield* openDurable(bundle, "default", context, models)
        assert.strictEqual(text(yield* next.orchestrator.request("alpha@one", "again")), "echo: again")
        yield* Scope.close(next.scope, Exit.void)
      }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  scopedTest(
    "orchestrators without a state root (in memory) take no lock: two of one swarm run side by side",
    () =>
      Effect.gen(function*() {
        const bundle = yield* loadBundle
        const model = echoModel()
        const models = { models: { alpha: model.service, beta: model.service } }
        const a = yield* Orchestrator.makeInMemory(bundle, "default", models)
        const b = yield* Orchestrator.makeInMemory(bundle, "default", models)
        assert.strictEqual(text(yield* a.request("alpha@one", "a")), "echo: a")
        assert.strictEqual(text(yield* b.request("alpha@one", "b")), "echo: b")
      }).pipe(Effect.provide(baseLayer))
  )
})
