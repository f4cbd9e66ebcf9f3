// Spawn records that survive a restart (issue 16): `<caller>/inbox/spawned.jsonl` under the state root. Two
// orchestrator lifetimes on one real temporary root, the `team` fixture (lead may call worker, worker may
// call lead), the public API only; the scripted model is the only fake and every timer is on the TestClock.
import { assert, describe } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import type { Middleware } from "effect-swarm"
import { Orchestrator, Scripted } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { baseLayer, closeOnClock, type DurableContext, durableContext, loadCalls, scopedTest } from "./helpers.js"

const spawnedFile = (root: string, workspaceId: string, caller: string) =>
  path.join(root, "workspaces", workspaceId, "instances", caller, "inbox", "spawned.jsonl")

/** A durable orchestrator of the `team` swarm in a scope of its own (closing it is one lifetime's end). */
const lifetime = (context: DurableContext, calls: Orchestrator.CallLimits = {}) =>
  Effect.gen(function*() {
    const bundle = yield* loadCalls
    const worker = yield* Scripted.make(Array.from({ length: 10 }, () => ({ text: "ok" })))
    const scope = yield* Scope.make()
    const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker }, calls }).pipe(
      Effect.provide(context),
      Scope.extend(scope)
    )
    const as = (agentName: string, instanceKey: string) =>
      orchestrator.agentsApi!.forInstance({ workspaceId: orchestrator.workspaceId, agentName, instanceKey })
    return { orchestrator, as, end: closeOnClock(scope, Exit.void) }
  })

const keys = (records: ReadonlyArray<Middleware.SpawnedAgent>) =>
  records.map((r) => `${r.owner}>${r.target}@${r.instanceKey}:${r.spawned}`)

const failure = <A>(effect: Effect.Effect<A, Middleware.AgentsApiError>) =>
  Effect.map(Effect.flip(effect), (e) => ({ code: e.code, message: e.message, suggestion: e.suggestion ?? "" }))

describe("spawn records (durable)", () => {
  scopedTest(
    "list, includeAll and spawned survive a restart on the same root; a key spawned before is spawned: false",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-spawn-restart-")
        const one = yield* lifetime(context)
        const lead = one.as("lead", "t1")
        assert.isTrue((yield* lead.spawn({ target: "worker", instanceKey: "w1" })).spawned)
        yield* TestClock.adjust("1 second")
        assert.isTrue((yield* one.as("worker", "w9").spawn({ target: "lead", instanceKey: "t5" })).spawned)
        yield* TestClock.adjust("1 second")
        assert.isTrue((yield* lead.spawn({ target: "worker", instanceKey: "w2" })).spawned)
        // Again, before its first message: the address is spawned already.
        assert.isFalse((yield* lead.spawn({ target: "worker", instanceKey: "w1" })).spawned)
        const listed = keys(yield* lead.list())
        const all = keys(yield* lead.list({ includeAll: true }))
        assert.deepStrictEqual(listed, ["lead@t1>worker@w1:true", "lead@t1>worker@w2:true"])
        assert.deepStrictEqual(all, ["lead@t1>worker@w1:true", "worker@w9>lead@t5:true", "lead@t1>worker@w2:true"])
        const file = spawnedFile(root, one.orchestrator.workspaceId, "lead@t1")
        const written = fs.readFileSync(file, "utf8")
        // One line per address (the repeat adds none), each with its record version.
        assert.strictEqual(written.split("\n").filter((l) => l !== "").length, 2)
        assert.include(written, `"v":1`)
        yield* one.end

        const two = yield* lifetime(context)
        const again = two.as("lead", "t1")
        assert.deepStrictEqual(keys(yield* again.list()), listed)
        assert.deepStrictEqual(keys(yield* again.list({ includeAll: true })), all)
        // Spawned before the restart and never messaged: still spawned (before: true again).
        assert.deepStrictEqual(yield* again.spawn({ target: "worker", instanceKey: "w1" }), {
          target: "worker",
          instanceKey: "w1",
          spawned: false,
          owner: "lead@t1"
        })
        // Another caller's key from before the restart: spawned already, recorded in this caller's list.
        assert.isFalse((yield* two.as("lead", "t2").spawn({ target: "worker", instanceKey: "w2" })).spawned)
        assert.isTrue((yield* again.spawn({ target: "worker", instanceKey: "w3" })).spawned)
        assert.deepStrictEqual(keys(yield* again.list()), [...listed, "lead@t1>worker@w3:true"])
        assert.strictEqual(fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length, 3)
        yield* two.end
      }),
    60_000
  )

  scopedTest(
    "spawned: false for an address that has an instance: running, stopped, or only a log on disk after a restart",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-spawn-exists-")
        const one = yield* lifetime(context)
        const lead = one.as("lead", "t1")
        yield* one.orchestrator.request("worker@ran", "hello")
        yield* one.orchestrator.stop("worker@halted")
        assert.isFalse((yield* lead.spawn({ target: "worker", instanceKey: "ran" })).spawned)
        assert.isFalse((yield* lead.spawn({ target: "worker", instanceKey: "halted" })).spawned)
        yield* one.end

        // The restarted orchestrator holds no instance at worker@ran2 yet; its log is on disk.
        const two = yield* lifetime(context)
        yield* two.orchestrator.request("worker@ran2", "hello")
        yield* two.end
        const three = yield* lifetime(context)
        assert.isFalse((yield* three.orchestrator.list).some((i) => i.address === "worker@ran2"))
        assert.isFalse((yield* three.as("lead", "t1").spawn({ target: "worker", instanceKey: "ran2" })).spawned)
        assert.isTrue((yield* three.as("lead", "t1").spawn({ target: "worker", instanceKey: "fresh" })).spawned)
        yield* three.end
      }),
    60_000
  )

  scopedTest(
    "concurrent spawns of one key from two callers: exactly one is spawned: true, both record it",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-spawn-race-")
        const one = yield* lifetime(context)
        const [a, b] = yield* Effect.all([
          one.as("lead", "t1").spawn({ target: "worker", instanceKey: "shared" }),
          one.as("lead", "t2").spawn({ target: "worker", instanceKey: "shared" })
        ], { concurrency: 2 })
        assert.deepStrictEqual([a!.spawned, b!.spawned].sort(), [false, true])
        const all = keys(yield* one.as("lead", "t1").list({ includeAll: true }))
        assert.deepStrictEqual(all.sort(), [
          `lead@t1>worker@shared:${a!.spawned}`,
          `lead@t2>worker@shared:${b!.spawned}`
        ])
        for (const caller of ["lead@t1", "lead@t2"]) {
          assert.strictEqual(
            fs.readFileSync(spawnedFile(root, one.orchestrator.workspaceId, caller), "utf8").split("\n").length,
            2
          )
        }
        yield* one.end
      }),
    60_000
  )

  scopedTest(
    "a corrupt line fails spawn and the caller's list with AGENT_INBOX_FAILED naming file:line; untouched; fixed by hand, no restart needed",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-spawn-corrupt-")
        const one = yield* lifetime(context)
        yield* one.as("lead", "t1").spawn({ target: "worker", instanceKey: "w1" })
        yield* one.as("lead", "t1").spawn({ target: "worker", instanceKey: "w2" })
        yield* one.as("lead", "t2").spawn({ target: "worker", instanceKey: "w3" })
        yield* one.end
        const file = spawnedFile(root, one.orchestrator.workspaceId, "lead@t1")
        const original = fs.readFileSync(file, "utf8")
        const [first, second] = original.split("\n")
        const edited = `${first}\n{not json\n${second}\n`
        fs.writeFileSync(file, edited)

        const two = yield* lifetime(context)
        const lead = two.as("lead", "t1")
        const attempts: ReadonlyArray<Effect.Effect<unknown, Middleware.AgentsApiError>> = [
          lead.list(),
          lead.spawn({ target: "worker", instanceKey: "w4" })
        ]
        for (const attempt of attempts) {
          const error = yield* failure(attempt)
          assert.strictEqual(error.code, "AGENT_INBOX_FAILED")
          assert.include(error.message, `${file}:2`)
          assert.include(error.suggestion, "repair or remove that line")
        }
        // Another caller's own list does not depend on that file; a spawn (which must know every key) does.
        assert.deepStrictEqual(keys(yield* two.as("lead", "t2").list()), ["lead@t2>worker@w3:true"])
        assert.strictEqual((yield* failure(two.as("lead", "t2").list({ includeAll: true }))).code, "AGENT_INBOX_FAILED")
        assert.strictEqual(
          (yield* failure(two.as("lead", "t2").spawn({ target: "worker", instanceKey: "w5" }))).code,
          "AGENT_INBOX_FAILED"
        )
        assert.strictEqual(fs.readFileSync(file, "utf8"), edited)

        fs.writeFileSync(file, original)
        assert.deepStrictEqual(keys(yield* lead.list()), ["lead@t1>worker@w1:true", "lead@t1>worker@w2:true"])
        assert.isFalse((yield* two.as("lead", "t2").spawn({ target: "worker", instanceKey: "w1" })).spawned)
        yield* two.end
      }),
    60_000
  )

  scopedTest(
    "a torn last line (an append cut by a crash) is cut on load; the records before it stay and appends go on",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-spawn-torn-")
        const one = yield* lifetime(context)
        yield* one.as("lead", "t1").spawn({ target: "worker", instanceKey: "w1" })
        yield* one.end
        const file = spawnedFile(root, one.orchestrator.workspaceId, "lead@t1")
        const intact = fs.readFileSync(file, "utf8")
        fs.appendFileSync(file, `{"v":1,"target":"worker","instanceKey":"w2","ownerAg`)

        const two = yield* lifetime(context)
        const lead = two.as("lead", "t1")
        assert.deepStrictEqual(keys(yield* lead.list()), ["lead@t1>worker@w1:true"])
        assert.strictEqual(fs.readFileSync(file, "utf8"), intact)
        // The torn record was never acknowledged: its key is new.
        assert.isTrue((yield* lead.spawn({ target: "worker", instanceKey: "w2" })).spawned)
        yield* two.end
        const three = yield* lifetime(context)
        assert.deepStrictEqual(keys(yield* three.as("lead", "t1").list()), [
          "lead@t1>worker@w1:true",
          "lead@t1>worker@w2:true"
        ])
        yield* three.end
      }),
    60_000
  )

  scopedTest(
    "includeAll is oldest first (ties by caller, then its order), the same before and after a restart",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-spawn-order-")
        const one = yield* lifetime(context)
        const t1 = one.as("lead", "t1")
        const t2 = one.as("lead", "t2")
        yield* t2.spawn({ target: "worker", instanceKey: "b" })
        yield* t1.spawn({ target: "worker", instanceKey: "a" })
        yield* TestClock.adjust("1 millis")
        yield* t1.spawn({ target: "worker", instanceKey: "c" })
        yield* t2.spawn({ target: "worker", instanceKey: "d" })
        yield* t1.spawn({ target: "worker", instanceKey: "e" })
        const expected = [
          "lead@t1>worker@a:true",
          "lead@t2>worker@b:true",
          "lead@t1>worker@c:true",
          "lead@t1>worker@e:true",
          "lead@t2>worker@d:true"
        ]
        assert.deepStrictEqual(keys(yield* t2.list({ includeAll: true })), expected)
        assert.deepStrictEqual(keys(yield* t1.list()), [
          "lead@t1>worker@a:true",
          "lead@t1>worker@c:true",
          "lead@t1>worker@e:true"
        ])
        yield* one.end
        const two = yield* lifetime(context)
        assert.deepStrictEqual(keys(yield* two.as("lead", "t9").list({ includeAll: true })), expected)
        assert.deepStrictEqual(keys(yield* two.as("lead", "t9").list()), [])
        yield* two.end
      }),
    60_000
  )

  scopedTest(
    "maxSpawned caps a caller's distinct spawns with AGENT_SPAWN_LIMIT, also after a restart; its own keys spawn again",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-spawn-cap-")
        const one = yield* lifetime(context, { maxSpawned: 2 })
        const lead = one.as("lead", "t1")
        yield* lead.spawn({ target: "worker", instanceKey: "w1" })
        yield* lead.spawn({ target: "worker", instanceKey: "w2" })
        const refused = yield* failure(lead.spawn({ target: "worker", instanceKey: "w3" }))
        assert.strictEqual(refused.code, "AGENT_SPAWN_LIMIT")
        assert.include(refused.message, "lead@t1 has spawned 2 instances")
        assert.include(refused.suggestion, "maxSpawned")
        assert.isFalse((yield* lead.spawn({ target: "worker", instanceKey: "w1" })).spawned)
        // Another caller has its own count.
        assert.isTrue((yield* one.as("lead", "t2").spawn({ target: "worker", instanceKey: "w3" })).spawned)
        yield* one.end
        const two = yield* lifetime(context, { maxSpawned: 2 })
        assert.strictEqual(
          (yield* failure(two.as("lead", "t1").spawn({ target: "worker", instanceKey: "w4" }))).code,
          "AGENT_SPAWN_LIMIT"
        )
        assert.deepStrictEqual((yield* two.as("lead", "t1").list()).map((r) => r.instanceKey), ["w1", "w2"])
        yield* two.end
      }),
    60_000
  )
})

describe("spawn records (in memory)", () => {
  scopedTest(
    "an in-memory orchestrator: a second spawn of a key before its first message is spawned: false",
    () =>
      Effect.gen(function*() {
        const bundle = yield* loadCalls
        const o = yield* Orchestrator.makeInMemory(bundle, "team")
        const lead = o.agentsApi!.forInstance({ workspaceId: o.workspaceId, agentName: "lead", instanceKey: "t1" })
        assert.isTrue((yield* lead.spawn({ target: "worker", instanceKey: "w1" })).spawned)
        assert.isFalse((yield* lead.spawn({ target: "worker", instanceKey: "w1" })).spawned)
        const other = o.agentsApi!.forInstance({ workspaceId: o.workspaceId, agentName: "lead", instanceKey: "t2" })
        assert.isFalse((yield* other.spawn({ target: "worker", instanceKey: "w1" })).spawned)
        assert.deepStrictEqual(keys(yield* lead.list({ includeAll: true })), [
          "lead@t1>worker@w1:true",
          "lead@t2>worker@w1:false"
        ])
      }).pipe(Effect.provide(baseLayer))
  )
})
