import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Exit, Scope } from "effect"
import type { Connector } from "effect-swarm"
import { Connectors, Webhook } from "effect-swarm"
import { baseLayer, bundleOf, orchestratorOf } from "./helpers.js"

declare global {
  var __connectorProbes: Record<string, (ctx: Connector.ConnectorContext) => void> | undefined
}

/** A goondan-style module: hands its context to the test (by `config.probe`), then runs until stopped. */
const handOver = `export default async function run(ctx) {
  globalThis.__connectorProbes[ctx.config.probe](ctx)
  await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
}
`

const chatYaml = (probe: string, extra = "") =>
  `apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: chat
spec:
  entry: ./chat.mjs
  events:
    - name: message
      properties:
        channel: { type: string, optional: true }
        user: { type: string }
        urgent: { type: boolean, optional: true }
    - name: ping
---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: chat-in
spec:
  connectorRef: Connector/chat
  config:
    probe: { value: "${probe}" }
    greeting: { valueFrom: { env: GREETING } }
    optional: { valueFrom: { env: NOT_SET_ANYWHERE, required: false } }
  secrets:
    token: { valueFrom: { secretRef: { ref: Secret/chat, key: token } } }
  verify:
    webhook:
      signingSecret: { value: "whsec" }
  ingress:
    rules:
      - match: { event: message, properties: { channel: back } }
        route: { agentRef: Agent/back, instanceKeyProperty: user, instanceKeyPrefix: "u-" }
      - match: { event: message }
        route: { instanceKey: main }
${extra}`

const env = ConfigProvider.fromMap(new Map([["GREETING", "hello"], ["EFFECT_SWARM_SECRET_CHAT_TOKEN", "s3cret"]]))

/** Starts the chat connector in a scope of its own and returns the context its module received. */
const startChat = (probe: string, calls: Array<string>) =>
  Effect.gen(function*() {
    const received = yield* Deferred.make<Connector.ConnectorContext>()
    globalThis.__connectorProbes = {
      ...globalThis.__connectorProbes,
      [probe]: (ctx) => Deferred.unsafeDone(received, Exit.succeed(ctx))
    }
    const bundle = yield* bundleOf({ "connectors.yaml": chatYaml(probe), "chat.mjs": handOver })
    const orchestrator = yield* orchestratorOf(bundle, calls)
    const connectors = yield* Connectors.run(bundle, orchestrator).pipe(Effect.withConfigProvider(env))
    return { ctx: yield* Deferred.await(received), connectors, orchestrator }
  })

describe("Connector contract (module run(ctx))", () => {
  it.scoped("config and secrets resolve through ValueSource; emit resolves once accepted, routed by the ingress rules", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const { ctx, orchestrator } = yield* startChat("emit", calls)
      assert.deepStrictEqual(ctx.config, { probe: "emit", greeting: "hello" })
      assert.deepStrictEqual(ctx.secrets, { token: "s3cret" })
      assert.strictEqual(ctx.connection, "chat-in")
      assert.strictEqual(ctx.connector, "chat")
      const toBack = yield* Effect.promise(() =>
        ctx.emit({
          name: "message",
          message: { type: "text", text: "to back" },
          properties: { channel: "back", user: "ann" }
        })
      )
      assert.deepStrictEqual(toBack, {
        event: "message",
        agentName: "back",
        instanceKey: "u-ann",
        address: "back@u-ann"
      })
      const toFront = yield* Effect.promise(() =>
        ctx.emit({ name: "message", message: { type: "text", text: "to front" }, properties: { user: "bob" } })
      )
      assert.strictEqual(toFront.address, "front@main")
      // Both turns run (a request queued behind each emit proves they were accepted in order).
      const after = yield* orchestrator.request("back@u-ann", "after")
      assert.strictEqual(after.finishReason, "text_response")
      assert.include(calls, "back:to back")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("request resolves with the turn's reply; onDelta and stream deliver the text as it is generated", () =>
    Effect.gen(function*() {
      const { ctx } = yield* startChat("request", [])
      const deltas: Array<string> = []
      const reply = yield* Effect.promise(() =>
        ctx.request({ name: "message", text: "hi", properties: { user: "cy" } }, { onDelta: (t) => deltas.push(t) })
      )
      assert.strictEqual(reply.text, "front: hi")
      assert.strictEqual(reply.finishReason, "text_response")
      assert.strictEqual(reply.address, "front@main")
      assert.deepStrictEqual(deltas, ["fro", "nt: hi"])
      const chunks = yield* Effect.promise(async () => {
        const out: Array<Connector.ReplyChunk> = []
        for await (const chunk of ctx.stream({ name: "message", text: "again", properties: { user: "cy" } })) {
          out.push(chunk)
        }
        return out
      })
      assert.deepStrictEqual(chunks.map((c) => c.type), ["delta", "delta", "reply"])
      const last = chunks[2]!
      assert.strictEqual(last.type === "reply" ? last.reply.text : "", "front: again")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("onReply receives the reply of every emitted event", () =>
    Effect.gen(function*() {
      const { ctx } = yield* startChat("onReply", [])
      const replies = yield* Deferred.make<ReadonlyArray<string>>()
      const seen: Array<string> = []
      ctx.onReply((reply) => {
        seen.push(`${reply.address} ${reply.text}`)
        if (seen.length === 2) Deferred.unsafeDone(replies, Exit.succeed([...seen]))
      })
      yield* Effect.promise(() => ctx.emit({ name: "message", text: "one", properties: { user: "d" } }))
      yield* Effect.promise(() =>
        ctx.emit({ name: "message", text: "two", properties: { user: "d", channel: "back" } })
      )
      assert.sameMembers([...(yield* Deferred.await(replies))], ["front@main front: one", "back@u-d back: two"])
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("events the Connector does not declare, bad properties and unrouted events are typed errors returned to the connector", () =>
    Effect.gen(function*() {
      const { ctx } = yield* startChat("errors", [])
      const reject = (event: unknown) =>
        Effect.promise(() =>
          ctx.emit(event as Connector.Event).then(
            () => ({ _tag: "accepted", message: "" }),
            (e: { readonly _tag: string; readonly message: string; readonly property?: string }) => e
          )
        )
      const unknownEvent = yield* reject({ name: "shout", text: "x" })
      assert.strictEqual(unknownEvent._tag, "ConnectorEventInvalid")
      assert.include(unknownEvent.message, "declares no event \"shout\"")
      assert.include(unknownEvent.message, "declared events: message, ping")
      const wrongType = yield* reject({ name: "message", text: "x", properties: { user: "a", urgent: "yes" } })
      assert.strictEqual(wrongType._tag, "ConnectorEventInvalid")
      assert.include(wrongType.message, "property \"urgent\"")
      assert.include(wrongType.message, "expected a boolean")
      const missing = yield* reject({ name: "message", text: "x" })
      assert.include(missing.message, "property \"user\"")
      const undeclared = yield* reject({ name: "message", text: "x", properties: { user: "a", mood: "ok" } })
      assert.include(undeclared.message, "property \"mood\"")
      const noText = yield* reject({ name: "message", properties: { user: "a" } })
      assert.include(noText.message, "neither message nor text")
      const unrouted = yield* reject({ name: "ping", text: "x" })
      assert.strictEqual(unrouted._tag, "IngressNoMatch")
      assert.include(unrouted.message, "no ingress rule routes event \"ping\"")
      assert.include(unrouted.message, "catch-all")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("verifyWebhook checks an HMAC-SHA256 signature with the Connection's signing secret, and a signed timestamp on the Clock", () =>
    Effect.gen(function*() {
      const { ctx } = yield* startChat("webhook", [])
      const body = "{\"a\":1}"
      assert.deepStrictEqual(ctx.verifyWebhook(body, Webhook.sign("whsec", body)), { ok: true })
      const wrong = ctx.verifyWebhook(body, Webhook.sign("other", body))
      assert.isFalse(wrong.ok)
      assert.isFalse(ctx.verifyWebhook(body, undefined).ok)
      assert.isFalse(ctx.verifyWebhook(`${body} `, Webhook.sign("whsec", body)).ok)
      // With a signed timestamp: checked against the runtime's Clock (the TestClock, at 0 here).
      assert.deepStrictEqual(ctx.verifyWebhook(body, Webhook.sign("whsec", body, 0), { timestamp: "0" }), { ok: true })
      const ahead = ctx.verifyWebhook(body, Webhook.sign("whsec", body, 400), { timestamp: "400" })
      assert.include(ahead.ok ? "" : ahead.reason, "400 s in the future")
      const window = ctx.verifyWebhook(body, Webhook.sign("whsec", body, 400), {
        timestamp: "400",
        toleranceSeconds: 400
      })
      assert.deepStrictEqual(window, { ok: true })
      const bodyOnly = ctx.verifyWebhook(body, Webhook.sign("whsec", body), { timestamp: "0" })
      assert.isFalse(bodyOnly.ok)
    }).pipe(Effect.provide(baseLayer)))

  it.effect("closing the scope stops the connector: its signal aborts and its onStop cleanups run", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { ctx } = yield* startChat("stop", []).pipe(Scope.extend(scope))
      const stopped: Array<string> = []
      ctx.onStop(() => {
        stopped.push("cleanup")
      })
      ctx.signal.addEventListener("abort", () => stopped.push("abort"))
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(stopped, ["abort", "cleanup"])
    }).pipe(Effect.provide(baseLayer)))
})
