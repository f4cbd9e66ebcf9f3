import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import type { Model, Scripted, ToolRegistry } from "effect-swarm"
import {
  AgentInstance,
  EventBus,
  ExtensionState,
  Instances,
  MessageStore,
  Policy,
  RuntimeEventLog,
  Turn,
  WorkspacePaths
} from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import { newProbe, probedFs, tempRoot } from "../workspace/helpers.js"

const echo: TestAgent.TestTool = {
  item: { name: "echo__say", parameters: { type: "object", properties: { text: { type: "string" } } } },
  handler: (args) => Effect.succeed({ said: args.text ?? null })
}

/** A model that records every request and answers from a script. */
const recording = (steps: ReadonlyArray<Scripted.ScriptStep>) =>
  Effect.gen(function*() {
    const { Scripted } = yield* Effect.promise(() => import("effect-swarm"))
    const inner = yield* Scripted.make(steps)
    const requests = yield* Ref.make<ReadonlyArray<Model.Request>>([])
    const model: Model.Service = {
      ...inner,
      generate: (request) => Effect.zipRight(Ref.update(requests, (all) => [...all, request]), inner.generate(request))
    }
    return { model, requests }
  })

describe("Turn.run", () => {
  it.scoped("the system prompt reaches the model and shows in step.started's model input", () =>
    Effect.gen(function*() {
      const { model, requests } = yield* recording([{ text: "Hello." }])
      const agent = yield* TestAgent.make({ model, system: "You are terse." })
      const result = yield* agent.run("hi")
      yield* TestAgent.assertFinish(result, "text_response")
      assert.strictEqual(TestAgent.replyText(result), "Hello.")
      const [request] = yield* Ref.get(requests)
      assert.strictEqual(request?.system, "You are terse.")
      const started = (yield* agent.events).find((e) => e.type === "step.started")
      assert.deepStrictEqual(
        started?.type === "step.started" ? started.llmInputMessages?.map((m) => m.role) : [],
        ["system", "user"]
      )
      assert.strictEqual(
        started?.type === "step.started" ? started.llmInputMessages?.[0]?.content : undefined,
        "You are terse."
      )
    }))

  it.scoped("tool calls run through the executor; results are appended in call order", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        tools: [echo],
        script: [
          {
            toolCalls: [{ name: "echo__say", id: "c1", arguments: { text: "a" } }, {
              name: "echo__say",
              id: "c2",
              arguments: { text: "b" }
            }]
          },
          { text: "done" }
        ]
      })
      const result = yield* agent.run("go")
      yield* TestAgent.assertFinish(result, "text_response")
      yield* TestAgent.assertTranscript(agent, [
        "user: go",
        "assistant: [calls echo__say, echo__say]",
        "tool echo__say: ok {\"said\":\"a\"}",
        "tool echo__say: ok {\"said\":\"b\"}",
        "assistant: done"
      ])
      const types = (yield* agent.events).map((e) => e.type)
      assert.strictEqual(types.filter((t) => t === "tool.called").length, 2)
      assert.strictEqual(types.filter((t) => t === "tool.completed").length, 2)
    }))

  it.scoped("parallel calls of a step run concurrently up to policy.toolConcurrency, results stay in call order", () =>
    Effect.gen(function*() {
      const inFlight = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const slow: ToolRegistry.ToolHandler = (args) =>
        Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(inFlight, (x) => x + 1)
          yield* Ref.update(peak, (p) => Math.max(p, n))
          // The first call takes longest: it finishes last but its result is still written first.
          const turns = args.n === 0 ? 50 : 5
          for (let i = 0; i < turns; i++) yield* Effect.yieldNow()
          yield* Ref.update(inFlight, (x) => x - 1)
          return { n: args.n ?? null }
        })
      const agent = yield* TestAgent.make({
        tools: [{ item: { name: "w__work" }, handler: slow }],
        policy: Policy.resolve({}, { toolConcurrency: 2 }),
        script: [
          { toolCalls: [0, 1, 2, 3, 4].map((n) => ({ name: "w__work", id: `c${n}`, arguments: { n } })) },
          { text: "ok" }
        ]
      })
      yield* agent.run("go")
      assert.strictEqual(yield* Ref.get(peak), 2)
      const lines = (yield* agent.transcript).filter((l) => l.startsWith("tool"))
      assert.deepStrictEqual(lines, [0, 1, 2, 3, 4].map((n) => `tool w__work: ok {"n":${n}}`))
    }))

  it.scoped("non-object arguments become an E_TOOL_INVALID_ARGS result the model reads (the tool never runs)", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make(0)
      const agent = yield* TestAgent.make({
        tools: [{ item: { name: "echo__say" }, handler: () => Effect.as(Ref.update(ran, (n) => n + 1), "ran") }],
        script: [
          { toolCalls: [{ name: "echo__say", id: "c1", arguments: "[1, 2" }] },
          { text: "sorry" }
        ]
      })
      yield* agent.run("go")
      assert.strictEqual(yield* Ref.get(ran), 0)
      const tool = (yield* agent.transcript)[2]!
      assert.include(tool, "tool echo__say: error ")
      assert.include(tool, "E_TOOL_INVALID_ARGS")
      assert.include(tool, "not a JSON object: [1, 2")
    }))

  it.scoped("empty output is retried with a corrective message, at most twice, then the turn ends with a reason", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ script: [{ text: "" }, { text: "" }, { text: "" }, { text: "late" }] })
      const result = yield* agent.run("hi")
      yield* TestAgent.assertFinish(result, "error")
      assert.strictEqual(result.error?.code, "E_MODEL_EMPTY_OUTPUT")
      const lines = yield* agent.transcript
      assert.strictEqual(lines.filter((l) => l.startsWith("user: Your previous response was empty")).length, 2)
    }))

  it.scoped("a retried empty output that then answers ends normally", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ script: [{ text: "" }, { text: "there" }] })
      const result = yield* agent.run("hi")
      yield* TestAgent.assertFinish(result, "text_response")
      assert.strictEqual(TestAgent.replyText(result), "there")
    }))

  it.scoped("malformed output (tool-calls finish without calls) is retried with a corrective message", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        script: [{ text: "", finishReason: "tool-calls" }, { text: "fixed" }]
      })
      const result = yield* agent.run("hi")
      yield* TestAgent.assertFinish(result, "text_response")
      const lines = yield* agent.transcript
      assert.isTrue(lines.some((l) => l.startsWith("user: Your previous response announced tool calls")))
    }))

  it.scoped("maxStepsPerTurn ends the turn with max_steps", () =>
    Effect.gen(function*() {
      const call = { toolCalls: [{ name: "echo__say", arguments: { text: "x" } }] }
      const agent = yield* TestAgent.make({
        tools: [echo],
        policy: Policy.resolve({ maxStepsPerTurn: 2 }),
        script: [call, call, call]
      })
      const result = yield* agent.run("loop")
      yield* TestAgent.assertFinish(result, "max_steps")
      const records = yield* agent.records
      const completed = records.find((r) => r.type === "turn.completed")
      assert.strictEqual(completed?.finishReason, "max_steps")
      assert.strictEqual(completed?.stepCount, 2)
    }))

  it.scoped("a failed turn keeps its partial messages and records why", () =>
    Effect.gen(function*() {
      // The script has one step: the second model call fails.
      const agent = yield* TestAgent.make({
        tools: [echo],
        storage: "temp",
        script: [{ toolCalls: [{ name: "echo__say", arguments: { text: "x" } }] }]
      })
      const error = yield* Effect.flip(agent.run("go"))
      assert.strictEqual(error._tag, "ModelProtocolError")
      assert.deepStrictEqual(yield* agent.transcript, [
        "user: go",
        "assistant: [calls echo__say]",
        "tool echo__say: ok {\"said\":\"x\"}"
      ])
      const failed = (yield* agent.records).find((r) => r.type === "turn.failed")
      assert.include(String(failed?.errorMessage), "no script step left")
    }))

  it.scoped("a durable instance is listed by Instances with its status, idle after the turn", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ storage: "temp", script: [{ text: "ok" }] })
      yield* agent.run("hi")
      const instances = yield* Instances.make({ root: agent.root! }).pipe(Effect.provide(NodeFileSystem.layer))
      const listing = yield* instances.list(TestAgent.defaultRef.workspaceId)
      assert.deepStrictEqual(listing.broken, [])
      assert.deepStrictEqual(listing.instances.map((m) => [m.agentName, m.instanceKey, m.status]), [
        ["agent", "test", "idle"]
      ])
      const types = (yield* agent.records).map((r) => r.type)
      assert.includeMembers(types, ["turn.started", "turn.completed"])
    }))

  it.scoped("a durable turn's step.started summaries are stored as what each step adds, read back as published", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        storage: "temp",
        system: "You echo.",
        tools: [echo],
        script: [
          ...[1, 2, 3, 4].map((i) => ({
            toolCalls: [{ name: "echo__say", id: `c${i}`, arguments: { text: `${i}` } }]
          })),
          { text: "done" }
        ]
      })
      yield* TestAgent.assertFinish(yield* agent.run("go"), "text_response")
      const published = (yield* agent.events).filter((e) => e.type === "step.started")
      const stored = (yield* agent.records).filter((r) => r.type === "step.started")
      assert.strictEqual(stored.length, 5)
      assert.deepStrictEqual(
        stored.map((r) => r.llmInputMessages),
        published.map((e) => e.type === "step.started" ? e.llmInputMessages : undefined)
      )
      assert.deepStrictEqual(stored.map((r) => (r.llmInputMessages as ReadonlyArray<unknown>).length), [2, 4, 6, 8, 10])
      const text = yield* Effect.flatMap(
        FileSystem.FileSystem,
        (fs) => fs.readFileString(WorkspacePaths.instance(agent.root!, TestAgent.defaultRef).runtimeEvents)
      ).pipe(Effect.provide(NodeFileSystem.layer))
      const onDisk = text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.type === "step.started")
      assert.deepStrictEqual(onDisk.map((r) => r.llmInputKept ?? null), [null, 2, 4, 6, 8])
      assert.deepStrictEqual(onDisk.map((r) => (r.llmInputAdded as Array<unknown> | undefined)?.length ?? null), [
        null,
        2,
        2,
        2,
        2
      ])
    }))

  it.scoped("past the summary's 64 messages, a step still stores only what it adds (the window slid)", () =>
    Effect.gen(function*() {
      // 40 one-step turns (80 messages), then a 5-step turn: each of its step.started windows holds the last 63
      // messages after the system prompt, two later than the step before. Before record version 3 each of
      // those steps stored its whole window again (the delta only kept a common prefix: the system prompt).
      const agent = yield* TestAgent.make({
        storage: "temp",
        system: "You echo.",
        tools: [echo],
        script: [
          ...Array.from({ length: 40 }, (_, i) => ({ text: `reply ${i}` })),
          ...[1, 2, 3, 4].map((i) => ({
            toolCalls: [{ name: "echo__say", id: `c${i}`, arguments: { text: `${i}` } }]
          })),
          { text: "done" }
        ]
      })
      for (let i = 0; i < 40; i++) yield* agent.run(`message ${i}`)
      yield* TestAgent.assertFinish(yield* agent.run("go"), "text_response")
      const published = (yield* agent.events).filter((e) => e.type === "step.started").slice(-5)
      const stored = (yield* agent.records).filter((r) => r.type === "step.started").slice(-5)
      assert.deepStrictEqual(
        stored.map((r) => r.llmInputMessages),
        published.map((e) => e.type === "step.started" ? e.llmInputMessages : undefined)
      )
      assert.deepStrictEqual(stored.map((r) => (r.llmInputMessages as ReadonlyArray<unknown>).length), [
        64,
        64,
        64,
        64,
        64
      ])
      const text = yield* Effect.flatMap(
        FileSystem.FileSystem,
        (fs) => fs.readFileString(WorkspacePaths.instance(agent.root!, TestAgent.defaultRef).runtimeEvents)
      ).pipe(Effect.provide(NodeFileSystem.layer))
      const lines = text.trimEnd().split("\n")
      const onDisk = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.type === "step.started")
        .slice(-5)
      assert.deepStrictEqual(onDisk.map((r) => r.llmInputDropped ?? null), [null, 2, 2, 2, 2])
      assert.deepStrictEqual(onDisk.map((r) => (r.llmInputAdded as Array<unknown> | undefined)?.length ?? null), [
        null,
        2,
        2,
        2,
        2
      ])
      // The last turn's four later steps together take less than its first (whole) one.
      const sizes = lines.filter((l) => l.includes(`"type":"step.started"`)).slice(-5).map((l) => l.length)
      assert.isBelow(sizes.slice(1).reduce((a, b) => a + b, 0), sizes[0]!)
    }))

  it.scoped("an instance opens reading only the loop's records: a damaged step event does not keep it closed", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot.pipe(Effect.provide(NodeFileSystem.layer))
      yield* Effect.scoped(
        Effect.flatMap(
          TestAgent.make({
            storage: { root },
            tools: [echo],
            script: [{ toolCalls: [{ name: "echo__say", id: "c1", arguments: { text: "1" } }] }, { text: "one" }]
          }),
          (first) => first.run("hi")
        )
      )
      // Most of a long-lived log is step and tool events, which reopening never needed: it used to parse them
      // all (seconds for a 10,000-turn log), and a damaged one kept the instance from opening at all.
      const file = WorkspacePaths.instance(root, TestAgent.defaultRef).runtimeEvents
      yield* Effect.flatMap(
        FileSystem.FileSystem,
        (fs) =>
          Effect.flatMap(fs.readFileString(file), (text) =>
            fs.writeFileString(
              file,
              text.split("\n").map((l) => l.includes(`"type":"tool.completed"`) ? l.slice(0, 40) : l).join("\n")
            ))
      ).pipe(Effect.provide(NodeFileSystem.layer))
      const second = yield* TestAgent.make({ storage: { root }, script: [{ text: "two" }] })
      const result = yield* second.run("again")
      assert.strictEqual(TestAgent.replyText(result), "two")
      assert.deepStrictEqual((yield* second.transcript).slice(-2), ["user: again", "assistant: two"])
    }))

  it.scoped("a corrupt metadata.json (status writes are not fsynced) is rebuilt when the instance opens", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot.pipe(Effect.provide(NodeFileSystem.layer))
      yield* Effect.scoped(
        Effect.flatMap(TestAgent.make({ storage: { root }, script: [{ text: "one" }] }), (first) => first.run("hi"))
      )
      const instances = yield* Instances.make({ root }).pipe(Effect.provide(NodeFileSystem.layer))
      // What a power loss right after a status write without fsync may leave on some file systems.
      const metadata = WorkspacePaths.instance(root, TestAgent.defaultRef).metadata
      yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.writeFileString(metadata, "")).pipe(
        Effect.provide(NodeFileSystem.layer)
      )
      assert.strictEqual((yield* instances.list(TestAgent.defaultRef.workspaceId)).broken.length, 1)
      // Reopened on the same root: the metadata is rebuilt, the conversation is intact, the turn runs.
      const second = yield* TestAgent.make({ storage: { root }, script: [{ text: "two" }] })
      const result = yield* second.run("again")
      assert.strictEqual(TestAgent.replyText(result), "two")
      assert.deepStrictEqual(yield* second.transcript, ["user: hi", "assistant: one", "user: again", "assistant: two"])
      const listing = yield* instances.list(TestAgent.defaultRef.workspaceId)
      assert.deepStrictEqual(listing.broken, [])
      assert.deepStrictEqual(listing.instances.map((m) => m.status), ["idle"])
    }))

  it.scoped("a storage failure fails the turn with a typed TurnStorageError (never a defect)", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const probe = newProbe()
      const stores = Layer.mergeAll(
        MessageStore.layer({ root }),
        RuntimeEventLog.layer({ root }),
        Instances.layer({ root }),
        ExtensionState.layer({ root })
      ).pipe(Layer.provide(probedFs(probe)))
      const { Scripted } = yield* Effect.promise(() => import("effect-swarm"))
      const model = yield* Scripted.make([{ text: "never" }])
      const agent = yield* AgentInstance.make({
        ref: { workspaceId: "w", agentName: "a", instanceKey: "k" },
        model
      }).pipe(Effect.provide(Layer.mergeAll(stores, EventBus.layer())))
      probe.failNextWriteAfter = 3
      const exit = yield* Effect.exit(Turn.run(agent, "hi"))
      assert.isTrue(exit._tag === "Failure" && exit.cause._tag === "Fail", String(exit))
      const error = exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.strictEqual(error?._tag, "TurnStorageError")
      assert.match(error?.message ?? "", /^a@k: .* failed: /)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
