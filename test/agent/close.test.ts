import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { AgentInstance, RuntimeEventLog, Scripted, Turn } from "effect-swarm"
import { storesLayer } from "../support/stores.js"
import { tempRoot } from "../workspace/helpers.js"

const ref = { workspaceId: "w", agentName: "a", instanceKey: "k" }

const stores = storesLayer

/** Two steps, one tool call: the turn publishes step and tool events. */
const script: ReadonlyArray<Scripted.ScriptStep> = [
  { toolCalls: [{ name: "echo__say", id: "c1", arguments: { text: "a" } }] },
  { text: "done" }
]

const eventTypes = (root: string) =>
  Effect.gen(function*() {
    const log = yield* RuntimeEventLog.RuntimeEventLog
    return Chunk.toReadonlyArray(yield* Stream.runCollect(log.read(ref))).map((r) => r.type)
  }).pipe(Effect.provide(stores(root)))

describe("closing a durable instance", () => {
  // The hang of b2f1185: the instance's close wrote its leftover step events to a RuntimeEventLog whose
  // layer had already closed (stores provided in an inner scope, the instance kept by the outer one, as
  // McpServe does); the log opened the instance in its closed scope and InstanceLock.acquire's finalizer
  // then ran at once, inside the lock table's permit it takes again: a deadlock. A hang fails here on the
  // timeout (disconnected, so the stuck close cannot block the test).
  it.live("an instance outliving its stores closes without hanging; the turn's step and tool events were durable at its end", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const afterTurn = yield* Effect.gen(function*() {
        const model = yield* Scripted.make(script)
        const agent = yield* Effect.gen(function*() {
          const agent = yield* AgentInstance.make({ ref, model })
          yield* agent.tools.register({
            name: "echo__say",
            parameters: { type: "object", properties: { text: { type: "string" } } }
          }, (args) => Effect.succeed({ said: args.text ?? null })).pipe(Effect.orDie)
          const result = yield* Turn.run(agent, "go")
          assert.strictEqual(result.finishReason, "text_response")
          return agent
        }).pipe(Effect.provide(stores(root)))
        // The stores are closed now; the instance still lives in this scope. Its events were written with
        // the turn's last record, before the turn returned.
        return { agent, types: yield* eventTypes(root) }
      }).pipe(Effect.scoped, Effect.disconnect, Effect.timeout("20 seconds"))
      assert.includeMembers([...afterTurn.types], [
        "turn.started",
        "step.started",
        "step.completed",
        "tool.called",
        "tool.completed",
        "turn.completed"
      ])
      assert.strictEqual(afterTurn.types.filter((t) => t === "step.completed").length, 2)
      assert.strictEqual(afterTurn.types.at(-1), "turn.completed")
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
