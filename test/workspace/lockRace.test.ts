// Defect 1 of issue 12: a stale writer.lock and several processes appending at the same instant. Taking
// the lock over must be atomic: one writer at a time, so the log never holds a seq twice and every
// acknowledged message is in the conversation.
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { MessageStore, WorkspacePaths } from "effect-swarm"
import { spawn, spawnSync } from "node:child_process"
import * as os from "node:os"
import { buildFixture } from "../support/process.js"
import { FsLive, tempRoot } from "./helpers.js"

const ref = { workspaceId: "race", agentName: "writer", instanceKey: "k" }

// Starts `count` racers, waits until all are ready, releases them at once, collects their last lines.
const race = (script: string, root: string, ids: ReadonlyArray<string>) =>
  Effect.async<ReadonlyArray<string>>((resume) => {
    const children = ids.map((id) => spawn(process.execPath, [script, root, id], { stdio: ["pipe", "pipe", "pipe"] }))
    const outputs = ids.map(() => "")
    let ready = 0
    let closed = 0
    children.forEach((child, i) => {
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (data: string) => {
        const before = outputs[i]!
        outputs[i] = before + data
        if (!before.includes("ready") && outputs[i]!.includes("ready\n") && ++ready === children.length) {
          for (const c of children) c.stdin.write("go\n")
        }
      })
      child.stderr.on("data", (d) => outputs[i] += `stderr ${String(d)}`)
      child.on("close", () => {
        if (++closed === children.length) resume(Effect.succeed(outputs))
      })
    })
    return Effect.sync(() => children.forEach((c) => c.kill("SIGKILL")))
  })

describe("InstanceLock race (real processes)", () => {
  it.scoped(
    "three processes appending over a stale lock: one writer at a time, no duplicate seq, no lost ack",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const script = yield* buildFixture("lock-race", "workspace")
        for (let trial = 0; trial < 8; trial++) {
          const root = yield* tempRoot
          const p = WorkspacePaths.instance(root, ref)
          yield* fs.makeDirectory(p.messagesDir, { recursive: true })
          const dead = spawnSync(process.execPath, ["-e", "0"]).pid!
          yield* fs.writeFileString(
            p.lock,
            JSON.stringify({
              pid: dead,
              hostname: os.hostname(),
              token: `dead${trial}`,
              acquiredAt: "2026-01-01T00:00:00Z"
            })
          )
          const ids = ["a", "b", "c"].map((x) => `${x}${trial}`)
          const outputs = yield* race(script, root, ids)
          const acked = ids.filter((_, i) => /^ack \d+$/m.test(outputs[i]!))
          for (const out of outputs) assert.match(out, /^(ack \d+|locked)$/m, out)
          assert.isAtLeast(acked.length, 1)
          const seqs = (yield* fs.readFileString(p.events)).trimEnd().split("\n").map((l) => JSON.parse(l).seq)
          assert.deepStrictEqual(seqs, seqs.map((_, i) => i + 1), `trial ${trial}: seqs ${seqs.join(" ")}`)
          const store = yield* MessageStore.make({ root })
          const conversation = yield* store.load(ref)
          const ids2 = conversation.messages.map((m) => m.id)
          for (const id of acked) assert.include(ids2, id, `trial ${trial}: acknowledged ${id} is missing`)
          assert.isFalse(yield* fs.exists(p.lock), "the lock is released")
        }
      }).pipe(Effect.provide(FsLive)),
    { timeout: 120_000 }
  )
})
