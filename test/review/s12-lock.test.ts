// Hostile review of issue 12 (session 12): the writer lock and the roots that name one instance, beyond what
// test/workspace proves. Public API only, real files, real child processes. These pass on main (checks).
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { MessageEvent, MessageStore, WorkspacePaths } from "effect-swarm"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as nodeFs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { buildFixture, runUntil } from "../support/process.js"
import { FsLive, msg, ref, tempRoot } from "../workspace/helpers.js"

const append = (root: string, id: string) =>
  Effect.scoped(Effect.flatMap(
    MessageStore.make({ root }),
    (store) => store.append(ref, [MessageEvent.append(msg(id, id))])
  ))

// A live process that is not the lock's holder: its pid is "reused", its start time differs.
const liveProcess = Effect.acquireRelease(
  Effect.sync(() => spawn("sleep", ["120"], { stdio: "ignore" })),
  (child) => Effect.sync(() => child.kill("SIGKILL"))
)

const lockOf = (pid: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    pid,
    hostname: os.hostname(),
    token: "0123456789abcdef",
    acquiredAt: "2026-01-01T00:00:00.000Z",
    ...extra
  })

describe("review s12: lock files that are not what they should be", () => {
  it.scoped("a lock whose pid now belongs to another live process (another start time) is taken over", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      nodeFs.mkdirSync(p.dir, { recursive: true })
      const other = yield* liveProcess
      nodeFs.writeFileSync(p.lock, lockOf(other.pid!, { startTime: "1" }))
      const [event] = yield* append(root, "a")
      assert.strictEqual(event!.seq, 1)
      assert.isFalse(nodeFs.existsSync(p.lock), "released when the store closed")
      // the same live pid with no start time recorded (an old lock format) is kept: it may be the holder
      nodeFs.writeFileSync(p.lock, lockOf(other.pid!))
      const error = yield* Effect.flip(append(root, "b"))
      assert.strictEqual(error._tag, "InstanceLocked")
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a lock that is a directory, empty, or a dangling symlink: InstanceLocked saying which file to delete; nothing written", () =>
    Effect.gen(function*() {
      for (const kind of ["directory", "empty", "dangling symlink"] as const) {
        const root = yield* tempRoot
        const p = WorkspacePaths.instance(root, ref)
        nodeFs.mkdirSync(p.dir, { recursive: true })
        if (kind === "directory") nodeFs.mkdirSync(p.lock)
        if (kind === "empty") nodeFs.writeFileSync(p.lock, "")
        if (kind === "dangling symlink") nodeFs.symlinkSync(path.join(root, "nowhere"), p.lock)
        const error = yield* Effect.flip(append(root, "a"))
        assert.strictEqual(error._tag, "InstanceLocked", kind)
        assert.include(error.message, p.lock, kind)
        assert.include(error.message, "delete that file", kind)
        assert.isFalse(nodeFs.existsSync(p.events), `${kind}: nothing is written`)
        assert.isTrue(nodeFs.lstatSync(p.lock) !== undefined, `${kind}: the lock is left as it was`)
      }
    }).pipe(Effect.provide(FsLive)))

  it.scoped("a stale lock that is a symlink to a file elsewhere: taken over, the file it points to untouched", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const p = WorkspacePaths.instance(root, ref)
      nodeFs.mkdirSync(p.dir, { recursive: true })
      const dead = spawnSync(process.execPath, ["-e", "0"]).pid!
      const elsewhere = path.join(root, "elsewhere.lock")
      nodeFs.writeFileSync(elsewhere, lockOf(dead))
      nodeFs.symlinkSync(elsewhere, p.lock)
      const [event] = yield* append(root, "a")
      assert.strictEqual(event!.seq, 1)
      assert.strictEqual(nodeFs.readFileSync(elsewhere, "utf8"), lockOf(dead))
      assert.isFalse(nodeFs.existsSync(p.lock))
    }).pipe(Effect.provide(FsLive)))
})

describe("review s12: one instance, one lock, however its root is spelled", () => {
  it.scoped("roots with a trailing slash, '..', '//./' or relative to the cwd are the same instance: refused", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      nodeFs.mkdirSync(path.join(root, "sub"))
      const first = yield* MessageStore.make({ root })
      yield* first.append(ref, [MessageEvent.append(msg("a", "a"))])
      const spellings = [
        `${root}/`,
        `${path.join(root, "sub")}/..`,
        `${root}//./`,
        `${path.relative(process.cwd(), root)}/`
      ]
      for (const spelling of spellings) {
        const other = yield* MessageStore.make({ root: spelling })
        const error = yield* Effect.flip(other.append(ref, [MessageEvent.append(msg("b", "b"))]))
        assert.strictEqual(error._tag, "InstanceLocked", spelling)
      }
      assert.deepStrictEqual((yield* first.load(ref)).messages.map((m) => m.id), ["a"])
    }).pipe(Effect.provide(FsLive)))
})

describe("review s12: repair against a live writer in another process", () => {
  it.scopedLive(
    "repair while another process holds the instance: InstanceLocked naming it, the damaged file untouched",
    () =>
      Effect.gen(function*() {
        const script = yield* buildFixture("crash-writer", "workspace")
        const root = yield* tempRoot
        const crashRef = { workspaceId: "crash", agentName: "writer", instanceKey: "k:1" }
        const store = yield* MessageStore.make({ root })
        const held = yield* Deferred.make<number>()
        const child = yield* Effect.fork(runUntil(script, ["hold", root, "7"], (line, pid) => {
          if (line === "held") Deferred.unsafeDone(held, Exit.succeed(pid))
          return false
        }))
        const pid = yield* Deferred.await(held)
        const p = store.paths(crashRef)
        nodeFs.appendFileSync(p.events, "garbage\n")
        const before = nodeFs.readFileSync(p.events, "utf8")
        const error = yield* Effect.flip(store.repair(crashRef))
        assert.strictEqual(error._tag, "InstanceLocked")
        if (error._tag === "InstanceLocked") assert.strictEqual(error.pid, pid)
        assert.strictEqual(nodeFs.readFileSync(p.events, "utf8"), before)
        assert.deepStrictEqual(
          nodeFs.readdirSync(p.messagesDir),
          ["events.jsonl"],
          "nothing kept aside, nothing written"
        )
        process.kill(pid, "SIGKILL")
        yield* Fiber.join(child)
        const report = yield* store.repair(crashRef)
        assert.deepStrictEqual(report.dropped.map((d) => d.line), [2])
        assert.deepStrictEqual((yield* store.load(crashRef)).messages.map((m) => m.id), ["hold-7"])
      }).pipe(Effect.provide(FsLive)),
    60_000
  )
})

// Five racers over a stale lock whose pid was reused by a live process of another start time.
const race = (script: string, root: string, ids: ReadonlyArray<string>) =>
  Effect.async<ReadonlyArray<string>>((resume) => {
    const children: Array<ChildProcess> = ids.map((id) => spawn(process.execPath, [script, root, id]))
    const outputs = ids.map(() => "")
    let ready = 0
    let closed = 0
    children.forEach((child, i) => {
      child.stdout!.setEncoding("utf8")
      child.stdout!.on("data", (data: string) => {
        const before = outputs[i]!
        outputs[i] = before + data
        if (!before.includes("ready\n") && outputs[i]!.includes("ready\n") && ++ready === children.length) {
          for (const c of children) c.stdin!.write("go\n")
        }
      })
      child.stderr!.on("data", (d) => outputs[i] += `stderr ${String(d)}`)
      child.on("close", () => {
        if (++closed === children.length) resume(Effect.succeed(outputs))
      })
    })
    return Effect.sync(() => children.forEach((c) => c.kill("SIGKILL")))
  })

describe("review s12: lock takeover race (real processes)", () => {
  it.scoped(
    "five processes over a stale lock of a reused pid: one writer at a time, gap-free seqs, every ack loaded",
    () =>
      Effect.gen(function*() {
        const script = yield* buildFixture("lock-race", "workspace")
        const raceRef = { workspaceId: "race", agentName: "writer", instanceKey: "k" }
        const other = yield* liveProcess
        for (let trial = 0; trial < 3; trial++) {
          const root = yield* tempRoot
          const p = WorkspacePaths.instance(root, raceRef)
          nodeFs.mkdirSync(p.messagesDir, { recursive: true })
          nodeFs.writeFileSync(p.lock, lockOf(other.pid!, { startTime: "1", token: `reused${trial}` }))
          const ids = ["a", "b", "c", "d", "e"].map((x) => `${x}${trial}`)
          const outputs = yield* race(script, root, ids)
          for (const out of outputs) assert.match(out, /^(ack \d+|locked)$/m, out)
          const acked = ids.filter((_, i) => /^ack \d+$/m.test(outputs[i]!))
          assert.isAtLeast(acked.length, 1)
          const seqs = nodeFs.readFileSync(p.events, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).seq)
          assert.deepStrictEqual(seqs, seqs.map((_, i) => i + 1), `trial ${trial}: seqs ${seqs.join(" ")}`)
          const loaded = yield* Effect.scoped(Effect.flatMap(MessageStore.make({ root }), (s) => s.load(raceRef)))
          assert.deepStrictEqual(loaded.messages.map((m) => m.id).sort(), [...acked].sort())
          assert.isFalse(nodeFs.existsSync(p.lock), "the lock is released")
          assert.deepStrictEqual(nodeFs.readdirSync(p.dir).filter((n) => n.startsWith("writer.lock")), [])
        }
      }).pipe(Effect.provide(FsLive)),
    { timeout: 120_000 }
  )
})
