// Hostile review of issue 15, session 15: extensions, history/fork, budgets, the test kit, as an attacker
// or a new user would use them through the public API. The scripted model is the only fake.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Scope, TestClock } from "effect"
import type { Extension } from "effect-swarm"
import { AgentInstance, Policy } from "effect-swarm"
import { TestAgent } from "effect-swarm/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const extensionDir = fs.mkdtempSync(path.join(os.tmpdir(), "es-review15-"))
/** An extension module written to a temporary file. */
const extension = (name: string, source: string): Extension.Definition => {
  const entry = path.join(extensionDir, `${name}.mjs`)
  fs.writeFileSync(entry, source)
  return { name, entry, config: {} }
}

const outcome = <A>(exit: Exit.Exit<A, { readonly _tag: string; readonly message: string }>, show: (a: A) => string) =>
  Exit.isSuccess(exit)
    ? show(exit.value)
    : Cause.isFailType(exit.cause)
    ? `failed ${exit.cause.error._tag}: ${exit.cause.error.message}`
    : `died: ${Cause.pretty(exit.cause).split("\n")[0]}`

describe("review s15: extension state", () => {
  for (const [what, change] of [["a BigInt", "10n"], ["a cycle", "state"]] as const) {
    it.scoped(`a state changed in place to hold ${what} fails the turn with ExtensionStateNotObject; it does not die`, () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          storage: "temp",
          script: [{ text: "one" }, { text: "two" }],
          extensions: [extension(
            `inplace-${what.length}`,
            `export function register(api) {
              api.state.set({ n: 1 })
              api.pipeline.register("turn", async (ctx, next) => {
                const state = api.state.get()
                state.bad = ${change}
                return next()
              })
            }`
          )]
        })
        const exit = yield* Effect.exit(agent.run("go"))
        // Before the fix: JSON.stringify threw in the save, the turn died (a crash: left open, and every
        // later use of the instance continued it and died again).
        assert.match(outcome(exit, (r) => r.finishReason), /^failed ExtensionStateNotObject: .*inplace/)
        const ended = (yield* agent.records).filter((r) => r.type === "turn.completed" || r.type === "turn.failed")
        assert.strictEqual(ended.length, 1, JSON.stringify(ended))
      }).pipe(Effect.provide(NodeContext.layer)))
  }
})

describe("review s15: budgets", () => {
  it.scoped("maxTokens holds when the model reports no usage: the step counts an estimate", () =>
    Effect.gen(function*() {
      let runs = 0
      const agent = yield* TestAgent.make({
        policy: Policy.resolve({ maxTokens: 50 }),
        tools: [{ item: { name: "t__x" }, handler: () => Effect.sync(() => ++runs) }],
        // No `usage` in the script: many local servers (and some proxies) report none.
        script: [
          { toolCalls: [{ name: "t__x", arguments: {} }] },
          { toolCalls: [{ name: "t__x", arguments: {} }] },
          { text: "done" }
        ]
      })
      // About 100 tokens of input at 4 characters a token: over the budget after the first step.
      const result = yield* agent.run("summarise: " + "lorem ipsum ".repeat(33))
      // Before the fix: the steps counted 0 tokens and the turn ended with text_response, the limit unenforced.
      yield* TestAgent.assertFinish(result, "budget_exceeded", "maxTokens")
      assert.strictEqual(runs, 1)
    }))
})

describe("review s15: extension tools", () => {
  it.scoped("an extension cannot silently replace a tool another extension (or the agent) registered", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(TestAgent.make({
        script: [{ toolCalls: [{ name: "x__t", arguments: {} }] }, { text: "done" }],
        extensions: [
          extension("first", `export function register(api) { api.tools.register({ name: "x__t" }, () => "first") }`),
          extension("second", `export function register(api) { api.tools.register({ name: "x__t" }, () => "second") }`)
        ]
      }))
      // Before the fix: the second handler replaced the first (a warning in the log), and on dispose the
      // name was unregistered altogether; over a Tool resource, an in-process handler replaced a sandboxed one.
      assert.match(
        outcome(exit, () => "loaded"),
        /^failed ExtensionLoadError: \[E_EXT_INIT\] Extension\/second: .*x__t is already registered by extension first/
      )
    }))

  it.scoped("an extension may register its own tool again (the new handler replaces its earlier one)", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        script: [{ toolCalls: [{ name: "x__t", arguments: {} }] }, { text: "done" }],
        extensions: [extension(
          "again",
          `export function register(api) {
            api.tools.register({ name: "x__t" }, () => "old")
            api.tools.register({ name: "x__t" }, () => "new")
          }`
        )]
      })
      yield* TestAgent.assertFinish(yield* agent.run("go"), "text_response")
      assert.include((yield* agent.transcript)[2], "ok new")
    }))
})

describe("review s15: extension events", () => {
  it.scoped("approval and budget records reach an extension's events.on handlers (they were never delivered)", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const key = "__review15bSeen"
      ;(globalThis as Record<string, unknown>)[key] = seen
      const scope = yield* Scope.make()
      const agent = yield* Scope.extend(
        TestAgent.make({
          policy: Policy.resolve({ maxToolCalls: 1 }),
          tools: [
            { item: { name: "ops__deploy" }, needsApproval: true, handler: () => Effect.succeed("deployed") },
            { item: { name: "t__x" }, handler: () => Effect.succeed("x") }
          ],
          script: [
            { toolCalls: [{ name: "ops__deploy", id: "c1", arguments: {} }] },
            { toolCalls: [{ name: "t__x", id: "c2", arguments: {} }, { name: "t__x", id: "c3", arguments: {} }] },
            { text: "done" }
          ],
          extensions: [extension(
            "notify",
            `export function register(api) {
            for (const type of ["approval.requested", "approval.resolved", "budget.exceeded"]) {
              api.events.on(type, (e) => { globalThis.${key}.push(type + " " + (e.toolCallId ?? e.limit)) })
            }
          }`
          )]
        }),
        scope
      )
      yield* TestAgent.assertFinish(yield* agent.run("deploy"), "awaiting_approval")
      yield* TestAgent.assertFinish(
        yield* AgentInstance.approve(agent.instance, "c1"),
        "budget_exceeded",
        "maxToolCalls"
      )
      // Delivered after the fact: a notifier waits for the handlers when the environment closes.
      yield* Scope.close(scope, Exit.void)
      // Before the fix: [] (the loop's records were written to the log, never handed to extensions).
      assert.deepStrictEqual(seen, ["approval.requested c1", "approval.resolved c1", "budget.exceeded maxToolCalls"])
    }))

  it.scoped("closing the instance delivers the runtime events already published before its handlers go (as documented)", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const key = "__review15bClosed"
      ;(globalThis as Record<string, unknown>)[key] = seen
      const scope = yield* Scope.make()
      const agent = yield* Scope.extend(
        TestAgent.make({
          script: [{ text: "hi" }],
          extensions: [extension(
            "closing",
            `export function register(api) {
              api.events.on("turn.completed", (e) => { globalThis.${key}.push(e.finishReason) })
            }`
          )]
        }),
        scope
      )
      yield* TestAgent.assertFinish(yield* agent.run("go"), "text_response")
      yield* Scope.close(scope, Exit.void)
      // Before the fix: [] when the scope closed before the hub's fiber ran: the extension's dispose removed
      // its handlers first, then the drain delivered the events to nobody.
      assert.deepStrictEqual(seen, ["text_response"])
    }))

  it.scoped("a handler that never settles cannot hold the instance's scope open: closing cuts it off after 5 s", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const agent = yield* Scope.extend(
        TestAgent.make({
          script: [{ text: "hi" }],
          extensions: [extension(
            "hangs",
            `export function register(api) { api.events.on("turn.completed", () => new Promise(() => {})) }`
          )]
        }),
        scope
      )
      yield* TestAgent.assertFinish(yield* agent.run("go"), "text_response")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("5 seconds")
      // Without the bound, the close waited for the handler forever (the drain at close delivers the
      // events already published, and this handler never returns).
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(closing)))
    }))

  it.scoped("a reserved name emitted without await throws at the call (an unhandled rejection crashed Node)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(TestAgent.make({
        script: [{ text: "hi" }],
        // Fire and forget: nobody handles the returned Promise.
        extensions: [extension("fire", `export function register(api) { api.events.emit("turn.completed", {}) }`)]
      }))
      // Before the fix: the load succeeded and the Promise rejected unhandled; Node's default
      // (--unhandled-rejections=throw) ends the whole host process on it.
      assert.match(outcome(exit, () => "loaded"), /E_EXT_INIT.*cannot emit 'turn.completed'/)
    }))

  it.scoped("an extension cannot emit an event named like a turn-loop record (approval.requested, ...)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(TestAgent.make({
        script: [{ text: "hi" }],
        extensions: [
          extension("forge", `export async function register(api) { await api.events.emit("approval.requested", {}) }`)
        ]
      }))
      assert.match(outcome(exit, () => "loaded"), /E_EXT_INIT.*cannot emit 'approval.requested'/)
    }))
})

describe("review s15: fork and the test kit", () => {
  it.scoped("a negative seq is refused as not a seq, not as folded into a snapshot", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ script: [{ text: "one" }] })
      yield* agent.run("go")
      const exit = yield* Effect.exit(AgentInstance.fork(agent.instance, -1, "what-if"))
      // Before the fix: "seq -1 is folded into the snapshot (it holds seqs up to 0); fork at 0 or later".
      assert.match(outcome(exit, () => "forked"), /^failed ForkError: .*-1 is not a seq of the log/)
    }))

  it.scoped("assertTranscript names the first line that differs", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ script: [{ text: "hello" }] })
      yield* agent.run("hi")
      const exit = yield* Effect.exit(TestAgent.assertTranscript(agent, ["user: hi", "assistant: bye"]))
      // Before the fix: both transcripts in full, the reader left to find the difference.
      assert.match(
        outcome(exit, () => "passed"),
        /line 2 differs: expected "assistant: bye", got "assistant: hello"/
      )
      const shorter = yield* Effect.exit(TestAgent.assertTranscript(agent, ["user: hi"]))
      assert.match(outcome(shorter, () => "passed"), /line 2 differs: expected nothing, got "assistant: hello"/)
    }))

  it.scoped("a scripted model that runs out of replies says so, without blaming an endpoint", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({ script: [{ text: "one" }] })
      yield* agent.run("first")
      const exit = yield* Effect.exit(agent.run("second"))
      const shown = outcome(exit, (r) => r.finishReason)
      assert.match(shown, /no script step left for the last user message "second"/)
      // Before the fix: "... (check that the endpoint speaks this provider's API)": a scripted model has none.
      assert.notInclude(shown, "endpoint")
    }))
})
