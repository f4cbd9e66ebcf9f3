import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import { EventBus, EventPersistence, Middleware, Pipeline, RuntimeEvent, RuntimeEventLog } from "effect-swarm"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const decode = Schema.decodeUnknownSync(RuntimeEvent.RuntimeEvent)

describe("EventPersistence", () => {
  it.live("every event lands in its own instance's runtime-events.jsonl, even for a shared instance key", () =>
    Effect.gen(function*() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "event-persistence-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true })))
      const Log = RuntimeEventLog.layer({ root, durable: false }).pipe(Layer.provide(NodeFileSystem.layer))
      const Live = Pipeline.layer().pipe(
        Layer.provideMerge(EventPersistence.layer({ workspaceId: "ws" })),
        Layer.provideMerge(EventBus.layer()),
        Layer.provideMerge(Log)
      )
      // Two agents with the same instance key: the reference stored both in one file.
      yield* Effect.gen(function*() {
        const pipeline = yield* Pipeline.Pipeline
        for (const agentName of ["planner", "coder"]) {
          const conversation = yield* Middleware.conversationInMemory()
          yield* pipeline.runTurn(
            { agentName, instanceKey: "thread:42", turnId: `${agentName}-t1`, conversation },
            (turn) =>
              pipeline.runStep({ turn, stepIndex: 0, toolCatalog: [] }, () =>
                Effect.succeed({
                  status: "completed" as const,
                  shouldContinue: false,
                  toolCalls: [],
                  toolResults: [],
                  metadata: {}
                })).pipe(Effect.as({ turnId: turn.turnId, finishReason: "text_response" as const }))
          )
        }
        // Closing the layer drains the sink before the log closes.
      }).pipe(Effect.provide(Live))

      const read = (agentName: string) =>
        Effect.flatMap(
          RuntimeEventLog.RuntimeEventLog,
          (log) => Stream.runCollect(log.read({ workspaceId: "ws", agentName, instanceKey: "thread:42" }))
        ).pipe(
          Effect.map((records) => Chunk.toReadonlyArray(records).map((r) => decode(r))),
          Effect.provide(Log)
        )
      for (const agentName of ["planner", "coder"]) {
        const events = yield* read(agentName)
        assert.deepStrictEqual(events.map((e) => e.type), [
          "turn.started",
          "step.started",
          "step.completed",
          "turn.completed"
        ])
        assert.isTrue(events.every((e) => e.agentName === agentName && e.turnId === `${agentName}-t1`))
      }
    }).pipe(Effect.scoped))

  it("groups a batch by instance in publish order", () => {
    const base = {
      timestamp: "2026-01-01T00:00:00.000Z",
      turnId: "t",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7"
    }
    const groups = EventPersistence.groupByInstance("ws", [
      { type: "turn.started", agentName: "a", instanceKey: "1", ...base },
      { type: "turn.started", agentName: "b", instanceKey: "1", ...base },
      { type: "turn.failed", agentName: "a", instanceKey: "1", duration: 1, errorMessage: "x", ...base }
    ])
    assert.deepStrictEqual(groups.map(([ref, events]) => [ref.agentName, events.map((e) => e.type)]), [
      ["a", ["turn.started", "turn.failed"]],
      ["b", ["turn.started"]]
    ])
  })
})
