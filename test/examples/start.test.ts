/**
 * `npm start` as a user runs it on a fresh clone: `effect-swarm run examples/bundles/multi-agent --once ...`
 * with no API key in the environment, so every agent runs on the bundle's scripted `offline` Model (and
 * the command says so). The coordinator delegates to the researcher through `agents__request`; tools run
 * in-process (clock), sandboxed in Node workers (notes) and sandboxed in Deno (library); the reply streams
 * to stdout; both conversations land under the state root; the process exits 0.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { repo, spawn } from "../cli/bin.js"

const tempHome = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-start-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const records = (file: string): Array<Record<string, any>> =>
  fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l))

describe("npm start", () => {
  it.scoped(
    "runs the multi-agent swarm once on the scripted stand-in, offline, and exits 0",
    () =>
      Effect.gen(function*() {
        const home = yield* tempHome
        const run = yield* spawn(["npm", "start", "--silent"], {
          cwd: repo,
          env: { EFFECT_SWARM_HOME: home, NO_COLOR: "1", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" }
        })
        const all = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
        assert.strictEqual(run.code, 0, all)
        // It says plainly that no provider is used, and why.
        assert.include(run.stderr, "coordinator: Model/smart (anthropic claude-sonnet-4-5) has no API key", all)
        assert.include(run.stderr, "ANTHROPIC_API_KEY not set): using the scripted stand-in Model/offline", all)
        assert.include(run.stderr, "OPENAI_API_KEY not set): using the scripted stand-in Model/offline", all)
        assert.include(run.stderr, `instances under ${path.join(home, "workspaces", "team", "instances")}`, all)
        // Tool calls show as they run, with where they run; the researcher's call is nested in the request.
        const out = run.stdout
        assert.include(out, "you> What is effect-swarm? Ask the researcher, then note it.", all)
        const order = [
          "coordinator@default -> agents__request (built-in)",
          "researcher@default -> library__search (sandboxed: deno)",
          "researcher@default <- library__search ok",
          "coordinator@default <- agents__request ok",
          "coordinator@default -> notes__add (sandboxed: node)",
          "coordinator@default -> notes__list (sandboxed: node)"
        ].map((line) => out.indexOf(line))
        assert.isTrue(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)), all)
        assert.include(out, "coordinator@default -> clock__now (in-process)", all)
        assert.match(
          out,
          /coordinator> The researcher says: From the library: effect-swarm runs LLM agents declared as YAML bundles/,
          all
        )
        assert.include(out, `my notes: ["asked the researcher what effect-swarm is"]`, all)

        // The files: both conversations, the researcher's input came from the coordinator's request.
        const instances = path.join(home, "workspaces", "team", "instances")
        assert.include(run.stderr, `files of coordinator@default: ${path.join(instances, "coordinator@default")}`)
        const coordinator = records(path.join(instances, "coordinator@default", "messages", "events.jsonl"))
        assert.deepStrictEqual(
          coordinator.map((e) => e.message.data.role),
          ["user", "assistant", "tool", "tool", "assistant", "tool", "assistant", "tool", "assistant"]
        )
        const researcher = records(path.join(instances, "researcher@default", "messages", "events.jsonl"))
        const input = researcher[0]!.message
        assert.strictEqual(input.data.content, "Research: what is effect-swarm?")
        assert.deepInclude(input.source, {
          type: "agent",
          kind: "request",
          agentName: "coordinator",
          instanceKey: "default"
        })
        const events = records(path.join(instances, "researcher@default", "messages", "runtime-events.jsonl"))
        const coordinatorEvents = records(
          path.join(instances, "coordinator@default", "messages", "runtime-events.jsonl")
        )
        // One trace across both agents.
        assert.strictEqual(events[0]!.traceId, coordinatorEvents[0]!.traceId)
      }).pipe(Effect.provide(NodeContext.layer)),
    300_000
  )
})
