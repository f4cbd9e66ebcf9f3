import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { MessageEvent, MessageStore } from "effect-swarm"
import { buildFixture, runUntil } from "../support/process.js"
import { FsLive, msg, tempRoot } from "./helpers.js"

const ref = { workspaceId: "crash", agentName: "writer", instanceKey: "k:1" }

// Deterministic pseudo-random kill points (mulberry32), so a failure can be replayed from the seed.
const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6D2B79F5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("crash safety with real processes", () => {
  it.scopedLive(
    "SIGKILL at random moments (also mid-compaction) never loses or duplicates an acknowledged event",
    () =>
      Effect.gen(function*() {
        const script = yield* buildFixture("crash-writer", "workspace")
        const root = yield* tempRoot
        const seed = 20261125
        const random = prng(seed)
        const acked: Array<string> = []
        let maxAckedSeq = 0
        let killsDuringCompaction = 0
        const kills = 20
        for (let run = 1; run <= kills; run++) {
          // a third of the runs die the moment a compaction starts; the others after 1..30 acks
          const duringCompaction = run % 3 === 0
          const afterAcks = 1 + Math.floor(random() * 20)
          let acks = 0
          let compacting = false
          const result = yield* runUntil(
            script,
            ["loop", root, String(run), String(1 + Math.floor(random() * 5))],
            (line) => {
              if (line.startsWith("ack ")) {
                acks++
                const [, seq, ...ids] = line.split(" ")
                acked.push(...ids)
                maxAckedSeq = Math.max(maxAckedSeq, Number(seq))
              }
              if (line === "compact") compacting = true
              if (line === "compacted") compacting = false
              if (duringCompaction) {
                if (line === "compact") {
                  killsDuringCompaction++
                  return true
                }
                return acks >= 40
              }
              return acks >= afterAcks
            }
          )
          const errors = result.lines.filter((l) => l.startsWith("error") || l.startsWith("stderr"))
          assert.deepStrictEqual(errors, [], `seed ${seed} run ${run}`)
          assert.strictEqual(result.signal, "SIGKILL")
          void compacting

          const loaded = yield* Effect.scoped(
            Effect.flatMap(MessageStore.make({ root }), (store) => store.load(ref))
          )
          const ids = loaded.messages.map((m) => m.id)
          const seen = new Map<string, number>()
          for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1)
          const duplicates = [...seen].filter(([, n]) => n > 1)
          assert.deepStrictEqual(duplicates, [], `seed ${seed} run ${run}: duplicated messages`)
          const lost = acked.filter((id) => !seen.has(id))
          assert.deepStrictEqual(lost, [], `seed ${seed} run ${run}: acknowledged but lost`)
          assert.isAtLeast(loaded.lastSeq, maxAckedSeq)
          // and in append order
          const order = ids.map((id) => id.slice(1).split("-").map(Number) as [number, number])
          for (let i = 1; i < order.length; i++) {
            const [r0, k0] = order[i - 1]!
            const [r1, k1] = order[i]!
            assert.isTrue(r1 > r0 || (r1 === r0 && k1 === k0 + 1) || (r1 === r0 && k1 > k0), `order at ${ids[i]}`)
          }
        }
        assert.isAtLeast(killsDuringCompaction, 5)
        assert.isAtLeast(acked.length, kills)
      }).pipe(Effect.provide(FsLive)),
    180_000
  )

  it.scopedLive(
    "a second writer process is refused with InstanceLocked; its lock is taken over once it is killed",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const script = yield* buildFixture("crash-writer", "workspace")
        const root = yield* tempRoot
        const store = yield* MessageStore.make({ root })
        // The child appends once, prints "held" and keeps the lock; we try to write while it lives.
        const held = yield* Deferred.make<number>()
        const child = yield* Effect.fork(runUntil(script, ["hold", root, "7"], (line, pid) => {
          if (line === "held") Deferred.unsafeDone(held, Exit.succeed(pid))
          return false
        }))
        const holderPid = yield* Deferred.await(held)
        assert.notStrictEqual(holderPid, 0)
        const error = yield* Effect.flip(store.append(ref, [MessageEvent.append(msg("mine", "x"))]))
        assert.strictEqual(error._tag, "InstanceLocked")
        if (error._tag === "InstanceLocked") {
          assert.strictEqual(error.pid, holderPid)
          assert.include(error.message, `process ${holderPid}`)
        }
        const lockFile = store.paths(ref).lock
        assert.include(yield* fs.readFileString(lockFile), `"pid":${holderPid}`)
        process.kill(holderPid, "SIGKILL")
        const run = yield* Fiber.join(child)
        assert.strictEqual(run.signal, "SIGKILL")
        // stale now: the dead holder's lock is taken over
        const events = yield* store.append(ref, [MessageEvent.append(msg("mine", "x"))])
        assert.strictEqual(events[0]!.seq, 2)
        assert.include(yield* fs.readFileString(lockFile), `"pid":${process.pid}`)
        assert.deepStrictEqual((yield* store.load(ref)).messages.map((m) => m.id), ["hold-7", "mine"])
      }).pipe(Effect.provide(FsLive)),
    120_000
  )
})
