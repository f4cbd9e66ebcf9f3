/**
 * The http connector's replay protection and event-stream heartbeat, both on the `Clock`: `TestClock` moves
 * time; the server, its requests and the turns are real (loopback, port 0; the agents echo).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Effect, Queue, TestClock } from "effect"
import { Webhook } from "effect-swarm"
import { baseLayer, event, post, serve, webYaml } from "./helpers.js"

const epoch = 1_700_000_000 // seconds: the TestClock is set here, so timestamps look like real ones

/** Headers of a request signed at `t` (Unix seconds). */
const signedAt = (secret: string, body: string, t: number | string) => ({
  [Webhook.header]: Webhook.sign(secret, body, t),
  [Webhook.timestampHeader]: String(t)
})

/** Waits (at most 60 s on the real clock) until a fiber sleeps until `at` (millis) on the TestClock. */
const sleepingUntil = (at: number) =>
  Effect.raceFirst(
    Effect.gen(function*() {
      while (!Chunk.some(yield* TestClock.sleeps(), (t) => t === at)) yield* Effect.yieldNow()
    }),
    Effect.sleep("60 seconds").pipe(
      Effect.zipRight(Effect.dieMessage(`nothing sleeps until ${at} on the TestClock`)),
      Effect.withClock(Clock.make())
    )
  )

/** The raw blocks (`event: ...\ndata: ...` or `: heartbeat`) of an event stream, as they arrive. */
const blocksOf = (url: string) =>
  Effect.gen(function*() {
    const blocks = yield* Queue.unbounded<string>()
    const controller = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
    const res = yield* Effect.promise(() => fetch(url, { signal: controller.signal }))
    assert.strictEqual(res.status, 200)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    void (async () => {
      let buffer = ""
      while (true) {
        const { done, value } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        let end = buffer.indexOf("\n\n")
        while (end >= 0) {
          blocks.unsafeOffer(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf("\n\n")
        }
      }
    })().catch(() => undefined)
    return blocks
  })

describe("http connector: replay protection (signed timestamps)", () => {
  it.scoped("a timestamp within 300 s either way passes; stale, future, missing or malformed ones get 401 saying why", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch * 1000)
      const { url } = yield* serve({ "connectors.yaml": webYaml({ signingSecret: "whsec" }) })
      const events = `${url}/connections/web-in/events`
      const body = event("hello", "ann")
      for (const t of [epoch, epoch - 300, epoch + 300]) {
        const ok = yield* post(events, body, signedAt("whsec", body, t))
        assert.strictEqual(ok.status, 202, `t = epoch ${t - epoch}: ${JSON.stringify(ok.body)}`)
      }
      const stale = yield* post(events, body, signedAt("whsec", body, epoch - 301))
      assert.strictEqual(stale.status, 401)
      assert.strictEqual(stale.body.error, "WebhookSignatureInvalid")
      assert.include(stale.body.message, "the timestamp is 301 s old; requests signed more than 300 s ago are refused")
      const future = yield* post(events, body, signedAt("whsec", body, epoch + 301))
      assert.strictEqual(future.status, 401)
      assert.include(future.body.message, "the timestamp is 301 s in the future")
      const missing = yield* post(events, body, { [Webhook.header]: Webhook.sign("whsec", body, epoch) })
      assert.strictEqual(missing.status, 401)
      assert.include(missing.body.message, `the request has no ${Webhook.timestampHeader} header`)
      const malformed = yield* post(events, body, signedAt("whsec", body, "soon"))
      assert.strictEqual(malformed.status, 401)
      assert.include(malformed.body.message, "is not a Unix time in seconds: \"soon\"")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a captured request sent again after the window is refused", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch * 1000)
      const { url } = yield* serve({ "connectors.yaml": webYaml({ signingSecret: "whsec" }) })
      const events = `${url}/connections/web-in/events`
      const body = event("pay once", "bo")
      const captured = signedAt("whsec", body, epoch)
      assert.strictEqual((yield* post(events, body, captured)).status, 202)
      yield* TestClock.adjust("300 seconds")
      assert.strictEqual((yield* post(events, body, captured)).status, 202, "still inside the window")
      yield* TestClock.adjust("1 second")
      const replayed = yield* post(events, body, captured)
      assert.strictEqual(replayed.status, 401)
      assert.include(replayed.body.message, "the timestamp is 301 s old")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("replayToleranceSeconds sets the window; 0 turns the timestamp off (the body alone is signed)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch * 1000)
      const body = event("hi", "cy")
      yield* Effect.scoped(Effect.gen(function*() {
        const { url } = yield* serve({
          "connectors.yaml": webYaml({ signingSecret: "whsec", config: { replayToleranceSeconds: "60" } })
        })
        const events = `${url}/connections/web-in/events`
        assert.strictEqual((yield* post(events, body, signedAt("whsec", body, epoch - 60))).status, 202)
        const old = yield* post(events, body, signedAt("whsec", body, epoch - 61))
        assert.strictEqual(old.status, 401)
        assert.include(old.body.message, "61 s old; requests signed more than 60 s ago")
      }))
      const { url } = yield* serve({
        "connectors.yaml": webYaml({ signingSecret: "whsec", config: { replayToleranceSeconds: "0" } })
      })
      const events = `${url}/connections/web-in/events`
      assert.strictEqual((yield* post(events, body, { [Webhook.header]: Webhook.sign("whsec", body) })).status, 202)
      const timestamped = yield* post(events, body, signedAt("whsec", body, epoch))
      assert.strictEqual(timestamped.status, 401, "the timestamped format is not what this connection checks")
    }).pipe(Effect.provide(baseLayer)))
})

describe("http connector: event stream heartbeat", () => {
  it.scoped("a comment line every heartbeatSeconds on the Clock, between the events", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml({ config: { heartbeatSeconds: "5" } }) })
      const start = yield* Clock.currentTimeMillis
      const blocks = yield* blocksOf(`${url}/instances/front@u-hb/events`)
      assert.strictEqual(yield* Queue.take(blocks), `event: open\ndata: {"instance":"front@u-hb"}`)
      yield* sleepingUntil(start + 5000)
      // Not before 5 s: a turn's events arrive, no heartbeat among them.
      yield* TestClock.adjust("4999 millis")
      const replied = yield* post(`${url}/connections/web-in/events?wait=reply`, event("beat", "hb"))
      assert.strictEqual(replied.status, 200)
      const before: Array<string> = []
      while (!before.at(-1)?.startsWith("event: reply")) before.push(yield* Queue.take(blocks))
      assert.isFalse(before.some((b) => b.startsWith(":")), before.join("\n\n"))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Queue.take(blocks), ": heartbeat")
      yield* sleepingUntil(start + 10_000)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* Queue.take(blocks), ": heartbeat")
      assert.strictEqual(yield* Queue.size(blocks), 0)
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("the default is 15 s; heartbeatSeconds 0 sends none", () =>
    Effect.gen(function*() {
      const { url } = yield* serve({ "connectors.yaml": webYaml() })
      const start = yield* Clock.currentTimeMillis
      const blocks = yield* blocksOf(`${url}/instances/front@u-d/events`)
      assert.strictEqual(yield* Queue.take(blocks), `event: open\ndata: {"instance":"front@u-d"}`)
      yield* sleepingUntil(start + 15_000)
      yield* TestClock.adjust("15 seconds")
      assert.strictEqual(yield* Queue.take(blocks), ": heartbeat")

      const off = yield* serve({ "connectors.yaml": webYaml({ config: { heartbeatSeconds: "0" } }) })
      const quiet = yield* blocksOf(`${off.url}/instances/front@u-q/events`)
      assert.strictEqual(yield* Queue.take(quiet), `event: open\ndata: {"instance":"front@u-q"}`)
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* post(`${off.url}/connections/web-in/events?wait=reply`, event("q", "q"))).status, 200)
      const seen: Array<string> = []
      while (!seen.at(-1)?.startsWith("event: reply")) seen.push(yield* Queue.take(quiet))
      assert.isFalse(seen.some((b) => b.startsWith(":")), seen.join("\n\n"))
    }).pipe(Effect.provide(baseLayer)))
})
