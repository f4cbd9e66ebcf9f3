/**
 * Reference cases (goondan-runtime-behaviour.md, section 3) that had no test of their own: the structured
 * log of `crashLoopBackOff` (orchestrator-reconcile-backoff 3) and a restart of one instance leaving the
 * others alone (architecture 7; the child-process variant with pids is in hostChild.test.ts).
 */
import { assert, describe } from "@effect/vitest"
import { Effect, Fiber, HashMap, Logger, LogLevel, TestClock } from "effect"
import type { Orchestrator } from "effect-swarm"
import { baseLayer, echoModel, inMemory, scopedTest, until } from "./helpers.js"

const info = (orchestrator: Orchestrator.Service, address: string) =>
  Effect.map(orchestrator.list, (all) => all.find((i) => i.address === address))

interface Record {
  readonly level: string
  readonly message: string
  readonly annotations: { readonly [key: string]: unknown }
}

/** Every log record with its annotations (what a JSON logger would write as fields). */
const captured = () => {
  const records: Array<Record> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    records.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return { records, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("reference cases", () => {
  scopedTest(
    "crashLoopBackOff is logged once per backoff as a structured warning: swarm, agent, instance, crashes, threshold, backoff, next start",
    () => {
      const logs = captured()
      return Effect.gen(function*() {
        let calls = 0
        // Calls 1-6 die (a defect: the instance crashes); the 7th answers.
        const model = echoModel(() =>
          Effect.suspend(() => ++calls <= 6 ? Effect.die(new Error(`crash ${calls}`)) : Effect.void)
        )
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service }, {
          supervision: { maxRestarts: 100 }
        })
        const reply = yield* Effect.fork(orchestrator.request("alpha@one", "boom"))
        yield* until(() => Effect.map(info(orchestrator, "alpha@one"), (i) => i?.status === "crashLoopBackOff"))
        const loop = logs.records.filter((r) => r.annotations.event === "orchestrator.crashLoopBackOff")
        assert.strictEqual(loop.length, 1)
        assert.strictEqual(loop[0]!.level, LogLevel.Warning.label)
        assert.strictEqual(loop[0]!.message, "alpha@one is in crashLoopBackOff")
        assert.deepStrictEqual(loop[0]!.annotations, {
          event: "orchestrator.crashLoopBackOff",
          swarm: "default",
          agent: "alpha",
          instance: "one",
          consecutiveCrashes: 6,
          crashThreshold: 5,
          backoffMs: 1000,
          nextStartAt: new Date(1000).toISOString()
        })
        // Each crash before it is a structured warning too, with its count; none of them is a crash loop.
        const crashes = logs.records.filter((r) => r.annotations.event === "orchestrator.crash")
        assert.deepStrictEqual(crashes.map((r) => r.annotations.consecutiveCrashes), [1, 2, 3, 4, 5, 6])
        assert.isTrue(crashes.every((r) => r.annotations.instance === "alpha@one" && r.annotations.swarm === "default"))
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Fiber.join(reply)).finishReason, "text_response")
        assert.strictEqual(
          logs.records.filter((r) => r.annotations.event === "orchestrator.crashLoopBackOff").length,
          1
        )
      }).pipe(Effect.provide(baseLayer), Effect.provide(logs.layer))
    }
  )

  scopedTest(
    "restarting one instance leaves the other instances' generation, restarts and queue untouched",
    () =>
      Effect.gen(function*() {
        const model = echoModel()
        const orchestrator = yield* inMemory({ alpha: model.service, beta: model.service })
        for (const address of ["alpha@one", "alpha@two", "beta@one"]) yield* orchestrator.request(address, "hi")
        const before = yield* orchestrator.list
        assert.deepStrictEqual(before.map((i) => [i.address, i.generation, i.restarts]), [
          ["alpha@one", 1, 0],
          ["alpha@two", 1, 0],
          ["beta@one", 1, 0]
        ])
        yield* orchestrator.restart("alpha@one")
        assert.strictEqual((yield* orchestrator.request("alpha@one", "again")).finishReason, "text_response")
        assert.strictEqual((yield* orchestrator.request("alpha@two", "again")).finishReason, "text_response")
        const after = yield* orchestrator.list
        assert.deepStrictEqual(after.map((i) => [i.address, i.generation, i.restarts, i.status]), [
          ["alpha@one", 2, 1, "idle"],
          ["alpha@two", 1, 0, "idle"],
          ["beta@one", 1, 0, "idle"]
        ])
      }).pipe(Effect.provide(baseLayer))
  )
})
