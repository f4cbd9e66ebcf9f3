// Orchestrator.reload: a new bundle applied in place. Only the changed agents' instances restart (reason
// config_change), their queued messages go to the new generation in order, other instances keep running;
// new agents become addressable, removed ones are stopped. Real YAML files under a temporary directory,
// durable stores on a temporary state root; the model is the only fake; every timer runs on the TestClock.
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import type { Model } from "effect-swarm"
import { Bundle, Message, Orchestrator } from "effect-swarm"
import * as path from "node:path"
import { agent, swarm, writeFiles } from "../resource/helpers.js"
import {
  abandonReasons,
  durableContext,
  durableTimeout,
  echoResponse,
  info,
  lastUser,
  scopedTest,
  until,
  untilSleep
} from "./helpers.js"

/** The bundle's one Model: scripted (the tests give every agent a model of their own). */
const modelDoc = `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: default }
spec: { provider: scripted, model: stand-in, script: [{ text: scripted reply }] }
`

/** A bundle directory of real YAML files: one directory per agent (`<name>/agent.yaml`), and the Swarm. */
const writeBundle = (
  dir: string,
  agents: ReadonlyArray<readonly [name: string, system: string]>,
  swarmName = "default"
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const f of yield* fs.readDirectory(dir)) yield* fs.remove(path.join(dir, f), { recursive: true })
    yield* writeFiles(dir, {
      "model.yaml": modelDoc,
      ...Object.fromEntries(
        agents.map(([name, system]) => [`${name}/agent.yaml`, agent(name, `  prompt:\n    system: ${system}\n`)])
      ),
      "swarm.yaml": swarm(swarmName, agents.map(([name]) => name))
    })
    return yield* Bundle.load(dir, { dependencies: false })
  })

/** The workspace stores on a fresh temporary root, and a bundle directory (both removed with the scope). */
const setup = Effect.gen(function*() {
  const { context, fs, root } = yield* durableContext("es-orch-reload-")
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "es-orch-reload-bundle-" })
  return { root, dir, context }
})

/** The fake at the LLM boundary: records (system prompt, user text) per call; texts in `gates` wait for theirs. */
const recordingModel = (gates: ReadonlyMap<string, Deferred.Deferred<void>>) => {
  const calls: Array<{ readonly system: string; readonly text: string }> = []
  const generate = (request: Model.Request) =>
    Effect.gen(function*() {
      const text = lastUser(request)
      const system = request.system ??
        request.messages.flatMap((m) => {
          const data: Message.MessageData = "createdAt" in m && "metadata" in m ? (m as Message.Message).data : m
          return data.role === "system" ? [Message.text(data)] : []
        }).join("\n")
      calls.push({ system, text })
      const gate = gates.get(text)
      if (gate !== undefined) yield* Deferred.await(gate)
      return echoResponse(text)
    })
  const service: Model.Service = {
    provider: "scripted",
    model: "recording",
    generate,
    stream: (request) => Stream.fromEffect(Effect.map(generate(request), (response) => ({ _tag: "Finish", response })))
  }
  return { service, calls }
}

describe("Orchestrator.reload", () => {
  scopedTest(
    "restarts only the changed agent's instances: its queued messages (and those sent meanwhile) go to the new generation in order, the others keep running",
    () =>
      Effect.gen(function*() {
        const { context, dir } = yield* setup
        const v1 = yield* writeBundle(dir, [["alpha", "alpha v1"], ["beta", "beta v1"]]).pipe(
          Effect.provide(NodeContext.layer)
        )
        const gateA = yield* Deferred.make<void>()
        const gateB = yield* Deferred.make<void>()
        const model = recordingModel(new Map([["a1", gateA], ["b1", gateB]]))
        const orchestrator = yield* Orchestrator.make(v1, "default", {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        yield* orchestrator.send("alpha@one", "a1")
        yield* orchestrator.send("beta@two", "b1")
        yield* until(() => Effect.succeed(model.calls.length === 2))
        yield* orchestrator.send("alpha@one", "a2")
        yield* orchestrator.send("beta@two", "b2")
        const gammaBefore = yield* Effect.flip(orchestrator.send("gamma", "hi"))
        assert.strictEqual(gammaBefore._tag, "AgentNotFound")

        // alpha's prompt changes and gamma is added; beta is untouched.
        const v2 = yield* writeBundle(dir, [["alpha", "alpha v2"], ["beta", "beta v1"], ["gamma", "gamma v1"]]).pipe(
          Effect.provide(NodeContext.layer)
        )
        const reload = yield* Effect.fork(orchestrator.reload(v2, ["alpha"]))
        // While the reload waits for a1's turn, alpha still accepts messages (kept in order).
        yield* until(() => Effect.map(info(orchestrator, "alpha@one"), (i) => i.status === "processing"))
        yield* orchestrator.send("alpha@one", "a3")
        // beta keeps running: its turn completes and its queued message runs on its first generation.
        yield* Deferred.succeed(gateB, undefined)
        yield* until(() => Effect.succeed(model.calls.some((c) => c.text === "b2")))
        assert.isTrue(Option.isNone(yield* Fiber.poll(reload)), "the reload waits for a1's turn")
        yield* Deferred.succeed(gateA, undefined)
        const report = yield* Fiber.join(reload)
        assert.deepStrictEqual(report.restarted, ["alpha@one"])
        assert.deepStrictEqual(report.added, ["gamma"])
        assert.deepStrictEqual(report.removed, [])
        assert.deepStrictEqual(report.interrupted, [])

        yield* until(() => Effect.succeed(model.calls.filter((c) => c.text.startsWith("a")).length === 3))
        const alphaCalls = model.calls.filter((c) => c.text.startsWith("a"))
        assert.deepStrictEqual(alphaCalls.map((c) => c.text), ["a1", "a2", "a3"])
        assert.include(alphaCalls[0]!.system, "alpha v1")
        assert.include(alphaCalls[1]!.system, "alpha v2")
        assert.include(alphaCalls[2]!.system, "alpha v2")
        const betaCalls = model.calls.filter((c) => c.text.startsWith("b"))
        assert.deepStrictEqual(betaCalls.map((c) => c.text), ["b1", "b2"])
        const alpha = yield* info(orchestrator, "alpha@one")
        const beta = yield* info(orchestrator, "beta@two")
        assert.strictEqual(alpha.generation, 2)
        assert.strictEqual(alpha.restarts, 1)
        assert.strictEqual(beta.generation, 1)
        assert.strictEqual(beta.restarts, 0)

        // gamma is addressable now (it runs on the bundle's scripted model).
        const gamma = yield* orchestrator.request("gamma", "hi")
        assert.strictEqual(gamma.finishReason, "text_response")
        assert.deepStrictEqual(orchestrator.agents.map((a) => a.name), ["alpha", "beta", "gamma"])
      }),
    durableTimeout
  )

  scopedTest(
    "a turn still running after the grace period is interrupted and recorded with config_change; its requester gets AGENT_TURN_FAILED; the queue goes to the new generation",
    () =>
      Effect.gen(function*() {
        const { context, dir } = yield* setup
        const v1 = yield* writeBundle(dir, [["alpha", "alpha v1"], ["beta", "beta v1"]]).pipe(
          Effect.provide(NodeContext.layer)
        )
        const never = yield* Deferred.make<void>()
        const model = recordingModel(new Map([["a1", never]]))
        const orchestrator = yield* Orchestrator.make(v1, "default", {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        const first = yield* Effect.fork(orchestrator.request("alpha@one", "a1"))
        yield* until(() => Effect.succeed(model.calls.length === 1))
        yield* orchestrator.send("alpha@one", "a2")
        const v2 = yield* writeBundle(dir, [["alpha", "alpha v2"], ["beta", "beta v1"]]).pipe(
          Effect.provide(NodeContext.layer)
        )
        const reload = yield* Effect.fork(orchestrator.reload(v2, ["alpha"]))
        // The grace period (the Swarm's default, 30 s) runs on the TestClock.
        const now = yield* TestClock.currentTimeMillis
        yield* untilSleep(now + 30_000)
        yield* TestClock.adjust("30 seconds")
        const report = yield* Fiber.join(reload)
        assert.deepStrictEqual(report.restarted, ["alpha@one"])
        assert.deepStrictEqual(report.interrupted, ["alpha@one"])
        const failed = yield* Effect.flip(Fiber.join(first))
        assert.strictEqual(failed._tag, "AgentTurnFailed")
        assert.strictEqual(failed.code, "AGENT_TURN_FAILED")
        assert.include(failed.message, "config_change")

        yield* until(() => Effect.succeed(model.calls.length === 2))
        assert.deepStrictEqual(model.calls.map((c) => c.text), ["a1", "a2"])
        assert.include(model.calls[1]!.system, "alpha v2")
        const reasons = yield* abandonReasons(context, orchestrator.workspaceId, "alpha", "one")
        assert.strictEqual(reasons.length, 1)
        assert.include(reasons[0], "config_change")
      })
  )

  scopedTest(
    "an agent removed from the Swarm: its instances are stopped, new messages to it are refused with AGENT_NOT_FOUND",
    () =>
      Effect.gen(function*() {
        const { context, dir } = yield* setup
        const v1 = yield* writeBundle(dir, [["alpha", "alpha v1"], ["beta", "beta v1"]]).pipe(
          Effect.provide(NodeContext.layer)
        )
        const model = recordingModel(new Map())
        const orchestrator = yield* Orchestrator.make(v1, "default", {
          models: { alpha: model.service, beta: model.service }
        }).pipe(Effect.provide(context))
        yield* orchestrator.request("alpha@one", "a1")
        yield* orchestrator.request("beta@two", "b1")
        const v2 = yield* writeBundle(dir, [["alpha", "alpha v1"]]).pipe(Effect.provide(NodeContext.layer))
        const report = yield* orchestrator.reload(v2, [])
        assert.deepStrictEqual(report.removed, ["beta"])
        assert.deepStrictEqual(report.stopped, ["beta@two"])
        assert.deepStrictEqual(report.restarted, [])
        const beta = yield* info(orchestrator, "beta@two")
        assert.strictEqual(beta.status, "stopped")
        assert.include(beta.reason, "removed from the Swarm")
        const refused = yield* Effect.flip(orchestrator.send("beta@three", "b2"))
        assert.strictEqual(refused._tag, "AgentNotFound")
        // alpha was not touched.
        const alpha = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(alpha.generation, 1)
        assert.strictEqual((yield* orchestrator.request("alpha@one", "a2")).finishReason, "text_response")
      })
  )

  scopedTest(
    "a new bundle without the Swarm fails with SwarmNotFound and changes nothing",
    () =>
      Effect.gen(function*() {
        const { context, dir } = yield* setup
        const v1 = yield* writeBundle(dir, [["alpha", "alpha v1"]]).pipe(Effect.provide(NodeContext.layer))
        const model = recordingModel(new Map())
        const orchestrator = yield* Orchestrator.make(v1, "default", { models: { alpha: model.service } }).pipe(
          Effect.provide(context)
        )
        yield* orchestrator.request("alpha@one", "a1")
        const renamed = yield* writeBundle(dir, [["alpha", "alpha v1"]], "other")
        const exit = yield* Effect.exit(orchestrator.reload(renamed, ["alpha"]))
        assert.isTrue(Exit.isFailure(exit))
        const alpha = yield* info(orchestrator, "alpha@one")
        assert.strictEqual(alpha.generation, 1)
        yield* orchestrator.request("alpha@one", "a2")
        assert.include(model.calls[1]!.system, "alpha v1")
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
