// docs/observability.md: one layer turns every turn, step, model call and tool call (a sandboxed worker's own
// run included) into OpenTelemetry spans with the GenAI attributes. Here they print on the console; give
// `endpoint` (or set OTEL_EXPORTER_OTLP_ENDPOINT) to send them to Jaeger, Honeycomb or Langfuse instead.
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import {
  AgentInstance,
  Bundle,
  EventBus,
  ExtensionState,
  Instances,
  MessageStore,
  RuntimeConfig,
  RuntimeEventLog,
  Scripted,
  ToolRuntime,
  Turn
} from "effect-swarm"
import { Observability } from "effect-swarm/observability"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-doc-"))
const Stores = Layer.mergeAll(
  MessageStore.layer({ root }),
  RuntimeEventLog.layer({ root }),
  Instances.layer({ root }),
  ExtensionState.layer({ root }),
  EventBus.layer(),
  ToolRuntime.layer.pipe(Layer.provide(RuntimeConfig.layer("node")))
).pipe(Layer.provideMerge(NodeContext.layer))

const Telemetry = Observability.layer({
  traces: ["console"], // or: endpoint: "http://localhost:4318"
  metrics: false,
  prices: { small: { inputPerMillion: 0.4, outputPerMillion: 1.6 } }
})

const program = Effect.gen(function*() {
  const bundle = yield* Bundle.load("test/fixtures/bundles/agent", { stateRoot: root })
  const model = yield* Scripted.make([
    { toolCalls: [{ name: "calc__add", arguments: { a: 2, b: 3 } }], usage: { inputTokens: 100, outputTokens: 20 } },
    { text: "five", usage: { inputTokens: 150, outputTokens: 5 } }
  ], { model: "small" })
  // The `sandboxed` agent's calc__add runs in a Node worker.
  const agent = yield* AgentInstance.fromBundle(bundle, { agent: "sandboxed", instanceKey: "docs", model })
  const result = yield* Turn.run(agent, "add 2 and 3").pipe(Effect.provide(Telemetry))
  yield* Console.log(`turn: ${result.finishReason}`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(Stores),
  Effect.ensuring(Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))),
  Effect.runPromise
)
