/**
 * The agents bridge of the child-process host: an instance in a child process calls other agents (the
 * built-in `agents` tool) through IPC messages answered by the orchestrator's AgentsApi, with the same
 * checks as in-process (cycles across a child and an in-process instance), and a cancelled caller in a
 * child cancels its callee. Real child processes; the only fakes are scripted models.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Stream } from "effect"
import type { Model } from "effect-swarm"
import { AgentHost, AgentsTool, Bundle, EventBus, Orchestrator } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { text } from "./helpers.js"
import { alive, findFiles } from "./hostKit.js"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/host-agents")

/** The agents named in `inChild` in child processes, the others in this process (in memory). */
const mixedHost = (inChild: ReadonlyArray<string>, home: string) => {
  const child = AgentHost.childProcess({ stateRoot: home })
  return AgentHost.byAgent({
    hosts: Object.fromEntries(inChild.map((name) => [name, child])),
    otherwise: AgentHost.inMemory
  })
}

/** Runs `body` with an orchestrator of the fixture swarm on a mixed host, calls wired; returns the children's pids. */
const withSwarm = <A, E>(
  inChild: ReadonlyArray<string>,
  body: (orchestrator: Orchestrator.Service) => Effect.Effect<A, E>,
  models?: Readonly<Record<string, Model.Service>>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-host-agents-" })
    const bundle = yield* Bundle.load(bundleDir)
    const pids: Array<number> = []
    const result = yield* Effect.gen(function*() {
      const calls = yield* AgentsTool.wire({ root: home })
      // `models` replace the bundle's model of in-process agents.
      const orchestrator = yield* Orchestrator.makeOnHost(bundle, "team", { calls, ...(models ? { models } : {}) })
      const out = yield* body(orchestrator)
      for (const i of yield* orchestrator.list) if (i.pid !== undefined) pids.push(i.pid)
      return out
    }).pipe(
      Effect.scoped,
      Effect.provide(mixedHost(inChild, home).pipe(Layer.provide(EventBus.layer())))
    )
    // The scope closed: every child was shut down and reaped.
    assert.isFalse(pids.some(alive), `children left: ${pids.join(", ")}`)
    return { result, home, pids }
  })

/** A model that answers "effect is a library", except to "research: hang", where it waits until interrupted. */
const hangingResearcher = (called: Deferred.Deferred<void>, interrupted: Deferred.Deferred<void>): Model.Service => ({
  provider: "scripted",
  model: "hang",
  generate: () =>
    Effect.zipRight(Deferred.succeed(called, undefined), Effect.never).pipe(
      Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
    ),
  stream: () => Stream.never
})

describe("AgentHost.childProcess: inter-agent calls", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "a coordinator in a child requests an in-process researcher through agents__request and gets its reply",
      () =>
        Effect.gen(function*() {
          const { pids, result } = yield* withSwarm(["coordinator"], (orchestrator) =>
            Effect.gen(function*() {
              const result = yield* orchestrator.request("coordinator@main", "ask: what is effect?")
              const instances = yield* orchestrator.list
              const coordinator = instances.find((i) => i.address === "coordinator@main")
              const researcher = instances.find((i) => i.address === "researcher@main")
              assert.isDefined(coordinator?.pid, "the coordinator runs in a child")
              assert.isUndefined(researcher?.pid, "the researcher runs in this process")
              return result
            }))
          assert.strictEqual(result.finishReason, "text_response")
          assert.strictEqual(text(result), "the researcher says: effect is a library")
          assert.strictEqual(pids.length, 1)
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "a coordinator in a child requests a researcher in another child: the chain crosses two processes",
      () =>
        Effect.gen(function*() {
          const { home, pids, result } = yield* withSwarm(
            ["coordinator", "researcher"],
            (orchestrator) => orchestrator.request("coordinator@main", "ask: what is effect?")
          )
          assert.strictEqual(text(result), "the researcher says: effect is a library")
          assert.strictEqual(pids.length, 2)
          // The researcher's child wrote its input message, linked to the caller by the correlation id.
          const fs = yield* FileSystem.FileSystem
          const logs = yield* findFiles(home, "events.jsonl")
          const all = (yield* Effect.forEach(logs, (f) => fs.readFileString(f))).join("\n")
          const input = all.split("\n").find((l) => l.includes("research: effect"))
          assert.isDefined(input)
          assert.match(input!, /"type":"agent","kind":"request","agentName":"coordinator","instanceKey":"main"/)
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "a sandboxed tool of a child-process instance asks another agent with ctx.callAgent (worker -> child -> orchestrator)",
      () =>
        Effect.gen(function*() {
          const { result } = yield* withSwarm(
            ["coordinator"],
            (orchestrator) => orchestrator.request("coordinator@main", "native: go")
          )
          assert.strictEqual(text(result), "through ctx.callAgent: effect is a library")
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "A -> B -> A across a child and an in-process instance is CIRCULAR_CALL_DETECTED with the chain",
      () =>
        Effect.gen(function*() {
          const { result } = yield* withSwarm(
            ["coordinator"],
            (orchestrator) => orchestrator.request("coordinator@main", "loop: go")
          )
          const reply = text(result)
          assert.include(reply, "the coordinator got:")
          assert.include(reply, "the researcher got:")
          assert.include(reply, "CIRCULAR_CALL_DETECTED")
          assert.include(reply, "coordinator@main -> researcher@main")
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "interrupting a child's turn cancels its agents__request: the in-process callee's turn is interrupted, the child records its turn abandoned",
      () =>
        Effect.gen(function*() {
          const called = yield* Deferred.make<void>()
          const interrupted = yield* Deferred.make<void>()
          const { home } = yield* withSwarm(["coordinator"], (orchestrator) =>
            Effect.gen(function*() {
              const reply = yield* Effect.fork(orchestrator.request("coordinator@main", "wait: for it"))
              // The request crossed from the child to the researcher, whose model now waits.
              yield* Deferred.await(called)
              yield* Fiber.interrupt(reply)
              // Cancel -> the child's turn -> CallCancel -> the request here -> the researcher's turn.
              yield* Deferred.await(interrupted)
              // The coordinator's worker abandons the interrupted turn before it runs the next message.
              assert.strictEqual(text(yield* orchestrator.request("coordinator@main", "ping")), "pong")
            }), { researcher: hangingResearcher(called, interrupted) })
          const fs = yield* FileSystem.FileSystem
          const events = yield* findFiles(home, "runtime-events.jsonl")
          const logs = yield* findFiles(home, "events.jsonl")
          const all = (yield* Effect.forEach([...events, ...logs], (f) => fs.readFileString(f))).join("\n")
          assert.include(all, "turn.abandoned")
          assert.include(all, "its requester stopped waiting")
        }),
      { timeout: 180_000 }
    )
  })
})
