/**
 * Connector ingress spans on the loopback OTLP receiver: a request to the http connector is its server
 * span (continuing an incoming `traceparent`), the ingress span under it, and the turn under that.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { Observability } from "effect-swarm/observability"
import { baseLayer, event, post, serve, webYaml } from "../connector/helpers.js"
import { attrs, type OtlpSpan, receiver, spansOf } from "./otlp.js"

const postAs = (url: string, user: string, headers: Record<string, string>) =>
  Effect.map(post(`${url}/connections/web-in/events?wait=reply`, event("hello", user), headers), (r) => r.status)

describe("Observability: connector ingress", () => {
  it.scopedLive(
    "http request -> ingress span -> turn, one trace per request, continuing an incoming traceparent",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
        const callerSpan = "00f067aa0ba902b7"
        yield* Effect.scoped(Effect.gen(function*() {
          const { url } = yield* serve({ "connectors.yaml": webYaml() })
          assert.strictEqual(yield* postAs(url, "ada", { traceparent: `00-${callerTrace}-${callerSpan}-01` }), 200)
          assert.strictEqual(yield* postAs(url, "bob", {}), 200)
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
          const ingress = ingresses.find((s) => attrs(s.attributes)["effect_swarm.instance"] === `front@u-${user}`)!
          const server = byId.get(ingress.parentSpanId ?? "")
          const turn = spans.find((s) => s.name === "invoke_agent front" && s.parentSpanId === ingress.spanId)
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
