/**
 * Review of `effect-swarm run`, connectors and the CLI (session 16): what an attacker or a new user tried,
 * in real servers on loopback (fakes only at the LLM boundary).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Webhook } from "effect-swarm"
import * as http from "node:http"
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
