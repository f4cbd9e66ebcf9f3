import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Queue } from "effect"
import type { Connector } from "effect-swarm"
import { Webhook } from "effect-swarm"
import { baseLayer, event, moduleConnectorYaml, post, readSse, serve, webYaml } from "./helpers.js"

declare global {
  var __httpCrashes: Queue.Queue<number> | undefined
}

describe("http connector", () => {
  it.live("healthz, accepted events, replies, streamed replies, and readable errors", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml({ maxBodyBytes: 2000 }) })
      const events = `${url}/connections/web-in/events`
      const health = yield* Effect.promise(() => fetch(`${url}/healthz`).then((r) => r.json()))
      assert.deepStrictEqual(health, { status: "ok", connection: "web-in" })

      const accepted = yield* post(events, event("hello", "ann"))
      assert.strictEqual(accepted.status, 202)
      assert.deepStrictEqual(accepted.body.accepted, {
        event: "message",
        agentName: "front",
        instanceKey: "u-ann",
        address: "front@u-ann"
      })

      const replied = yield* post(`${events}?wait=reply`, event("to back", "bo", { channel: "back" }))
      assert.strictEqual(replied.status, 200)
      const reply = replied.body.reply as Connector.Reply
      assert.strictEqual(reply.text, "back: to back")
      assert.strictEqual(reply.address, "back@bo")
      assert.strictEqual(reply.finishReason, "text_response")

      const streamed = yield* Effect.promise(async () => {
        const res = await fetch(`${events}?wait=stream`, { method: "POST", body: event("stream me", "cy") })
        assert.strictEqual(res.headers.get("content-type"), "text/event-stream")
        return readSse(res, () => false)
      })
      assert.deepStrictEqual(streamed.map((e) => e.event), ["accepted", "delta", "delta", "reply"])
      assert.strictEqual(streamed.slice(1, 3).map((e) => e.data.text).join(""), "front: stream me")
      assert.strictEqual(streamed[3]!.data.text, "front: stream me")

      const undeclared = yield* post(events, JSON.stringify({ name: "shout", text: "x" }))
      assert.strictEqual(undeclared.status, 400)
      assert.strictEqual(undeclared.body.error, "ConnectorEventInvalid")
      assert.include(undeclared.body.message, "declares no event \"shout\"")
      const badType = yield* post(events, JSON.stringify({ name: "message", text: "x", properties: { user: 1 } }))
      assert.strictEqual(badType.status, 400)
      assert.include(badType.body.message, "property \"user\"")
      const unrouted = yield* post(events, JSON.stringify({ name: "ping", text: "x" }))
      assert.strictEqual(unrouted.status, 422)
      assert.strictEqual(unrouted.body.error, "IngressNoMatch")
      const notJson = yield* post(events, "{nope")
      assert.strictEqual(notJson.status, 400)
      assert.strictEqual(notJson.body.error, "InvalidJson")
      const tooLarge = yield* post(events, event("x".repeat(3000), "ann"))
      assert.strictEqual(tooLarge.status, 413)
      assert.include(tooLarge.body.message, "at most 2000")
      const otherConnection = yield* post(`${url}/connections/elsewhere/events`, event("x", "ann"))
      assert.strictEqual(otherConnection.status, 404)
      assert.include(otherConnection.body.message, "POST /connections/web-in/events")
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))

  it.live("with a signing secret, unsigned and wrongly signed requests get 401 with a readable body", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml({ signingSecret: "whsec-test" }) })
      const events = `${url}/connections/web-in/events`
      const body = event("signed", "dee")
      const t = String(Math.floor(Date.now() / 1000))
      const signed = (secret: string, signedBody: string, timestamp = t) => ({
        [Webhook.header]: Webhook.sign(secret, signedBody, timestamp),
        [Webhook.timestampHeader]: timestamp
      })
      const unsigned = yield* post(events, body, { [Webhook.timestampHeader]: t })
      assert.strictEqual(unsigned.status, 401)
      assert.strictEqual(unsigned.body.error, "WebhookSignatureInvalid")
      assert.include(unsigned.body.message, "the request has no signature")
      assert.include(unsigned.body.message, Webhook.header)
      assert.include(unsigned.body.message, Webhook.timestampHeader)
      const wrong = yield* post(events, body, signed("another-secret", body))
      assert.strictEqual(wrong.status, 401)
      assert.include(wrong.body.message, "does not match <timestamp>.<body>")
      const tampered = yield* post(events, event("tampered", "dee"), signed("whsec-test", body))
      assert.strictEqual(tampered.status, 401)
      const malformed = yield* post(events, body, { [Webhook.header]: "sha256=xyz", [Webhook.timestampHeader]: t })
      assert.strictEqual(malformed.status, 401)
      assert.include(malformed.body.message, "64 hex digits")
      // The signature of the body alone (no timestamp) is refused: replay protection is on by default.
      const bodyOnly = yield* post(events, body, { [Webhook.header]: Webhook.sign("whsec-test", body) })
      assert.strictEqual(bodyOnly.status, 401)
      assert.include(bodyOnly.body.message, `no ${Webhook.timestampHeader} header`)
      // The timestamp is signed: another one with the same signature does not verify.
      const moved = yield* post(events, body, {
        ...signed("whsec-test", body),
        [Webhook.timestampHeader]: String(Number(t) + 1)
      })
      assert.strictEqual(moved.status, 401)
      const good = yield* post(`${events}?wait=reply`, body, signed("whsec-test", body))
      assert.strictEqual(good.status, 200)
      assert.strictEqual((good.body.reply as Connector.Reply).text, "front: signed")
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))

  it.live("1,000 requests in bursts of 100 are all routed and answered, none lost", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml() })
      const events = `${url}/connections/web-in/events?wait=reply`
      const answers = new Map<number, string>()
      for (let burst = 0; burst < 10; burst++) {
        yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => burst * 100 + i), (n) =>
          Effect.map(
            post(events, event(`msg-${n}`, `user-${n % 20}`, n % 5 === 0 ? { channel: "back" } : {})),
            (res) => {
              assert.strictEqual(res.status, 200, JSON.stringify(res.body))
              const reply = res.body.reply as Connector.Reply
              answers.set(n, `${reply.address} ${reply.text}`)
            }
          ), { concurrency: "unbounded", discard: true })
      }
      assert.strictEqual(answers.size, 1000)
      for (const [n, answer] of answers) {
        const expected = n % 5 === 0 ? `back@user-${n % 20} back: msg-${n}` : `front@u-user-${n % 20} front: msg-${n}`
        assert.strictEqual(answer, expected)
      }
    }).pipe(Effect.scoped, Effect.provide(baseLayer)), 120_000)

  it.live("GET /instances/<agent@key>/events streams the instance's runtime events and reply deltas", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml() })
      const seen = yield* Effect.promise(async () => {
        const res = await fetch(`${url}/instances/front@u-eve/events`)
        assert.strictEqual(res.status, 200)
        const reading = readSse(res, (e) => e.event === "reply")
        // Other instances' events are not in this stream.
        await fetch(`${url}/connections/web-in/events?wait=reply`, { method: "POST", body: event("other", "zed") })
        await fetch(`${url}/connections/web-in/events`, { method: "POST", body: event("watch me", "eve") })
        return reading
      })
      const names = seen.map((e) => e.event === "runtime" ? `runtime:${String(e.data.type)}` : e.event)
      assert.strictEqual(names[0], "open")
      assert.include(names, "runtime:turn.started")
      assert.include(names, "runtime:turn.completed")
      assert.deepStrictEqual(names.filter((n) => n === "delta").length, 2)
      assert.strictEqual(names[names.length - 1], "reply")
      assert.strictEqual(seen[seen.length - 1]!.data.text, "front: watch me")
      for (const e of seen.filter((e) => e.event === "runtime")) assert.strictEqual(e.data.instanceKey, "u-eve")
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))

  it.live("a crashing connector is restarted while the http connector keeps serving", () =>
    Effect.gen(function*() {
      const crashes = yield* Queue.unbounded<number>()
      globalThis.__httpCrashes = crashes
      const { connectors, url } = yield* serve({
        "connectors.yaml": `${webYaml()}---\n${moduleConnectorYaml("flaky", "flaky.mjs", ["tick"])}`,
        "flaky.mjs": `let starts = 0
export default async function run() {
  starts++
  globalThis.__httpCrashes.unsafeOffer(starts)
  if (starts <= 3) throw new Error("flaky start " + starts)
  await new Promise(() => {})
}
`
      }, { supervision: { initialBackoff: Duration.millis(10) } })
      for (let i = 1; i <= 4; i++) {
        assert.strictEqual(yield* Queue.take(crashes), i)
        const res = yield* post(`${url}/connections/web-in/events?wait=reply`, event(`during ${i}`, "fay"))
        assert.strictEqual(res.status, 200)
        assert.strictEqual((res.body.reply as Connector.Reply).text, `front: during ${i}`)
      }
      const status = yield* connectors.status
      const flaky = status.find((s) => s.connection === "flaky-in")!
      const web = status.find((s) => s.connection === "web-in")!
      assert.strictEqual(flaky.restarts, 3)
      assert.strictEqual(web.status, "running")
      assert.strictEqual(web.restarts, 0)
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))
})
