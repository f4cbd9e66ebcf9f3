// Hostile review of the async requests' files (issue 16): `<caller>/inbox/requests.jsonl` that cannot be
// written, and one with a corrupt line. docs/orchestrator.md: "before the correlation id is returned, the
// request ... is fsynced to <caller>/inbox/requests.jsonl"; "every reply arrives or fails with a typed
// code". Public API, a durable orchestrator on real files, the scripted model, the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger, Scope } from "effect"
import { Orchestrator, Scripted } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { durableContext, hanging, loadCalls, openDurable, shutDown } from "../orchestrator/helpers.js"

const requestsFile = (root: string, workspaceId: string) =>
  path.join(root, "workspaces", workspaceId, "instances", "lead@t1", "inbox", "requests.jsonl")

describe("review: the async request files", () => {
  // KNOWN DEFECT (issue 16, open): skipped until fixed (as `.fails` CI's retry counted it flaky); enable with the fix.
  it.scoped.skip(
    "KNOWN DEFECT: an async request whose record cannot be made durable is refused with AGENT_INBOX_FAILED, not given a correlation id",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-async-")
        const bundle = yield* loadCalls
        const worker = yield* Scripted.make([{ text: "done" }])
        const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker } }).pipe(
          Effect.provide(context)
        )
        // requests.jsonl is a directory: opening it for append fails (EISDIR), as a full or read-only disk would.
        fs.mkdirSync(requestsFile(root, orchestrator.workspaceId), { recursive: true })
        const lead = orchestrator.agentsApi!.forInstance({
          workspaceId: orchestrator.workspaceId,
          agentName: "lead",
          instanceKey: "t1"
        })
        const exit = yield* Effect.exit(lead.request({ target: "worker", input: "job", async: true }))
        // Today: the write error is logged, the request is kept in memory only, and a correlation id comes back.
        assert.isTrue(Exit.isFailure(exit), `got ${JSON.stringify(Exit.isSuccess(exit) ? exit.value : "")}`)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.strictEqual(exit.cause.error.code, "AGENT_INBOX_FAILED")
        }
      }),
    30_000
  )

  // KNOWN DEFECT (issue 16, open): skipped until fixed (as `.fails` CI's retry counted it flaky); enable with the fix.
  it.scoped.skip(
    "KNOWN DEFECT: a corrupt line in requests.jsonl is reported with the file and line when the caller comes back, not skipped in silence",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-async-")
        const bundle = yield* loadCalls
        const logs: Array<string> = []
        const capture = Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message }) => void logs.push(JSON.stringify(message)))
        )
        const first = yield* openDurable(bundle, "team", context, { models: { worker: hanging } })
        const ref = { workspaceId: first.orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        const lead = first.orchestrator.agentsApi!.forInstance(ref)
        yield* lead.request({ target: "worker", input: "job1", async: true, instanceKey: "w1" })
        yield* lead.request({ target: "worker", input: "job2", async: true, instanceKey: "w2" })
        yield* shutDown(first.scope)
        const file = requestsFile(root, ref.workspaceId)
        const lines = fs.readFileSync(file, "utf8").split("\n")
        lines[0] = lines[0]!.slice(0, 20) + "#" + lines[0]!.slice(21) // one byte of the first record damaged
        fs.writeFileSync(file, lines.join("\n"))

        const second = yield* openDurable(bundle, "team", context, { models: { worker: hanging } }).pipe(
          Effect.provide(capture)
        )
        const exit = yield* Effect.exit(second.orchestrator.agentsApi!.pendingAsync(ref).pipe(Effect.provide(capture)))
        const reported = JSON.stringify(exit) + logs.join("\n")
        // The request of the damaged line can never be answered or expired: at least say so, naming the file.
        assert.include(reported, `${file}:1`)
        yield* Scope.close(second.scope, Exit.void)
      }),
    60_000
  )
})
