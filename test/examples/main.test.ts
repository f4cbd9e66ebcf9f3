import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `npm run example` as a real child process, with its state root in a fresh temporary directory. */
const runMain = (home: string) =>
  Effect.async<Run>((resume) => {
    const child = ChildProcess.execFile(
      path.join(repoRoot, "node_modules", ".bin", "tsx"),
      ["examples/main.ts"],
      {
        cwd: repoRoot,
        env: { ...process.env, EFFECT_SWARM_HOME: home, NO_COLOR: "1" },
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024
      },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : error.code as number, stdout, stderr }))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const tempHome = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-main-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const records = (file: string): Array<Record<string, any>> =>
  fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l))

/** The audit-log extension's state as the demo printed it after the turn. */
const auditState = (out: string): unknown => JSON.parse(/^extension state audit-log: (.*)$/m.exec(out)?.[1] ?? "null")

describe("npm run example (examples/main.ts)", () => {
  it.scoped(
    "runs one scripted turn with real tools and persists messages and runtime events as JSONL",
    () =>
      Effect.gen(function*() {
        const home = yield* tempHome
        const run = yield* runMain(home)
        assert.strictEqual(run.code, 0, `exit code ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
        const out = run.stdout
        assert.include(out, "bundle examples/bundles/multi-agent: 14 resources, valid")
        assert.include(out, "swarm team: entry agent coordinator")
        assert.include(out, "model: SCRIPTED stand-in for Model/smart")
        assert.include(out, "Tool/clock: in-process (ToolModule)")
        assert.include(out, "Tool/notes: sandboxed in node, warm pool of 2")
        assert.include(out, "policy: maxStepsPerTurn 12, toolConcurrency 4")
        assert.include(out, "catalog: clock__now, notes__add, notes__list")
        assert.include(out, "[step mw] step 1: model offered 3 tools")
        // The notes tool keeps state in its pooled worker: the list sees what add stored.
        assert.include(out, `[toolCall mw] notes__add {"text":"the demo ran"} -> ok {"count":1}`)
        assert.match(out, /\[toolCall mw\] clock__now \{\} -> ok \{"iso":"\d{4}-\d\d-\d\dT[^"]+"\}/)
        assert.include(out, `[toolCall mw] notes__list {} -> ok {"notes":["the demo ran"]}`)
        assert.match(out, /\[turn mw\] turn-[0-9a-z]+-[0-9a-z]+: text_response after \d+ ms/)
        assert.include(out, "coordinator> I noted that the demo ran, and the notes list above shows it.")
        assert.include(out, `state root ${home}`)
        // The audit-log extension (register(api, config), includeArgs from the Agent's per-use config).
        assert.include(out, `[audit-log info] coordinator@local notes__add {"text":"the demo ran"} -> ok`)
        // The loop saved the extension's state at the end of the turn.
        assert.deepStrictEqual(auditState(out), { notes__add: 1, clock__now: 1, notes__list: 1 })

        const dir = path.join(home, "workspaces", "team", "instances", "coordinator@local", "messages")
        const messages = records(path.join(dir, "events.jsonl"))
        assert.deepStrictEqual(messages.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7])
        assert.deepStrictEqual(
          messages.map((e) => e.message.data.role),
          ["user", "assistant", "tool", "tool", "assistant", "tool", "assistant"]
        )
        // The two calls of step 1 run concurrently; their results are written in call order.
        assert.deepStrictEqual(messages.map((e) => e.message.data.toolName).filter((n) => n !== undefined), [
          "notes__add",
          "clock__now",
          "notes__list"
        ])
        // The system prompt (prompt.systemRef) reached the model: step.started shows it first.
        assert.deepStrictEqual(messages[5]!.message.data.content[0].output, { notes: ["the demo ran"] })
        assert.match(messages[6]!.message.data.content, /^I noted that the demo ran/)

        const events = records(path.join(dir, "runtime-events.jsonl"))
        const types = events.map((e) => e.type)
        // turn.started and turn.completed are written synchronously by the turn loop (turn.started before
        // any step); step and tool events through the bus sink.
        assert.strictEqual(types[0], "turn.started")
        const stepStarted = events.find((e) => e.type === "step.started")!
        assert.strictEqual(stepStarted.llmInputMessages[0].role, "system")
        assert.include(stepStarted.llmInputMessages[0].content, "You coordinate a small team.")
        const count = (type: string) => types.filter((t) => t === type).length
        assert.deepStrictEqual(
          ["step.started", "step.completed", "tool.called", "tool.completed", "turn.completed"].map(count),
          [3, 3, 3, 3, 1]
        )
        assert.isTrue(events.filter((e) => e.type === "tool.completed").every((e) => e.status === "ok"))
        assert.strictEqual(new Set(events.filter((e) => e.traceId !== undefined).map((e) => e.traceId)).size, 1)
        const completed = events.find((e) => e.type === "turn.completed")!
        assert.strictEqual(completed.stepCount, 3)
        assert.strictEqual(completed.finishReason, "text_response")

        // A second run continues the same conversation: the sequence goes on, nothing is rewritten.
        const again = yield* runMain(home)
        assert.strictEqual(again.code, 0, `second run: exit code ${again.code}\n${again.stdout}\n${again.stderr}`)
        assert.include(again.stdout, "events.jsonl: 7 records added (14 in all)")
        assert.deepStrictEqual(auditState(again.stdout), { notes__add: 2, clock__now: 2, notes__list: 2 })
        const after = records(path.join(dir, "events.jsonl"))
        assert.deepStrictEqual(after.slice(0, 7), messages)
        assert.deepStrictEqual(after.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
        assert.strictEqual(records(path.join(dir, "runtime-events.jsonl")).length, 28)
      }),
    300_000
  )
})
