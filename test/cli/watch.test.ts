/**
 * `effect-swarm run --watch` as a user runs it: the built bin in a real process on a copy of
 * test/fixtures/bundles/watch (three agents behind two http Connections, `web` and `side`, each on a free
 * loopback port; each agent on its own scripted Model: a reply tells which Model and which instance
 * generation answered; gamma quotes its in-process TypeScript tool). Files are edited the
 * way editors save them (a temporary file renamed over the old one); every step waits for an output
 * marker or an HTTP reply, with a bounded wait; nothing sleeps.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)
const fixture = path.join(Bin.repo, "test/fixtures/bundles/watch")

/** One event through the http connector, answered when its turn ends: the reply text. */
const ask = (url: string, event: "alpha" | "beta" | "gamma", connection = "web") =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/connections/${connection}/events?wait=reply`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: event, text: "hello" })
    })
    const body = await response.text()
    if (response.status !== 200) return `HTTP ${response.status}: ${body}`
    return (JSON.parse(body) as { reply: { text: string } }).reply.text
  }).pipe(
    Effect.timeoutFail({ duration: Bin.bound, onTimeout: () => new Error(`no reply to ${event} within ${Bin.bound}`) }),
    Effect.orDie
  )

/** Saves a file as editors do: a temporary file beside it, renamed over it. */
const save = (file: string, text: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.swp`)
    yield* fs.writeFileString(tmp, text)
    yield* fs.rename(tmp, file)
  })

/** A copy of the fixture, and `run <copy> --watch` started on a private state root (killed with the scope). */
const serve = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-watch-home-" })
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-watch-" })
  yield* fs.copy(fixture, dir)
  const run = yield* Bin.start(["run", dir, "--watch"], { env: { EFFECT_SWARM_HOME: home } })
  const seen: Array<string> = []
  // The watchers are in place before this line: an edit made after it is seen.
  yield* Bin.waitLine(run.errors, seen, /^watch: watching .+ for changes$/)
  // The two connections announce in either order.
  const urls = new Map<string, string>()
  while (urls.size < 2) {
    const [, name, at] = yield* Bin.waitLine(run.errors, seen, /^connection (web|side): listening on (http:\/\/\S+)$/)
    urls.set(name!, at!)
  }
  const stop = Effect.gen(function*() {
    yield* run.kill("SIGTERM")
    assert.strictEqual(yield* run.exitCode, 0, seen.join("\n"))
  })
  return { dir, url: urls.get("web")!, side: urls.get("side")!, run, seen, stop, fs }
})

describe("effect-swarm run --watch", () => {
  layer(Live, { timeout: 240_000, excludeTestServices: true })((it) => {
    it.scoped("an edit to one agent's YAML, then to its prompt file, restarts only that agent; the other keeps its instance", () =>
      Effect.gen(function*() {
        const { dir, fs, run, seen, stop, url } = yield* serve
        assert.strictEqual(yield* ask(url, "alpha"), "alpha v1 reply 1")
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 1")

        // alpha's YAML: another Model.
        const agentFile = path.join(dir, "alpha", "agent.yaml")
        const original = yield* fs.readFileString(agentFile)
        yield* save(agentFile, original.replace("Model/alpha-v1", "Model/alpha-v2"))
        yield* Bin.waitLine(run.errors, seen, /^watch: reloaded alpha\/agent\.yaml: changed alpha; restarted alpha@a$/)
        assert.strictEqual(yield* ask(url, "alpha"), "alpha v2 reply 1")
        // beta's instance kept running: its Model's script goes on where it was.
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 2")

        // alpha's prompt file: alpha restarts again (a fresh generation starts its Model's script over).
        const prompt = path.join(dir, "alpha", "prompt.md")
        yield* save(prompt, "You are alpha. Be terse.\n")
        yield* Bin.waitLine(run.errors, seen, /^watch: reloaded alpha\/prompt\.md: changed alpha; restarted alpha@a$/)
        assert.strictEqual(yield* ask(url, "alpha"), "alpha v2 reply 1")
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 3")
        // No reload ever named beta.
        assert.isFalse(seen.some((l) => l.startsWith("watch: reloaded") && l.includes("beta")), seen.join("\n"))
        yield* stop
      }))

    it.scoped("an edit to an in-process TypeScript tool's code restarts its agent, whose next turn runs the new code; the others keep theirs", () =>
      Effect.gen(function*() {
        const { dir, fs, run, seen, stop, url } = yield* serve
        assert.strictEqual(yield* ask(url, "gamma"), "gamma quotes stamp version 1")
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 1")

        const tool = path.join(dir, "gamma", "stamp.ts")
        const original = yield* fs.readFileString(tool)
        yield* save(tool, original.replace("stamp version 1", "stamp version 2"))
        yield* Bin.waitLine(run.errors, seen, /^watch: reloaded gamma\/stamp\.ts: changed gamma; restarted gamma@g$/)
        assert.strictEqual(yield* ask(url, "gamma"), "gamma quotes stamp version 2")
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 2")

        // Back to the first content: that version again (Node's cache holds it under the same content version).
        yield* save(tool, original)
        yield* Bin.waitLine(run.errors, seen, /^watch: reloaded gamma\/stamp\.ts: changed gamma; restarted gamma@g$/)
        assert.strictEqual(yield* ask(url, "gamma"), "gamma quotes stamp version 1")
        assert.isFalse(seen.some((l) => l.includes("in-process module")), seen.join("\n"))
        yield* stop
      }))

    it.scoped("a Connection edit restarts only that connection, with its new ingress rules; the other keeps serving; an edit that does not load keeps the old one and says why", () =>
      Effect.gen(function*() {
        const { dir, fs, run, seen, side, stop, url } = yield* serve
        assert.strictEqual(yield* ask(side, "beta", "side"), "beta reply 1")
        const file = path.join(dir, "side", "connection.yaml")
        const original = yield* fs.readFileString(file)

        // side routes beta to another instance now (a fresh one: its Model's script starts over).
        yield* save(file, original.replace("instanceKey: s }", "instanceKey: s2 }"))
        // The restarted connection announces its address before or after the reload's line.
        let moved: string | undefined
        let reloaded = false
        while (moved === undefined || !reloaded) {
          const [line, at] = yield* Bin.waitLine(
            run.errors,
            seen,
            /^watch: reloaded side\/connection\.yaml: restarted connection side$|^connection side: listening on (http:\/\/\S+)$/
          )
          if (at !== undefined) moved = at
          else if (line.startsWith("watch:")) reloaded = true
        }
        assert.strictEqual(yield* ask(moved, "beta", "side"), "beta reply 1")
        // web was not restarted: same address, and its routes still reach the instances it had.
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 1")
        assert.strictEqual(yield* ask(moved, "beta", "side"), "beta reply 2")

        // A value that does not resolve: the bundle is valid, the connection does not load; it keeps serving.
        yield* save(
          file,
          original.replace("port: { value: \"0\" }", "port: { valueFrom: { env: EFFECT_SWARM_WATCH_UNSET } }")
        )
        yield* Bin.waitLine(
          run.errors,
          seen,
          /^watch: connection side keeps running its previous version: \[E_CONNECTOR_CONFIG\] .*EFFECT_SWARM_WATCH_UNSET/
        )
        assert.strictEqual(yield* ask(moved, "beta", "side"), "beta reply 3")
        assert.isFalse(seen.some((l) => l.includes("restarted connection web")), seen.join("\n"))
        yield* stop
      }))

    it.scoped("an invalid edit keeps the running swarm and prints the errors (file, field, suggestion); the fixed edit then reloads", () =>
      Effect.gen(function*() {
        const { dir, fs, run, seen, stop, url } = yield* serve
        assert.strictEqual(yield* ask(url, "alpha"), "alpha v1 reply 1")
        const agentFile = path.join(dir, "alpha", "agent.yaml")
        const original = yield* fs.readFileString(agentFile)

        yield* save(agentFile, original.replace("modelConfig:", "modelConfg:"))
        yield* Bin.waitLine(
          run.errors,
          seen,
          /^watch: alpha\/agent\.yaml changed; the bundle has \d+ errors?: the swarm keeps running its previous version$/
        )
        yield* Bin.waitLine(
          run.errors,
          seen,
          /^alpha\/agent\.yaml:0 spec\.modelConfg \(line \d+\) {2}E_CONFIG_UNKNOWN_FIELD/
        )
        yield* Bin.waitLine(run.errors, seen, /^ {4}suggestion: did you mean "modelConfig"\?$/)
        // The previous version still answers, on the same instance (its script goes on).
        assert.strictEqual(yield* ask(url, "alpha"), "alpha v1 reply 2")
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 1")

        // Fixed (and pointed at the other Model): reloaded, alpha restarted on it.
        yield* save(agentFile, original.replace("Model/alpha-v1", "Model/alpha-v2"))
        yield* Bin.waitLine(run.errors, seen, /^watch: reloaded alpha\/agent\.yaml: changed alpha; restarted alpha@a$/)
        assert.strictEqual(yield* ask(url, "alpha"), "alpha v2 reply 1")
        assert.strictEqual(yield* ask(url, "beta"), "beta reply 2")
        yield* stop
      }))
  })
})
