/**
 * Review of `effect-swarm run`, connectors and the CLI (session 16): what an attacker or a new user tried,
 * in real servers on loopback (fakes only at the LLM boundary).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Webhook } from "effect-swarm"
import * as http from "node:http"
import * as path from "node:path"
import * as Events from "../../src/cli/Events.js"
import * as Bin from "../cli/bin.js"
import { baseLayer, echoModel, event, readSse, serve, webYaml } from "../connector/helpers.js"

interface Answer {
  readonly status: number
  readonly body: string
}

/** One request with exactly these headers (fetch would not let a test set Host). */
const raw = (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string }
) =>
  Effect.async<Answer>((resume) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

describe("review s16: the http connector", () => {
  it.live("a web page cannot post events: cross-origin requests and DNS rebinding get 403, no turn runs", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const { orchestrator, url } = yield* serve({ "connectors.yaml": webYaml() }, undefined, {
        front: echoModel("front", calls)
      })
      const events = `${url}/connections/web-in/events`
      const port = new URL(url).port
      // A page on another site posting a text/plain form (no CORS preflight): the browser sends its Origin.
      const csrf = yield* raw(events, {
        method: "POST",
        headers: { "content-type": "text/plain", origin: "https://evil.example" },
        body: event("rm -rf", "victim")
      })
      assert.strictEqual(csrf.status, 403)
      assert.strictEqual(JSON.parse(csrf.body).error, "ForbiddenOrigin")
      assert.include(JSON.parse(csrf.body).message, "evil.example")
      // A page whose DNS name now resolves to 127.0.0.1: same-origin for the browser, but its Host is its own.
      const rebound = yield* raw(events, {
        method: "POST",
        headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}` },
        body: event("rm -rf", "victim")
      })
      assert.strictEqual(rebound.status, 403)
      assert.strictEqual(JSON.parse(rebound.body).error, "ForbiddenHost")
      const reading = yield* raw(`${url}/instances/front@u-victim/events`, {
        headers: { host: `evil.example:${port}` }
      })
      assert.strictEqual(reading.status, 403)
      const list = yield* orchestrator.list
      assert.deepStrictEqual(list.filter((i) => i.instanceKey === "u-victim"), [])
      assert.deepStrictEqual(calls, [])
      // Servers, scripts and curl (no Origin, a loopback Host) are served as before.
      const script = yield* raw(`${events}?wait=reply`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: event("hi", "ann")
      })
      assert.strictEqual(script.status, 200)
      assert.strictEqual(JSON.parse(script.body).reply.text, "front: hi")
      assert.deepStrictEqual(calls, ["front:hi"])
      const named = yield* raw(`${url}/healthz`, { headers: { host: `localhost:${port}` } })
      assert.strictEqual(named.status, 200)
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))

  it.live("a path with broken percent-encoding is a 400 naming it, not a 500 and an error in the log", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml() })
      const broken = yield* raw(`${url}/instances/front@u-%E0%A4%A/events`, {})
      assert.strictEqual(broken.status, 400)
      assert.strictEqual(JSON.parse(broken.body).error, "InvalidPath")
      assert.include(JSON.parse(broken.body).message, "%E0%A4%A")
      const post = yield* raw(`${url}/connections/web%ZZ/events`, { method: "POST", body: event("x", "ann") })
      assert.strictEqual(post.status, 400)
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))

  it.live("allowedHosts lets a loopback-bound connection answer a reverse proxy's name", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({
        "connectors.yaml": webYaml({ config: { allowedHosts: "Chat.Internal, x.test" } })
      })
      const port = new URL(url).port
      const proxied = yield* raw(`${url}/healthz`, { headers: { host: `chat.internal:${port}` } })
      assert.strictEqual(proxied.status, 200)
      const other = yield* raw(`${url}/healthz`, { headers: { host: "evil.example" } })
      assert.strictEqual(other.status, 403)
      assert.include(JSON.parse(other.body).message, "spec.config.allowedHosts")
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))

  it.live("with a signing secret, an instance's event stream needs a signature too (it carries the conversation)", () =>
    Effect.gen(function*() {
      const secret = "whsec-s16"
      const { url } = yield* serve({ "connectors.yaml": webYaml({ signingSecret: secret }) })
      const path = "/instances/front@u-eve/events"
      // Anyone who can reach the port read every instance's model inputs, tool calls and replies.
      const unsigned = yield* Effect.promise(async () => {
        const res = await fetch(`${url}${path}`)
        const status = res.status
        const body = status === 200 ? (await res.body?.cancel(), "") : await res.text()
        return { status, body }
      })
      assert.strictEqual(unsigned.status, 401)
      assert.include(JSON.parse(unsigned.body).message, "webhook signature")
      const t = String(Math.floor(Date.now() / 1000))
      const otherPath = yield* raw(`${url}${path}`, {
        headers: {
          [Webhook.header]: Webhook.sign(secret, "/instances/front@u-other/events", t),
          [Webhook.timestampHeader]: t
        }
      })
      assert.strictEqual(otherPath.status, 401)
      // Signed (the path, with the timestamp, as for a POST's body): the stream opens.
      const opened = yield* Effect.promise(async () => {
        const res = await fetch(`${url}${path}`, {
          headers: { [Webhook.header]: Webhook.sign(secret, path, t), [Webhook.timestampHeader]: t }
        })
        return { status: res.status, events: await readSse(res, (e) => e.event === "open") }
      })
      assert.strictEqual(opened.status, 200)
      assert.deepStrictEqual(opened.events.map((e) => e.data), [{ instance: "front@u-eve" }])
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))
})

/**
 * A swarm whose model answers with terminal control sequences (what a prompt injection makes a model say):
 * clear the screen, set the window title, write the clipboard (OSC 52), a carriage return over the line.
 */
const hostileYaml = `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: brain }
spec:
  provider: scripted
  script:
    - text: "\\e[2J\\e[Hsafe\\e]0;pwned\\a\\e]52;c;cm0gLXJmIH4=\\a\\rOK\\u009b31m"
---
apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: helper }
spec:
  modelConfig: { modelRef: Model/brain }
---
apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: desk }
spec:
  entryAgent: Agent/helper
  agents: [Agent/helper]
---
apiVersion: effect-swarm/v1
kind: Connector
metadata: { name: terminal }
spec:
  builtin: cli
  events: [{ name: stdin_message, properties: { line: { type: string }, channel: { type: string, optional: true } } }]
---
apiVersion: effect-swarm/v1
kind: Connection
metadata: { name: chat }
spec:
  connectorRef: Connector/terminal
  swarmRef: Swarm/desk
  ingress:
    rules:
      - match: { event: stdin_message }
        route: { agentRef: Agent/helper, instanceKey: tty }
`

// What a terminal would obey: ESC, BEL, CR and the C1 CSI.

const obeyed = /[\u001b\u0007\r\u009b]/

layer(Layer.merge(Bin.layer, NodeContext.layer), { timeout: 120_000 })(
  "review s16: model text on the terminal",
  (it) => {
    it.effect("send, run --once and the terminal chat show a reply's control sequences instead of obeying them", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "s16-hostile-" })
        yield* fs.writeFileString(path.join(dir, "resources.yaml"), hostileYaml)
        const shown = "^[[2J^[[Hsafe^[]0;pwned^G^[]52;c;cm0gLXJmIH4=^GOK\\u009b31m"

        const sent = yield* bin.run(["send", "--dir", dir, "helper@s", "hi"])
        assert.strictEqual(sent.code, 0, sent.stderr)
        assert.notMatch(sent.stdout, obeyed)
        assert.include(sent.stdout, shown)
        // --json keeps the exact text (JSON escapes it).
        const json = yield* bin.run(["send", "--dir", dir, "--json", "helper@j", "hi"])
        assert.strictEqual(
          JSON.parse(json.stdout).reply,
          "\u001b[2J\u001b[Hsafe\u001b]0;pwned\u0007\u001b]52;c;cm0gLXJmIH4=\u0007\rOK\u009b31m"
        )

        const once = yield* bin.run(["run", dir, "--once", "hi"])
        assert.strictEqual(once.code, 0, once.stderr)
        assert.notMatch(once.stdout, obeyed)
        assert.include(once.stdout, shown)

        const chat = yield* bin.run(["run", dir], { stdin: "hi\n" })
        assert.strictEqual(chat.code, 0, chat.stderr)
        assert.notMatch(chat.stdout, obeyed)
        assert.include(chat.stdout, shown)
      }).pipe(Effect.scoped))
  }
)

layer(Layer.merge(Bin.layer, NodeContext.layer), { timeout: 120_000 })(
  "review s16: a state root that is a file",
  (it) => {
    it.effect("send, run and instances list say the state root is a file and how to fix it (exit 3)", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "s16-root-" })
        yield* fs.writeFileString(path.join(dir, "resources.yaml"), hostileYaml)
        const file = path.join(dir, "not-a-directory")
        yield* fs.writeFileString(file, "")
        const env = { EFFECT_SWARM_HOME: file }
        const expected = `the state root ${file} is a file, not a directory: point EFFECT_SWARM_HOME at a directory`
        // Before: send failed deep in the turn (ENOTDIR on metadata.json), instances list printed "no instances".
        for (
          const args of [["send", "--dir", dir, "helper@x", "hi"], ["run", dir, "--once", "hi"], ["instances", "list"]]
        ) {
          const result = yield* bin.run(args, { env })
          assert.strictEqual(result.code, 3, `${args.join(" ")}: ${result.stdout}${result.stderr}`)
          assert.include(result.stderr, expected, args.join(" "))
        }
      }).pipe(Effect.scoped))
  }
)

describe("review s16: effect-swarm events", () => {
  it("a recorded reason or error message with control sequences is shown, not obeyed", () => {
    const line = JSON.stringify({
      type: "tool.failed",
      turnId: "t1",
      toolName: "web\u001b]0;x\u0007",
      errorMessage: "\u001b[2Jfake prompt\r$ "
    })
    const shown = Events.formatRecord(line, false)
    assert.notMatch(shown, obeyed)
    assert.include(shown, "tool=web^[]0;x^G")
    assert.include(shown, "error=^[[2Jfake prompt$ ")
    assert.notMatch(Events.formatRecord("\u001b[2J not json", false), obeyed)
  })
})
