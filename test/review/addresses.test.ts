// Review of addressing (issue 16): instance keys an attacker (a model through the agents tool, or a
// user) picks to escape the state root, and Orchestrator.stop / restart of addresses that are not ones.
// Public API only: a durable orchestrator of the `team` fixture on real files; the scripted model is the
// only fake; every timer on the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Orchestrator, Scripted } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { durableContext, loadCalls } from "../orchestrator/helpers.js"

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)).map((f) => path.join(e.name, f)) : [e.name]
  )

describe("review: instance keys and addresses", () => {
  it.scoped(
    "instance keys with .., / and @ stay inside the workspace's instances directory, each instance its own",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-keys-")
        // A sibling of the state root that an escaping key would reach.
        const outside = path.join(path.dirname(root), `${path.basename(root)}-outside`)
        const bundle = yield* loadCalls
        const model = yield* Scripted.make(Array.from({ length: 12 }, () => ({ text: "ok" })))
        const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker: model } }).pipe(
          Effect.provide(context)
        )
        const lead = orchestrator.agentsApi!.forInstance({
          workspaceId: orchestrator.workspaceId,
          agentName: "lead",
          instanceKey: "t1"
        })
        const keys = ["../x", "x", "../../../../escape", `../${path.basename(outside)}`, "a/b", "a@b", ".", ".."]
        for (const instanceKey of keys) {
          const reply = yield* lead.request({ target: "worker", input: `hi ${instanceKey}`, instanceKey })
          assert.strictEqual(reply.target, `worker@${instanceKey}`)
          assert.strictEqual(reply.response, "ok")
        }
        // Only the workspace directory was written: no file outside it, and nothing outside the root.
        const instances = path.join(root, "workspaces", orchestrator.workspaceId, "instances")
        assert.deepStrictEqual(fs.readdirSync(root), ["workspaces"])
        assert.isFalse(fs.existsSync(outside))
        assert.deepStrictEqual(fs.readdirSync(path.join(root, "workspaces")), [orchestrator.workspaceId])
        // One directory per key (plus the caller's): keys that look alike do not share a conversation.
        const dirs = fs.readdirSync(instances).filter((d) => d.startsWith("worker@"))
        assert.strictEqual(dirs.length, keys.length)
        for (const dir of dirs) {
          assert.include(filesUnder(path.join(instances, dir)), path.join("messages", "events.jsonl"))
        }
        // The orchestrator lists them under the keys asked for, and can stop each of them.
        const listed = (yield* orchestrator.list).map((i) => i.address).filter((a) => a.startsWith("worker@")).sort()
        assert.deepStrictEqual(listed, keys.map((k) => `worker@${k}`).sort())
        for (const address of listed) yield* orchestrator.stop(address)
      }),
    60_000
  )

  it.scoped(
    "stop and restart of malformed or unknown addresses fail with a typed error and create nothing",
    () =>
      Effect.gen(function*() {
        const { context } = yield* durableContext("es-review-addr-")
        const bundle = yield* loadCalls
        const orchestrator = yield* Orchestrator.make(bundle, "team").pipe(Effect.provide(context))
        const cases: ReadonlyArray<readonly [string, string]> = [
          ["", "InvalidAgentAddress"],
          ["@t1", "InvalidAgentAddress"],
          ["lead@", "InvalidAgentAddress"],
          [" lead@t1", "InvalidAgentAddress"],
          ["lead@a\u0000b", "InvalidAgentAddress"],
          [`lead@${"k".repeat(257)}`, "InvalidAgentAddress"],
          ["nobody@t1", "AgentNotFound"],
          ["LEAD@t1", "AgentNotFound"]
        ]
        for (const [address, tag] of cases) {
          assert.strictEqual(
            (yield* Effect.flip(orchestrator.stop(address)))._tag,
            tag,
            `stop ${JSON.stringify(address)}`
          )
          assert.strictEqual(
            (yield* Effect.flip(orchestrator.restart(address)))._tag,
            tag,
            `restart ${JSON.stringify(address)}`
          )
        }
        assert.deepStrictEqual(yield* orchestrator.list, [])
      }),
    30_000
  )
})
