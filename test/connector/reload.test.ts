/**
 * `Connectors.reload` (what `run --watch` calls on an edit): only the connections whose Connection, Connector
 * or module changed restart, each on its new version; the others keep running; a new version that does not
 * load leaves the old one running and says why; Connections added to or removed from the bundle start and
 * stop. Real module files in a temp directory, edited between loads; each module reports its starts and stops
 * to the test through a queue on globalThis (nothing sleeps: every wait is for a report).
 */
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Queue } from "effect"
import { Bundle, Connectors } from "effect-swarm"
import * as path from "node:path"
import { baseLayer, moduleConnectorYaml, orchestratorOf, swarmYaml, writeFiles } from "./helpers.js"

declare global {
  var __reloadProbe: ((line: string) => void) | undefined
}

/**
 * A connector module `name` at `version`: on start it asks the entry agent (the Connection's ingress rules
 * route it) and reports `start <name> <version> <config.tag> -> <replying address>`; on stop, `stop <name> <version>`.
 */
const connectorModule = (name: string, version: string) =>
  `export default async function run(ctx) {
  ctx.signal.addEventListener("abort", () => globalThis.__reloadProbe("stop ${name} ${version}"))
  const reply = await ctx.request({ name: "ping", message: { type: "text", text: "hello" }, instanceKey: "k" })
  globalThis.__reloadProbe("start ${name} ${version} " + (ctx.config.tag ?? "-") + " -> " + reply.address)
  await new Promise(() => {})
}
`

const connection = (name: string, options: { readonly tag?: string; readonly agent?: string } = {}) =>
  moduleConnectorYaml(
    name,
    `${name}.mjs`,
    ["ping"],
    (options.tag === undefined ? "" : `  config:\n    tag: { value: "${options.tag}" }\n`) +
      (options.agent === undefined
        ? ""
        : `  ingress:\n    rules:\n      - route: { agentRef: Agent/${options.agent} }\n`)
  )

/** A bundle directory with connections `a` and `b` (`a/connector.yaml`, module `a.mjs`), their modules at v1; `probe` gets every report. */
const setup = Effect.gen(function*() {
  const probe = yield* Queue.unbounded<string>()
  globalThis.__reloadProbe = (line) => Queue.unsafeOffer(probe, line)
  const dir = yield* writeFiles({
    "swarm.yaml": swarmYaml,
    "a/connector.yaml": connection("a"),
    "b/connector.yaml": connection("b"),
    "a.mjs": connectorModule("a", "v1"),
    "b.mjs": connectorModule("b", "v1")
  }, "connector-reload-")
  const fs = yield* FileSystem.FileSystem
  const write = (name: string, text: string) => fs.writeFileString(path.join(dir, name), text)
  const bundle = yield* Bundle.load(dir)
  const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle))
  const started = new Set([yield* Queue.take(probe), yield* Queue.take(probe)])
  assert.deepStrictEqual(started, new Set(["start a v1 - -> front@k", "start b v1 - -> front@k"]))
  const reload = Effect.flatMap(Bundle.load(dir), connectors.reload)
  return { probe, dir, write, connectors, reload }
})

const nothingMore = (probe: Queue.Queue<string>) =>
  Effect.map(Queue.poll(probe), (next) => assert.isTrue(Option.isNone(next), `unexpected: ${Option.getOrNull(next)}`))

describe("Connectors.reload", () => {
  it.scoped("an edited module restarts only its connection, on the new code; the other keeps running", () =>
    Effect.gen(function*() {
      const { connectors, probe, reload, write } = yield* setup
      yield* write("a.mjs", connectorModule("a", "v2"))
      const report = yield* reload
      assert.deepStrictEqual(report, { restarted: ["a-in"], added: [], removed: [], failed: [] })
      assert.strictEqual(yield* Queue.take(probe), "stop a v1")
      assert.strictEqual(yield* Queue.take(probe), "start a v2 - -> front@k")
      yield* nothingMore(probe)
      // Nothing changed since: nothing restarts.
      assert.deepStrictEqual(yield* reload, { restarted: [], added: [], removed: [], failed: [] })
      yield* nothingMore(probe)
      assert.deepStrictEqual((yield* connectors.status).map((s) => [s.connection, s.status]), [
        ["a-in", "running"],
        ["b-in", "running"]
      ])
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a Connection edit (config, ingress rules) restarts that connection with the new values", () =>
    Effect.gen(function*() {
      const { probe, reload, write } = yield* setup
      yield* write("b/connector.yaml", connection("b", { tag: "two", agent: "back" }))
      assert.deepStrictEqual(yield* reload, { restarted: ["b-in"], added: [], removed: [], failed: [] })
      assert.strictEqual(yield* Queue.take(probe), "stop b v1")
      // The new ingress rule routes to back, and the new config is the connector's.
      assert.strictEqual(yield* Queue.take(probe), "start b v1 two -> back@k")
      yield* nothingMore(probe)
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a new version that does not load keeps the old one running and says why; the fixed one then restarts", () =>
    Effect.gen(function*() {
      const { connectors, probe, reload, write } = yield* setup
      yield* write("a.mjs", "export default async function run(ctx) { this is not JavaScript }\n")
      const report = yield* reload
      assert.deepStrictEqual([report.restarted, report.added, report.removed], [[], [], []])
      assert.strictEqual(report.failed.length, 1)
      assert.strictEqual(report.failed[0]!.connection, "a-in")
      assert.strictEqual(report.failed[0]!.error.code, "E_CONNECTOR_IMPORT")
      assert.include(report.failed[0]!.error.message, "a.mjs")
      yield* nothingMore(probe)
      assert.strictEqual((yield* connectors.status)[0]!.status, "running")

      yield* write("a.mjs", connectorModule("a", "v3"))
      assert.deepStrictEqual(yield* reload, { restarted: ["a-in"], added: [], removed: [], failed: [] })
      assert.strictEqual(yield* Queue.take(probe), "stop a v1")
      assert.strictEqual(yield* Queue.take(probe), "start a v3 - -> front@k")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a Connection removed from the bundle stops, a new one starts", () =>
    Effect.gen(function*() {
      const { connectors, dir, probe, reload, write } = yield* setup
      const fs = yield* FileSystem.FileSystem
      yield* fs.remove(path.join(dir, "b", "connector.yaml"))
      yield* fs.makeDirectory(path.join(dir, "c"))
      yield* write("c/connector.yaml", connection("c"))
      yield* write("c.mjs", connectorModule("c", "v1"))
      assert.deepStrictEqual(yield* reload, { restarted: [], added: ["c-in"], removed: ["b-in"], failed: [] })
      assert.strictEqual(yield* Queue.take(probe), "stop b v1")
      assert.strictEqual(yield* Queue.take(probe), "start c v1 - -> front@k")
      yield* nothingMore(probe)
      assert.deepStrictEqual(connectors.connections, ["a-in", "c-in"])
    }).pipe(Effect.provide(baseLayer)))
})
