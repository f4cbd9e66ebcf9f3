/**
 * `--otel` on the real bin (built once for the file by test/cli/bin.ts) against the loopback OTLP receiver:
 * `run --once` on the multi-agent example exports one trace, and `send` exports without the flag when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set, under `OTEL_SERVICE_NAME`.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as path from "node:path"
import * as Bin from "../cli/bin.js"
import { attrs, type OtlpSpan, receiver, spansOf } from "./otlp.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)
const multiAgent = path.join(Bin.repo, "examples/bundles/multi-agent")
const cliBundle = path.join(Bin.repo, "test/fixtures/bundles/cli")
const offline = { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" }

const serviceNames = (bodies: Map<string, Array<unknown>>): Array<unknown> =>
  (bodies.get("/v1/traces") ?? []).flatMap((body) =>
    (body as { resourceSpans: Array<{ resource: { attributes: Parameters<typeof attrs>[0] } }> }).resourceSpans
      .map((r) => attrs(r.resource.attributes)["service.name"])
  )

const show = (spans: ReadonlyArray<OtlpSpan>) =>
  spans.map((s) => `${s.name} ${s.spanId} <- ${s.parentSpanId ?? "root"}`).join("\n")

layer(Live, { timeout: Duration.toMillis("3 minutes") })("effect-swarm --otel", (it) => {
  it.scoped(
    "run --once --otel <endpoint>: the multi-agent turn arrives as one trace, sandboxed workers included",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const bin = yield* Bin.Bin
        const run = yield* bin.run(
          ["run", multiAgent, "--fallback-model", "offline", "--once", "What is effect-swarm?", "--otel", otlp.url],
          { env: offline }
        )
        assert.strictEqual(run.code, 0, run.stderr)
        const spans = spansOf(otlp.bodies)
        const turns = spans.filter((s) => s.name.startsWith("invoke_agent "))
        assert.deepStrictEqual(
          turns.map((t) => attrs(t.attributes)["gen_ai.agent.name"]).sort(),
          ["coordinator", "researcher"],
          show(spans)
        )
        assert.strictEqual(new Set(spans.map((s) => s.traceId)).size, 1, show(spans))
        const byId = new Map(spans.map((s) => [s.spanId, s]))
        const parentOf = (span: OtlpSpan) => byId.get(span.parentSpanId ?? "")
        const [coordinator, researcher] = ["coordinator", "researcher"].map((agent) =>
          turns.find((t) => attrs(t.attributes)["gen_ai.agent.name"] === agent)!
        )
        const tool = (name: string) =>
          spans.find((s) => s.name === `execute_tool ${name}` && attrs(s.attributes)["gen_ai.tool.name"] === name)!
        // coordinator turn > step > agents__request > researcher turn (the callee's turn under the caller's tool)
        const request = tool("agents__request")
        assert.strictEqual(parentOf(parentOf(request)!)!.spanId, coordinator!.spanId, show(spans))
        assert.strictEqual(researcher!.parentSpanId, request.spanId, show(spans))
        // researcher turn > step > library__search (sandboxed in Deno) > the Deno worker's own span
        const search = tool("library__search")
        assert.strictEqual(parentOf(parentOf(search)!)!.spanId, researcher!.spanId, show(spans))
        for (const name of ["library__search", "notes__add"]) {
          const worker = spans.find((s) =>
            s.name === "effect-swarm.sandbox.worker" && s.parentSpanId === tool(name).spanId
          )
          assert.isDefined(worker, `${name}: ${show(spans)}`)
          assert.strictEqual(
            attrs(worker!.attributes)["process.runtime.name"],
            name === "notes__add" ? "node" : "deno"
          )
        }
        assert.deepStrictEqual([...new Set(serviceNames(otlp.bodies))], ["effect-swarm"])
      }),
    { timeout: Duration.toMillis("3 minutes") }
  )

  it.scoped(
    "a bare --otel and OTEL_EXPORTER_OTLP_ENDPOINT: send exports to the variable's endpoint under OTEL_SERVICE_NAME",
    () =>
      Effect.gen(function*() {
        const otlp = yield* receiver
        const bin = yield* Bin.Bin
        const env = { ...offline, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: "swarm-test" }
        const send = yield* bin.run(["send", "helper@otel", "greet Ada", "--dir", cliBundle, "--otel"], { env })
        assert.strictEqual(send.code, 0, send.stderr)
        const spans = spansOf(otlp.bodies)
        const [turn] = spans.filter((s) => s.name === "invoke_agent helper")
        assert.strictEqual(attrs(turn!.attributes)["gen_ai.agent.name"], "helper", show(spans))
        const [chat] = spans.filter((s) => s.name === "chat greeter-script")
        assert.strictEqual(attrs(chat!.attributes)["gen_ai.request.model"], "greeter-script", show(spans))
        assert.deepStrictEqual([...new Set(serviceNames(otlp.bodies))], ["swarm-test"])
      }),
    { timeout: Duration.toMillis("3 minutes") }
  )
})
