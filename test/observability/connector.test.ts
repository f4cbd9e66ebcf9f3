/**
 * Connector ingress spans on the loopback OTLP receiver: a request to the http connector is its server
 * span (continuing an incoming `traceparent`), the ingress span under it, and the turn under that.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { Connectors } from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import { baseLayer, bundleOf, orchestratorOf } from "../connector/helpers.js"
import { attrs, type OtlpSpan, receiver, spansOf } from "./otlp.js"

const webYaml = `apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: web
spec:
  builtin: http
  events:
    - name: message
      properties:
        user: { type: string }
---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: web-in
spec:
  connectorRef: Connector/web
  config:
    port: { value: "0" }
  ingress:
    rules:
      - match: { event: message }
        route: { instanceKeyProperty: user }
`

const post = (url: string, user: string, headers: Record<string, string>) =>
  Effect.promise(async () => {
    const res = await fetch(`${url}/connections/web-in/events?wait=reply`, {
      method: "POST",
      body: JSON.stringify({ name: "message", text: "hello", properties: { user } }),
      headers: { "content-type": "application/json", ...headers }
    })
    return res.status
  })

describe("Observability: connector ingress", () => {
  it.scopedLive(
    "http request -> ingress span -> turn, one trace per request, continuing an incoming traceparent",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
        const callerSpan = "00f067aa0ba902b7"
        yield* Effect.scoped(Effect.gen(function*() {
          const bundle = yield* bundleOf({ "connectors.yaml": webYaml })
          const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle))
          const url = yield* connectors.announced("web-in", "url")
          assert.strictEqual(yield* post(url, "ada", { traceparent: `00-${callerTrace}-${callerSpan}-01` }), 200)
          assert.strictEqual(yield* post(url, "bob", {}), 200)
        })).pipe(
          Effect.provide(Layer.merge(
            baseLayer,
            Observability.layer({ endpoint: otlp.url, traces: ["otlp"], metrics: false })
          ))
        )
        const spans = spansOf(otlp.bodies)
        const show = spans.map((s) => `${s.name} ${s.spanId} <- ${s.parentSpanId ?? "root"}`).join("\n")
        const ingresses = spans.filter((s) => s.name === "effect-swarm.connector.ingress")
        assert.strictEqual(ingresses.length, 2, show)
        const byId = new Map(spans.map((s) => [s.spanId, s]))
        const chainOf = (user: string) => {
          const ingress = ingresses.find((s) => attrs(s.attributes)["effect_swarm.instance"] === `front@${user}`)!
          const server = byId.get(ingress.parentSpanId ?? "")
          const turn = spans.find((s) => s.name === "effect-swarm.turn" && s.parentSpanId === ingress.spanId)
          return { ingress, server, turn }
        }
        const ada = chainOf("ada")
        assert.isDefined(ada.turn, show)
        assert.strictEqual(ada.server!.traceId, callerTrace, "continues the caller's trace")
        assert.strictEqual(ada.server!.parentSpanId, callerSpan)
        assert.match(ada.server!.name, /^http\.server POST/)
        assert.deepInclude(attrs(ada.ingress.attributes), {
          "effect_swarm.connection": "web-in",
          "effect_swarm.connector": "web",
          "effect_swarm.ingress.event": "message",
          "effect_swarm.ingress.mode": "submit",
          "gen_ai.agent.name": "front"
        })
        const bob = chainOf("bob")
        assert.isDefined(bob.turn, show)
        assert.isUndefined(bob.server!.parentSpanId, "a request without traceparent starts a trace")
        assert.notStrictEqual(bob.ingress.traceId, ada.ingress.traceId)
        const trees = (s: OtlpSpan) => s.traceId
        assert.strictEqual(trees(bob.turn!), bob.server!.traceId)
      }),
    { timeout: Duration.toMillis("60 seconds") }
  )
})
