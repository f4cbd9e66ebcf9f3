/**
 * `npm start` as a user runs it on a fresh clone: `effect-swarm run examples/bundles/multi-agent --once ...`
 * with no API key in the environment, so every agent runs on the bundle's scripted `offline` Model (and
 * the command says so). The conversation is multi-step and the same on every run: the coordinator asks the
 * researcher through `agents__request` (whose turn searches the library, sandboxed in Deno, and answers),
 * reads the clock in-process, adds and lists notes sandboxed in Node workers, and replies; the reply
 * streams to stdout; both conversations land under the state root; the process exits 0.
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

/** `npm start` in a fresh state root, offline (the keys set empty). */
const npmStart = Effect.gen(function*() {
  const home = yield* tempHome
  const run = yield* spawn(["npm", "start", "--silent"], {
    cwd: repo,
    env: { EFFECT_SWARM_HOME: home, NO_COLOR: "1", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" }
  })
  return { home, ...run, all: `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}` }
})

const iso = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g

/**
 * What the run printed, with what varies between runs (durations, the clock) blanked. The tool lines (from
 * the event bus, printed by their own fiber) and the audit-log extension's lines (printed inside the
 * coordinator's turn) are each in a fixed order; how the two interleave is up to the scheduler, so they are
 * compared apart.
 */
const transcript = (stdout: string) => {
  const lines = stdout.split("\n").filter((l) => l.length > 0).map((l) =>
    l.replace(/\(\d+ ms\)$/, "(N ms)").replace(iso, "<time>")
  )
  return {
    tools: lines.filter((l) => l.startsWith("  ")),
    audit: lines.filter((l) => l.startsWith("[audit-log ")),
    rest: lines.filter((l) => !l.startsWith("  ") && !l.startsWith("[audit-log "))
  }
}

describe("npm start", () => {
  it.scoped(
    "plays the same multi-step, two-agent conversation offline on every run, in-process and sandboxed tools, and exits 0",
    () =>
      Effect.gen(function*() {
        // Two runs at once, each with its own state root: the same conversation both times.
        const [run, again] = yield* Effect.all([npmStart, npmStart], { concurrency: 2 })
        const all = run.all
        assert.strictEqual(run.code, 0, all)
        assert.strictEqual(again.code, 0, again.all)
        // It says plainly that no provider is used, and why.
        assert.include(run.stderr, "coordinator: Model/smart (anthropic claude-sonnet-4-5) has no API key", all)
        assert.include(run.stderr, "ANTHROPIC_API_KEY not set): using the scripted stand-in Model/offline", all)
        assert.include(run.stderr, "OPENAI_API_KEY not set): using the scripted stand-in Model/offline", all)
        const instances = path.join(run.home, "workspaces", "team", "instances")
        assert.include(run.stderr, `instances under ${instances}`, all)
        assert.include(run.stderr, "coordinator@default: text_response (turn turn-", all)

        // The steps in order: each tool call as it starts and ends, with where it runs; the researcher's turn
        // inside the coordinator's agents__request.
        const shown = transcript(run.stdout)
        assert.deepStrictEqual(shown.tools, [
          "  coordinator@default -> agents__request (built-in)",
          "  researcher@default -> library__search (sandboxed: deno)",
          "  researcher@default <- library__search ok (N ms)",
          "  coordinator@default <- agents__request ok (N ms)",
          "  coordinator@default -> clock__now (in-process)",
          "  coordinator@default <- clock__now ok (N ms)",
          "  coordinator@default -> notes__add (sandboxed: node)",
          "  coordinator@default <- notes__add ok (N ms)",
          "  coordinator@default -> notes__list (sandboxed: node)",
          "  coordinator@default <- notes__list ok (N ms)"
        ], all)
        // The audit-log extension's toolCall middleware (in-process, includeArgs from the Agent's config).
        assert.deepStrictEqual(shown.audit, [
          `[audit-log info] coordinator@default agents__request {"target":"researcher","input":"Research: what is effect-swarm?"} -> ok`,
          "[audit-log info] coordinator@default clock__now {} -> ok",
          `[audit-log info] coordinator@default notes__add {"text":"asked the researcher what effect-swarm is"} -> ok`,
          "[audit-log info] coordinator@default notes__list {} -> ok"
        ], all)
        assert.deepStrictEqual(shown.rest, [
          "you> What is effect-swarm? Ask the researcher, then note it.",
          "coordinator> The researcher says: From the library: effect-swarm runs LLM agents declared as YAML bundles " +
          "on Effect-TS, keeps every conversation as JSONL that survives a crash, and runs tools in-process or " +
          `sandboxed in Bun, Node or Deno. I noted it at <time>; my notes: ["asked the researcher what effect-swarm is"]`
        ], all)
        // Deterministic: the second run printed the same.
        assert.deepStrictEqual(transcript(again.stdout), shown, again.all)

        // The files: both conversations, step by step, under the state root.
        for (const agent of ["coordinator", "researcher"]) {
          assert.include(run.stderr, `files of ${agent}@default: ${path.join(instances, `${agent}@default`)}`, all)
        }
        const coordinatorDir = path.join(instances, "coordinator@default")
        const researcherDir = path.join(instances, "researcher@default")
        const steps = (dir: string) =>
          records(path.join(dir, "messages", "events.jsonl")).map((e) =>
            e.message.data.role === "tool" ? `tool ${e.message.data.content[0].toolName}` : e.message.data.role
          )
        assert.deepStrictEqual(steps(coordinatorDir), [
          "user",
          "assistant",
          "tool agents__request",
          "assistant",
          "tool clock__now",
          "assistant",
          "tool notes__add",
          "assistant",
          "tool notes__list",
          "assistant"
        ])
        assert.deepStrictEqual(steps(researcherDir), ["user", "assistant", "tool library__search", "assistant"])
        // The researcher's input came from the coordinator's request.
        const input = records(path.join(researcherDir, "messages", "events.jsonl"))[0]!.message
        assert.strictEqual(input.data.content, "Research: what is effect-swarm?")
        assert.deepInclude(input.source, {
          type: "agent",
          kind: "request",
          agentName: "coordinator",
          instanceKey: "default"
        })
        // Runtime events: one turn each, every step and tool call recorded, all ok, one trace across both agents.
        const runtime = (dir: string) => records(path.join(dir, "messages", "runtime-events.jsonl"))
        const count = (events: Array<Record<string, any>>) =>
          ["turn.started", "step.started", "step.completed", "tool.called", "tool.completed", "turn.completed"].map(
            (type) => events.filter((e) => e.type === type).length
          )
        const coordinatorEvents = runtime(coordinatorDir)
        const researcherEvents = runtime(researcherDir)
        assert.deepStrictEqual(count(coordinatorEvents), [1, 5, 5, 4, 4, 1])
        assert.deepStrictEqual(count(researcherEvents), [1, 2, 2, 1, 1, 1])
        for (const events of [coordinatorEvents, researcherEvents]) {
          assert.strictEqual(events.at(-1)!.type, "turn.completed")
          assert.strictEqual(events.at(-1)!.finishReason, "text_response")
          assert.isTrue(events.filter((e) => e.type === "tool.completed").every((e) => e.status === "ok"))
        }
        assert.strictEqual(
          new Set([...coordinatorEvents, ...researcherEvents].flatMap((e) => e.traceId ?? [])).size,
          1,
          "one trace across both agents"
        )
        // Both instances idle, the extension's state saved, the inboxes drained.
        for (const dir of [coordinatorDir, researcherDir]) {
          const metadata = JSON.parse(fs.readFileSync(path.join(dir, "metadata.json"), "utf8"))
          assert.strictEqual(metadata.status, "idle")
          assert.strictEqual(fs.readFileSync(path.join(dir, "inbox", "messages.jsonl"), "utf8"), "")
        }
        assert.deepStrictEqual(
          JSON.parse(fs.readFileSync(path.join(coordinatorDir, "extensions", "audit-log.json"), "utf8")),
          { agents__request: 1, clock__now: 1, notes__add: 1, notes__list: 1 }
        )
      }).pipe(Effect.provide(NodeContext.layer)),
    300_000
  )
})
