// docs/orchestrator.md: a durable swarm; a graceful shutdown keeps queued messages; the next start delivers them.
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Bundle, EventBus, ExtensionState, Instances, MessageStore, Orchestrator, RuntimeEventLog } from "effect-swarm"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-doc-orchestrator-"))
const root = path.join(dir, "state")
fs.writeFileSync(
  path.join(dir, "swarm.yaml"),
  `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: offline }
spec: { provider: scripted, model: demo, script: [{ text: planned }, { text: noted }, { text: noted }, { text: noted }, { text: done }] }
---
apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: planner }
spec: { modelConfig: { modelRef: Model/offline }, prompt: { system: You plan. } }
---
apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: team }
spec:
  entryAgent: Agent/planner
  agents: [Agent/planner]
  policy:
    shutdown: { gracePeriodSeconds: 5 } # in-flight turns get 5 s when the orchestrator stops
    lifecycle: { idleSeconds: 600 } # an instance idle for 10 minutes is released
`
)

const Stores = Layer.mergeAll(
  MessageStore.layer({ root }),
  RuntimeEventLog.layer({ root }),
  Instances.layer({ root }),
  ExtensionState.layer({ root }),
  EventBus.layer()
).pipe(Layer.provideMerge(NodeContext.layer))

const program = Effect.gen(function*() {
  const bundle = yield* Bundle.load(dir)
  // First run: one request answered, then three sends accepted (durable on return) and the scope closes.
  yield* Effect.scoped(Effect.gen(function*() {
    const orchestrator = yield* Orchestrator.make(bundle, "team")
    const result = yield* orchestrator.request("planner@q1", "plan the week")
    yield* Console.log(`reply: ${result.finishReason}`)
    for (const day of ["monday", "tuesday", "wednesday"]) yield* orchestrator.send("planner@q1", day)
  }))
  // Second run on the same root: whatever had not run yet is delivered, in order, exactly once.
  yield* Effect.scoped(Effect.gen(function*() {
    const orchestrator = yield* Orchestrator.make(bundle, "team")
    yield* orchestrator.request("planner@q1", "summary")
    const store = yield* MessageStore.MessageStore
    const log = yield* store.load({ workspaceId: orchestrator.workspaceId, agentName: "planner", instanceKey: "q1" })
    const inputs = log.messages.filter((m) => m.data.role === "user").map((m) => m.data.content)
    yield* Console.log(`inputs: ${inputs.join(", ")}`)
  }))
})

program.pipe(
  Effect.provide(Stores),
  Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))),
  Effect.runPromise
)
