import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, type Scope, Stream, TestClock } from "effect"
import type { Message, Middleware, Model } from "effect-swarm"
import { Scripted } from "effect-swarm"
import { hangingModel, makeSwarm, workspaceId } from "./callsKit.js"

/** it.scoped with the real file system (the durable inbox and instances use it). */
const test = <A, E>(name: string, body: () => Effect.Effect<A, E, Scope.Scope | FileSystem.FileSystem>) =>
  it.scoped(name, () => Effect.provide(body(), NodeFileSystem.layer))

const ref = (agentName: string, instanceKey = "main") => ({ workspaceId, agentName, instanceKey })

const request = (target: string, input: string, extra?: Record<string, unknown>) => ({
  name: "agents__request",
  arguments: { target, input, ...extra }
})

/** The text of a message (string or text parts). */
const textOf = (m: Message.Message) =>
  typeof m.data.content === "string"
    ? m.data.content
    : m.data.content.map((p) => p.type === "text" ? p.text : p.type === "tool-result" ? JSON.stringify(p.output) : "")
      .join("\n")

/** A scripted model whose answer waits for `gate`. */
const gatedModel = (steps: ReadonlyArray<Scripted.ScriptStep>, gate: Deferred.Deferred<void>) =>
  Effect.map(Scripted.make(steps), (inner): Model.Service => ({
    ...inner,
    generate: (req) => Effect.zipRight(Deferred.await(gate), inner.generate(req)),
    stream: () => Stream.die("not used")
  }))

/**
 * Waits until `check` holds, re-checking after each turn of the event loop (no clock: file writes and
 * fsyncs in flight complete in between; Effect.yieldNow alone starves them for seconds).
 */
const until = <E>(check: Effect.Effect<boolean, E>) =>
  Effect.repeat(
    Effect.zipLeft(check, Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))),
    { until: (ok) => ok }
  )

const codeOf = <A>(effect: Effect.Effect<A, Middleware.AgentsApiError>) =>
  Effect.map(Effect.flip(effect), (e) => e.code)

describe("inter-agent calls", () => {
  test("A->B sync through the agents tool in a real turn: reply, correlation, source, trace", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({
        a: {
          callable: ["b"],
          script: [{ toolCalls: [request("b", "what is 2+2")] }, { text: "b says {{agents__request.response}}" }]
        },
        b: { script: [{ match: "2+2", text: "4" }] }
      })
      const result = yield* kit.run("a", "ask b")
      assert.strictEqual(result.finishReason, "text_response")
      assert.strictEqual(result.responseMessage?.data.content, "b says 4")
      const a = yield* kit.agent("a")
      const b = yield* kit.agent("b")
      const [input] = yield* b.messages
      // The callee's input is linked to the caller by correlation id; omitted instanceKey = the caller's.
      assert.strictEqual(input?.source.type, "agent")
      const source = input!.source as Extract<Message.MessageSource, { type: "agent" }>
      assert.deepStrictEqual({ ...source, correlationId: "" }, {
        type: "agent",
        kind: "request",
        agentName: "a",
        instanceKey: "main",
        correlationId: ""
      })
      const toolResult = (yield* a.messages).find((m) => m.data.role === "tool")!
      assert.include(textOf(toolResult), source.correlationId)
      // The callee's turn continues the caller's trace: parent = the caller's tool-call span.
      const called = (yield* a.events).find((e) => e.type === "tool.called")!
      const started = (yield* b.events).find((e) => e.type === "turn.started")!
      assert.strictEqual(started.traceId, called.traceId)
      assert.strictEqual(started.parentSpanId, called.spanId)
      // The callee wrote only its own conversation: the caller's has no message from b's turn.
      assert.isFalse((yield* a.messages).some((m) => textOf(m) === "4" && m.data.role === "assistant"))
      assert.deepStrictEqual(kit.started, ["b@main"])
    }))

  test("async: a correlation id now, the reply in the caller's next step and in its log", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const kit = yield* makeSwarm({
        a: {
          callable: ["b"],
          script: [
            { match: "start", toolCalls: [request("b", "slow job", { async: true })] },
            { text: "asked ({{agents__request.correlationId}})" },
            { match: "async reply from b@main", text: "b answered" }
          ]
        },
        b: { model: yield* gatedModel([{ text: "job done" }], gate) }
      })
      const first = yield* kit.run("a", "start")
      assert.match(String(first.responseMessage?.data.content), /^asked \(corr-/)
      const correlationId = /\((corr-[^)]+)\)/.exec(String(first.responseMessage?.data.content))![1]!
      assert.strictEqual(yield* kit.api.pendingAsync(ref("a")), 1)
      yield* Deferred.succeed(gate, undefined)
      yield* until(Effect.map(kit.api.pendingReplies(ref("a")), (r) => r.length === 1))
      const second = yield* kit.run("a", "anything new?")
      assert.strictEqual(second.responseMessage?.data.content, "b answered")
      const reply = (yield* (yield* kit.agent("a")).messages).find((m) => m.source.type === "agent")!
      assert.deepStrictEqual(reply.source, {
        type: "agent",
        kind: "reply",
        agentName: "b",
        instanceKey: "main",
        correlationId
      })
      assert.include(textOf(reply), "job done")
      assert.deepStrictEqual(yield* kit.api.pendingReplies(ref("a")), [])
    }))

  test("an async reply survives a crash of the caller: persisted, delivered after the restart", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "es-calls-" })
      const gate = yield* Deferred.make<void>()
      const aHangs = { value: false, calls: 0 }
      const secondCall = yield* Deferred.make<void>()
      // First life: a asks b asynchronously, then its turn dies (the process is killed mid-step).
      const first = yield* Effect.gen(function*() {
        const aModel = yield* Scripted.make([{ toolCalls: [request("b", "slow job", { async: true })] }])
        const kit = yield* makeSwarm({
          a: { callable: ["b"] },
          b: { model: yield* gatedModel([{ text: "job done" }], gate) }
        }, {
          root,
          models: {
            a: {
              ...aModel,
              generate: (req) =>
                aHangs.calls === 0
                  ? Effect.tap(aModel.generate(req), () => Effect.sync(() => void aHangs.calls++))
                  : Effect.zipRight(Deferred.succeed(secondCall, undefined), hangingModel(aHangs).generate(req))
            }
          }
        })
        const turn = yield* Effect.fork(kit.run("a", "start"))
        yield* Deferred.await(secondCall)
        yield* Fiber.interrupt(turn)
        // The caller is gone; the callee finishes and its reply lands in the caller's inbox file.
        yield* Deferred.succeed(gate, undefined)
        yield* until(Effect.map(kit.api.pendingReplies(ref("a")), (r) => r.length === 1))
        return (yield* kit.api.pendingReplies(ref("a")))[0]!.correlationId
      }).pipe(Effect.scoped)
      // Second life: everything is new (memory empty); a's open turn resumes and its next step has the reply.
      const kit = yield* makeSwarm({ a: { callable: ["b"] }, b: { script: [] } }, {
        root,
        models: { a: yield* Scripted.make([{ match: "async reply from b@main", text: "resumed with the reply" }]) }
      })
      const a = yield* kit.agent("a")
      const resumed = yield* Effect.flatMap(
        Effect.promise(() => import("effect-swarm")),
        (m) => m.Turn.resume(a.instance)
      )
      assert.strictEqual(resumed._tag, "Some")
      const messages = yield* a.messages
      const reply = messages.find((m) => m.source.type === "agent")!
      assert.strictEqual((reply.source as { correlationId: string }).correlationId, first)
      assert.include(textOf(reply), "job done")
      assert.strictEqual(messages.at(-1)?.data.content, "resumed with the reply")
      // Delivered once: a later step does not write it again.
      assert.deepStrictEqual(yield* kit.api.pendingReplies(ref("a")), [])
    }))

  test("a timeout fails AGENT_REQUEST_TIMEOUT and cancels the callee's turn", () =>
    Effect.gen(function*() {
      const hung = { value: false, calls: 0 }
      const kit = yield* makeSwarm({ a: { callable: ["b"] }, b: { model: hangingModel(hung) } })
      const fiber = yield* Effect.fork(
        Effect.flip(kit.api.forInstance(ref("a")).request({ target: "b", input: "x", timeoutMs: 5_000 }))
      )
      yield* until(Effect.sync(() => hung.calls === 1))
      yield* TestClock.adjust("4999 millis")
      assert.isFalse(hung.value)
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error.code, "AGENT_REQUEST_TIMEOUT")
      assert.strictEqual(error.target, "b@main")
      assert.isTrue(hung.value, "the callee's model call was interrupted")
    }))

  test("the default timeout is 60 s", () =>
    Effect.gen(function*() {
      const hung = { value: false, calls: 0 }
      const kit = yield* makeSwarm({ a: { callable: ["b"] }, b: { model: hangingModel(hung) } })
      const fiber = yield* Effect.fork(codeOf(kit.api.forInstance(ref("a")).request({ target: "b", input: "x" })))
      yield* until(Effect.sync(() => hung.calls === 1))
      yield* TestClock.adjust("59999 millis")
      assert.isFalse(hung.value)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(fiber), "AGENT_REQUEST_TIMEOUT")
    }))

  test("A->B->A is CIRCULAR_CALL_DETECTED with the chain; the callee reads it as a tool error", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({
        a: { callable: ["b"], script: [{ toolCalls: [request("b", "help")] }, { text: "a got: {{agents__request}}" }] },
        b: { callable: ["a"], script: [{ toolCalls: [request("a", "back to you")] }, { text: "b gave up" }] }
      })
      const result = yield* kit.run("a", "go")
      assert.strictEqual(
        result.responseMessage?.data.content,
        "a got: " + JSON.stringify({
          target: "b@main",
          correlationId: (JSON.parse(
            String(result.responseMessage?.data.content).slice("a got: ".length)
          ) as { correlationId: string }).correlationId,
          async: false,
          response: "b gave up"
        })
      )
      const b = yield* kit.agent("b")
      const toolResult = (yield* b.messages).find((m) => m.data.role === "tool")!
      assert.include(textOf(toolResult), "CIRCULAR_CALL_DETECTED")
      assert.include(textOf(toolResult), "a@main -> b@main -> a@main")
      // Only b's turn was started by a call: the cycle was refused before anything was sent.
      assert.deepStrictEqual(kit.started, ["b@main"])
    }))

  test("A->B->C->A across instances is detected on agent@instance; another instance of A is not a cycle", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({
        a: {
          callable: ["b"],
          script: [{ match: "go", toolCalls: [request("b", "step 1", { instanceKey: "k2" })] }, { text: "a done" }, {
            match: "from c",
            text: "a@other answers"
          }]
        },
        b: {
          callable: ["c"],
          script: [{ toolCalls: [request("c", "step 2", { instanceKey: "k3" })] }, { text: "b done" }]
        },
        c: {
          callable: ["a"],
          script: [
            { toolCalls: [request("a", "from c", { instanceKey: "x" })] },
            { toolCalls: [request("a", "from c again")] },
            { text: "c done" }
          ]
        }
      })
      yield* kit.run("a", "go", "x")
      const c = yield* kit.agent("c", "k3")
      const results = (yield* c.messages).filter((m) => m.data.role === "tool").map(textOf)
      assert.include(results[0]!, "CIRCULAR_CALL_DETECTED")
      assert.include(results[0]!, "a@x -> b@k2 -> c@k3 -> a@x")
      // c -> a@k3 (its own key) is another instance of a: allowed, it runs.
      assert.notInclude(results[1]!, "CIRCULAR")
      assert.deepStrictEqual(kit.started, ["b@k2", "c@k3", "a@k3"])
    }))

  test("refused before anything is sent: unknown target, self call, not callable, bad timeouts", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({ a: { callable: ["b"] }, b: {}, c: {} })
      const api = kit.api.forInstance(ref("a"))
      assert.strictEqual(yield* codeOf(api.request({ target: "nobody" })), "AGENT_NOT_FOUND")
      assert.strictEqual(yield* codeOf(api.send({ target: "nobody" })), "AGENT_NOT_FOUND")
      assert.strictEqual(yield* codeOf(api.spawn({ target: "nobody" })), "AGENT_NOT_FOUND")
      assert.strictEqual(yield* codeOf(api.request({ target: " " })), "AGENT_INVALID_REQUEST")
      assert.strictEqual(yield* codeOf(api.request({ target: "c" })), "AGENT_NOT_CALLABLE")
      assert.strictEqual(yield* codeOf(api.send({ target: "c" })), "AGENT_NOT_CALLABLE")
      assert.strictEqual(yield* codeOf(api.request({ target: "a" })), "AGENT_SELF_CALL")
      assert.strictEqual(yield* codeOf(api.request({ target: "a", instanceKey: "other" })), "AGENT_NOT_CALLABLE")
      for (const timeoutMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const error = yield* Effect.flip(api.request({ target: "b", timeoutMs }))
        assert.strictEqual(error.code, "AGENT_INVALID_REQUEST", String(timeoutMs))
        assert.include(error.message, "timeoutMs must be a positive integer")
      }
      assert.deepStrictEqual(kit.started, [])
    }))

  test("limits: pending async and inbox refuse new requests typed, and drop nothing", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const kit = yield* makeSwarm({
        a: { callable: ["b"] },
        b: { model: yield* gatedModel([{ text: "r1" }, { text: "r2" }, { text: "r3" }], gate) }
      }, { maxPendingAsync: 2, maxInbox: 3 })
      const api = kit.api.forInstance(ref("a"))
      yield* api.request({ target: "b", input: "1", async: true })
      yield* api.request({ target: "b", input: "2", async: true })
      assert.strictEqual(yield* codeOf(api.request({ target: "b", input: "x", async: true })), "AGENT_PENDING_LIMIT")
      yield* Deferred.succeed(gate, undefined)
      yield* until(Effect.map(kit.api.pendingReplies(ref("a")), (r) => r.length === 2))
      yield* api.request({ target: "b", input: "3", async: true })
      assert.strictEqual(yield* codeOf(api.request({ target: "b", input: "x", async: true })), "AGENT_INBOX_FULL")
      yield* until(Effect.map(kit.api.pendingReplies(ref("a")), (r) => r.length === 3))
      const replies = yield* kit.api.pendingReplies(ref("a"))
      assert.deepStrictEqual(replies.map((r) => r.response).sort(), ["r1", "r2", "r3"])
    }))

  test("only agents with callableAgents get the agents tool; catalog and spawn/list answer", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({ a: { callable: ["*"] }, b: {}, c: {} })
      const a = yield* kit.agent("a")
      const b = yield* kit.agent("b")
      const names = (yield* a.instance.tools.catalog).map((t) => t.name)
      assert.deepStrictEqual(names, [
        "agents__request",
        "agents__send",
        "agents__spawn",
        "agents__list",
        "agents__catalog"
      ])
      assert.deepStrictEqual(yield* b.instance.tools.catalog, [])
      const api = kit.api.forInstance(ref("a"))
      assert.deepStrictEqual(yield* api.catalog, {
        swarmName: "team",
        entryAgent: "a",
        selfAgent: "a",
        availableAgents: ["a", "b", "c"],
        callableAgents: ["b", "c"]
      })
      const spawned = yield* api.spawn({ target: "c", instanceKey: "worker-1" })
      assert.deepStrictEqual(spawned, { target: "c", instanceKey: "worker-1", spawned: true, owner: "a@main" })
      assert.isFalse((yield* api.spawn({ target: "c", instanceKey: "worker-1" })).spawned)
      assert.deepStrictEqual((yield* api.list()).map((r) => r.instanceKey), ["worker-1"])
      assert.strictEqual(yield* codeOf(kit.api.forInstance(ref("b")).request({ target: "a" })), "AGENT_NOT_CALLABLE")
    }))

  test("send enqueues a turn for the callee, linked by correlation id, and does not wait", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({ a: { callable: ["b"] }, b: { script: [{ text: "noted" }] } })
      const sent = yield* kit.api.forInstance(ref("a")).send({ target: "b", input: "fyi" })
      assert.isTrue(sent.accepted)
      const b = yield* kit.agent("b")
      yield* until(Effect.map(b.messages, (ms) => ms.length === 2))
      const [input] = yield* b.messages
      assert.deepStrictEqual(input?.source, {
        type: "agent",
        kind: "send",
        agentName: "a",
        instanceKey: "main",
        correlationId: sent.correlationId
      })
    }))

  test("in-process tools reach the API through ToolContext.runtime.agents, the chain carried", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({
        a: {
          callable: ["b"],
          tools: [{
            item: { name: "ask__b", parameters: { type: "object" } },
            handler: (_args, ctx) =>
              ctx.runtime?.agents === undefined
                ? Effect.succeed("no runtime")
                : Effect.map(Effect.orDie(ctx.runtime.agents.request({ target: "b", input: "hi" })), (r) => r.response)
          }],
          script: [{ toolCalls: [{ name: "ask__b", arguments: {} }] }, { text: "{{ask__b}}" }]
        },
        b: { callable: ["a"], script: [{ toolCalls: [request("a", "loop?")] }, { text: "b: {{agents__request}}" }] }
      })
      const result = yield* kit.run("a", "go")
      assert.include(String(result.responseMessage?.data.content), "CIRCULAR_CALL_DETECTED")
    }))

  test("sandboxed tools: NativeTools.callAgent answers with the origin the sandbox reports (caller, chain, trace)", () =>
    Effect.gen(function*() {
      const kit = yield* makeSwarm({ a: { callable: ["b"] }, b: { script: [{ text: "hello from b" }] } })
      const native = kit.api.nativeTools(workspaceId)
      const traceparent = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"
      const reply = yield* native.callAgent("b", { q: 1 }, { toolId: "t", caller: "a@main", traceparent })
      assert.strictEqual(reply, "hello from b")
      const started = (yield* (yield* kit.agent("b")).events).find((e) => e.type === "turn.started")!
      assert.strictEqual(started.traceId, "0123456789abcdef0123456789abcdef")
      assert.strictEqual(started.parentSpanId, "0123456789abcdef")
      const cycle = yield* Effect.flip(
        native.callAgent("b", "again", { toolId: "t", caller: "a@main", callChain: ["b@main", "a@main"] })
      )
      assert.strictEqual(cycle.name, "CIRCULAR_CALL_DETECTED")
      assert.include(cycle.message, "b@main -> a@main -> b@main")
      const outside = yield* Effect.flip(native.callAgent("b", "x", { toolId: "t" }))
      assert.strictEqual(outside.name, "AGENT_API_UNAVAILABLE")
    }))
})
