// Hostile review of the async requests' files (issue 16): `<caller>/inbox/requests.jsonl` that cannot be
// written, and one with a corrupt line. docs/orchestrator.md: "before the correlation id is returned, the
// request ... is fsynced to <caller>/inbox/requests.jsonl"; "every reply arrives or fails with a typed
// code". Public API, a durable orchestrator on real files, the scripted model, the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Logger } from "effect"
import { Orchestrator, Scripted } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { closeOnClock, durableContext, hanging, loadCalls, openDurable, shutDown } from "../orchestrator/helpers.js"

const requestsFile = (root: string, workspaceId: string) =>
  path.join(root, "workspaces", workspaceId, "instances", "lead@t1", "inbox", "requests.jsonl")

describe("review: the async request files", () => {
  it.scoped(
    "an async request whose record cannot be made durable is refused with AGENT_INBOX_FAILED naming the file, not given a correlation id",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-async-")
        const bundle = yield* loadCalls
        const worker = yield* Scripted.make([{ text: "done" }])
        const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker } }).pipe(
          Effect.provide(context)
        )
        // requests.jsonl links to a file in a directory that does not exist: reading finds no file (an empty
        // inbox), appending fails (ENOENT), as a full or read-only disk would.
        const file = requestsFile(root, orchestrator.workspaceId)
        fs.mkdirSync(path.dirname(file), { recursive: true })
        fs.symlinkSync(path.join(root, "no-such-dir", "requests.jsonl"), file)
        const lead = orchestrator.agentsApi!.forInstance({
          workspaceId: orchestrator.workspaceId,
          agentName: "lead",
          instanceKey: "t1"
        })
        const exit = yield* Effect.exit(lead.request({ target: "worker", input: "job", async: true }))
        // Before the fix: the write error was logged, the request kept in memory only, and a correlation id came back.
        assert.isTrue(Exit.isFailure(exit), `got ${JSON.stringify(Exit.isSuccess(exit) ? exit.value : "")}`)
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `not a typed failure: ${String(exit)}`)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const error = exit.cause.error
          assert.strictEqual(error.code, "AGENT_INBOX_FAILED")
          assert.include(error.message, requestsFile(root, orchestrator.workspaceId))
          assert.include(error.message, "could not be written")
          assert.include(error.suggestion ?? "", "disk space and permissions")
        }
        // Nothing was sent: the callee has no instance, and the caller nothing in flight.
        assert.isFalse((yield* orchestrator.list).some((i) => i.agentName === "worker"))
        assert.strictEqual(
          yield* orchestrator.agentsApi!.pendingAsync({
            workspaceId: orchestrator.workspaceId,
            agentName: "lead",
            instanceKey: "t1"
          }),
          0
        )
      }),
    30_000
  )

  it.scoped(
    "a corrupt line in requests.jsonl fails the caller's inbox with AGENT_INBOX_FAILED naming file:line, and the file keeps its good records",
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
        // A typed refusal, not a log line: the caller's inbox is not used until the file is repaired.
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `not a typed failure: ${String(exit)}`)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.strictEqual(exit.cause.error.code, "AGENT_INBOX_FAILED")
          assert.include(exit.cause.error.message, `${file}:1`)
          assert.include(exit.cause.error.suggestion ?? "", "repair or remove that line")
        }
        const lead2 = second.orchestrator.agentsApi!.forInstance(ref)
        const refused = yield* Effect.exit(lead2.request({ target: "worker", input: "job3", async: true }))
        assert.include(JSON.stringify(refused), "AGENT_INBOX_FAILED")
        // Nothing dropped: the file is as it was (the good second record still there).
        assert.strictEqual(fs.readFileSync(file, "utf8"), lines.join("\n"))
        // Repaired by hand (the damaged line removed): the good record is in flight again.
        fs.writeFileSync(file, lines.slice(1).join("\n"))
        yield* closeOnClock(second.scope, Exit.void)
        const third = yield* openDurable(bundle, "team", context, { models: { worker: hanging } })
        assert.strictEqual(yield* third.orchestrator.agentsApi!.pendingAsync(ref), 1)
        yield* closeOnClock(third.scope, Exit.void)
      }),
    60_000
  )

  it.scoped(
    "a replies.jsonl that cannot be read is AGENT_INBOX_FAILED naming the file, not read as empty",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-async-")
        const bundle = yield* loadCalls
        const orchestrator = yield* Orchestrator.make(bundle, "team", { models: { worker: hanging } }).pipe(
          Effect.provide(context)
        )
        const ref = { workspaceId: orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        // A directory where the file should be: reading it fails (EISDIR), as an unreadable file would.
        const replies = path.join(path.dirname(requestsFile(root, ref.workspaceId)), "replies.jsonl")
        fs.mkdirSync(replies, { recursive: true })
        const exit = yield* Effect.exit(orchestrator.agentsApi!.pendingReplies(ref))
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", `not a typed failure: ${String(exit)}`)
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.strictEqual(exit.cause.error.code, "AGENT_INBOX_FAILED")
          assert.include(exit.cause.error.message, replies)
        }
      }),
    30_000
  )

  it.scoped(
    "a torn last line of requests.jsonl (an append cut by a crash) is cut; the records before it load",
    () =>
      Effect.gen(function*() {
        const { context, root } = yield* durableContext("es-review-async-")
        const bundle = yield* loadCalls
        const first = yield* openDurable(bundle, "team", context, { models: { worker: hanging } })
        const ref = { workspaceId: first.orchestrator.workspaceId, agentName: "lead", instanceKey: "t1" }
        const lead = first.orchestrator.agentsApi!.forInstance(ref)
        yield* lead.request({ target: "worker", input: "job1", async: true, instanceKey: "w1" })
        yield* closeOnClock(first.scope, Exit.void)
        const file = requestsFile(root, ref.workspaceId)
        const good = fs.readFileSync(file, "utf8")
        fs.appendFileSync(file, good.slice(0, 30)) // half a record, no newline
        const second = yield* openDurable(bundle, "team", context, { models: { worker: hanging } })
        assert.strictEqual(yield* second.orchestrator.agentsApi!.pendingAsync(ref), 1)
        assert.strictEqual(fs.readFileSync(file, "utf8"), good)
        yield* closeOnClock(second.scope, Exit.void)
      }),
    60_000
  )
})
