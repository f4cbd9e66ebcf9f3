/**
 * The async-reply inbox of each caller instance. A reply is put here the moment the callee's turn ends
 * (durable on return: appended to `<instance>/inbox/replies.jsonl` and fsynced), whether or not the
 * caller is running; the caller's next step moves it into its conversation. The conversation is the
 * acknowledgement: a reply whose correlation id is already in the conversation is not delivered twice,
 * and the file is emptied once everything in it is delivered. A caller that crashed finds its replies
 * in the file when it comes back.
 *
 * The caller's side of an async request is on disk too: `expect` appends the request (callee, correlation
 * id, deadline) to `<instance>/inbox/requests.jsonl` and fsyncs it before the correlation id is returned.
 * A request without a reply is outstanding: it counts against the pending limit, also after a restart,
 * and once its deadline (on `Clock`) has passed, `expire` turns it into an `AGENT_REQUEST_TIMEOUT` reply.
 * The first reply of a correlation id wins; later ones (a late callee after the timeout) are dropped.
 *
 * Nothing is dropped in silence: a request that cannot be written is refused (`AGENT_INBOX_FAILED` naming
 * the file, no correlation id); a file that cannot be read, or has a corrupt line, fails every use of the
 * caller's inbox with `AGENT_INBOX_FAILED` naming `file:line` (the file is left as it is, for a person to
 * repair), so the caller neither loses its good records nor forgets a request. A torn last line (a crash
 * mid-append, never acknowledged) is cut with a warning.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import { AgentsApiError } from "../../pipeline/Middleware.js"
import * as Jsonl from "../../workspace/Jsonl.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"

/** One reply to an async request. */
export const Reply = Schema.Struct({
  v: Schema.Literal(1),
  correlationId: Schema.String,
  /** The callee. */
  agentName: Schema.String,
  instanceKey: Schema.String,
  status: Schema.Literal("ok", "error", "timeout"),
  response: Schema.optional(Schema.String),
  error: Schema.optional(Schema.Struct({ code: Schema.String, message: Schema.String })),
  receivedAt: Schema.Number
})
export type Reply = typeof Reply.Type

/** An async request in flight, as the caller recorded it. */
export const Sent = Schema.Struct({
  v: Schema.Literal(1),
  op: Schema.Literal("sent"),
  correlationId: Schema.String,
  /** The callee. */
  agentName: Schema.String,
  instanceKey: Schema.String,
  /** When it expires (ms since the epoch, on `Clock`). */
  deadline: Schema.Number,
  timeoutMs: Schema.Number
})
export type Sent = typeof Sent.Type
const Settled = Schema.Struct({ v: Schema.Literal(1), op: Schema.Literal("settled"), ids: Schema.Array(Schema.String) })
const RequestLine = Schema.parseJson(Schema.Union(Sent, Settled))
const encodeRequest = Schema.encodeSync(RequestLine)
const decodeRequest = Schema.decodeUnknownOption(RequestLine)

const ReplyLine = Schema.parseJson(Reply)
const encodeLine = Schema.encodeSync(ReplyLine)
const decodeLine = Schema.decodeUnknownOption(ReplyLine)

/** Why the inbox cannot be used (`AGENT_INBOX_FAILED`, naming the file, or `file:line`, and a fix). */
export type Failure = AgentsApiError

export interface Inbox {
  /** Records an async request in flight; durable on return when the inbox is (else it fails and records nothing). */
  readonly expect: (owner: InstanceRef, sent: Sent) => Effect.Effect<void, Failure>
  /** Forgets requests that never left (the callee refused them): no reply will come. */
  readonly forget: (owner: InstanceRef, correlationIds: ReadonlyArray<string>) => Effect.Effect<void, Failure>
  /** Requests in flight: recorded, no reply yet. */
  readonly outstanding: (owner: InstanceRef) => Effect.Effect<ReadonlyArray<Sent>, Failure>
  /** Turns requests past their deadline into `AGENT_REQUEST_TIMEOUT` replies (durable like `put`). */
  readonly expire: (owner: InstanceRef, now: number) => Effect.Effect<void, Failure>
  /** Keeps the reply until it is delivered (the first one of a correlation id wins); durable on return when the inbox is. */
  readonly put: (owner: InstanceRef, reply: Reply) => Effect.Effect<void, Failure>
  /** Replies not delivered yet, oldest first (read from the file on first use after a restart). */
  readonly pending: (owner: InstanceRef) => Effect.Effect<ReadonlyArray<Reply>, Failure>
  /** Marks replies delivered (they are in the caller's conversation now). */
  readonly delivered: (owner: InstanceRef, correlationIds: ReadonlyArray<string>) => Effect.Effect<void, Failure>
  /**
   * How many replies wait, synchronously (one map lookup): kept by the inbox itself as replies come and are
   * delivered. Undefined while the caller's box is not loaded (its files not read yet in this process).
   */
  readonly waiting: (owner: InstanceRef) => number | undefined
}

const keyOf = (ref: InstanceRef) => `${ref.workspaceId}\u0000${ref.agentName}\u0000${ref.instanceKey}`

/** What one caller's inbox holds. */
interface Box {
  /** Replies not delivered yet, oldest first. */
  readonly replies: Array<Reply>
  /** Requests in flight (no reply yet). */
  readonly sent: Map<string, Sent>
  /** Correlation ids that got their reply (the first wins). */
  readonly answered: Set<string>
}

/** Where a box is kept: nowhere (memory) or in the instance's files. */
interface Persistence {
  readonly load: (ref: InstanceRef) => Effect.Effect<Box, Failure>
  /** A reply that cannot be written is logged and kept in memory (delivered to a running caller). */
  readonly reply: (ref: InstanceRef, reply: Reply) => Effect.Effect<void>
  /** A request record; fails when it could not be made durable. */
  readonly request: (ref: InstanceRef, line: string) => Effect.Effect<void, Failure>
  /** A `settled` record: one that cannot be written is logged (the conversation deduplicates after a restart). */
  readonly settled: (ref: InstanceRef, line: string) => Effect.Effect<void>
  /** Nothing is left in the box: the files start over. */
  readonly clear: (ref: InstanceRef) => Effect.Effect<void>
}

const emptyBox = (): Box => ({ replies: [], sent: new Map(), answered: new Set() })

const timeoutReply = (sent: Sent, now: number): Reply => ({
  v: 1,
  correlationId: sent.correlationId,
  agentName: sent.agentName,
  instanceKey: sent.instanceKey,
  status: "timeout",
  error: {
    code: "AGENT_REQUEST_TIMEOUT",
    message: `agent request to '${sent.agentName}@${sent.instanceKey}' timed out after ${sent.timeoutMs}ms`
  },
  receivedAt: now
})

const makeInbox = (persist: Persistence): Effect.Effect<Inbox> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    const boxes = new Map<string, Box>()
    const load = (ref: InstanceRef) =>
      Effect.suspend(() => {
        const cached = boxes.get(keyOf(ref))
        return cached !== undefined
          ? Effect.succeed(cached)
          : Effect.tap(persist.load(ref), (box) => Effect.sync(() => void boxes.set(keyOf(ref), box)))
      })
    const locked = <A, E>(ref: InstanceRef, f: (box: Box) => Effect.Effect<A, E>) =>
      lock.withPermits(1)(Effect.flatMap(load(ref), f))
    const putIn = (owner: InstanceRef, box: Box, reply: Reply) =>
      Effect.suspend(() => {
        if (box.answered.has(reply.correlationId)) return Effect.void
        box.answered.add(reply.correlationId)
        box.sent.delete(reply.correlationId)
        box.replies.push(reply)
        return persist.reply(owner, reply)
      })
    const settle = (owner: InstanceRef, box: Box, ids: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        const gone = new Set(ids)
        const keep = box.replies.filter((r) => !gone.has(r.correlationId))
        box.replies.length = 0
        box.replies.push(...keep)
        for (const id of ids) box.sent.delete(id)
        if (keep.length === 0 && box.sent.size === 0) {
          box.answered.clear()
          return persist.clear(owner)
        }
        return persist.settled(owner, encodeRequest({ v: 1, op: "settled", ids }) + "\n")
      })
    return {
      expect: (owner, sent) =>
        locked(owner, (box) =>
          Effect.suspend(() => {
            box.sent.set(sent.correlationId, sent)
            // Not durable: not in flight either (the request is refused, nothing is sent).
            return persist.request(owner, encodeRequest(sent) + "\n").pipe(
              Effect.tapError(() => Effect.sync(() => box.sent.delete(sent.correlationId)))
            )
          })),
      forget: (owner, ids) => locked(owner, (box) => settle(owner, box, ids)),
      outstanding: (owner) => locked(owner, (box) => Effect.sync(() => Array.from(box.sent.values()))),
      expire: (owner, now) =>
        locked(owner, (box) =>
          Effect.forEach(
            Array.from(box.sent.values()).filter((s) => s.deadline <= now),
            (s) => putIn(owner, box, timeoutReply(s, now)),
            { discard: true }
          )),
      put: (owner, reply) => locked(owner, (box) => putIn(owner, box, reply)),
      pending: (owner) => locked(owner, (box) => Effect.sync(() => box.replies.slice())),
      delivered: (owner, ids) => locked(owner, (box) => settle(owner, box, ids)),
      waiting: (owner) => boxes.get(keyOf(owner))?.replies.length
    }
  })

/** An inbox in memory (in-memory instances, tests). */
export const memory = (): Effect.Effect<Inbox> =>
  makeInbox({
    load: () => Effect.sync(emptyBox),
    reply: () => Effect.void,
    request: () => Effect.void,
    settled: () => Effect.void,
    clear: () => Effect.void
  })

/** The file of an instance's inbox under a state root. */
export const fileOf = (root: string, ref: InstanceRef): string =>
  path.join(WorkspacePaths.instance(root, ref).dir, "inbox", "replies.jsonl")

/** The file of an instance's async requests in flight under a state root. */
export const requestsFileOf = (root: string, ref: InstanceRef): string =>
  path.join(WorkspacePaths.instance(root, ref).dir, "inbox", "requests.jsonl")

const failed = (where: string, problem: string, suggestion: string) =>
  new AgentsApiError({ code: "AGENT_INBOX_FAILED", message: `${where}: ${problem}`, suggestion })

const repairHint = "repair or remove that line by hand (a removed request is forgotten: its reply, if one comes, is " +
  "dropped; a removed reply is lost), or restore the file from a backup, then restart the caller"

/**
 * The records of one file, each with its line number. A bad line fails (`file:line`), except a torn last
 * line (no newline: an append cut by a crash, never acknowledged), which is left out (`torn`).
 */
const parse = <A>(file: string, text: string, decode: (line: string) => Option.Option<A>) =>
  Effect.suspend(() => {
    const raw = text.split("\n")
    const records: Array<A> = []
    let torn = false
    for (let i = 0; i < raw.length; i++) {
      const line = raw[i]!
      if (line.trim() === "") continue
      const r = decode(line)
      if (Option.isSome(r)) {
        records.push(r.value)
        continue
      }
      if (i === raw.length - 1) {
        torn = true
        continue
      }
      const excerpt = line.length > 80 ? `${line.slice(0, 80)}...` : line
      return Effect.fail(
        failed(`${file}:${i + 1}`, `corrupt record: ${excerpt}; the file was not modified`, repairHint)
      )
    }
    return Effect.succeed({ records, torn })
  })

/**
 * An inbox on files under `root`. A request that cannot be written fails `expect` (the request is refused);
 * a reply or a `settled` record that cannot be written is logged and kept in memory (a reply is still
 * delivered to a running caller; it is only lost if the process dies before delivery). A file that cannot
 * be read or has a corrupt line fails the caller's inbox (`file:line`); a torn last line is cut.
 */
export const durable = (root: string): Effect.Effect<Inbox, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    /** The file's text; a missing file is empty, an unreadable one fails naming the file. */
    const read = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.catchAll((e) =>
          e._tag === "SystemError" && e.reason === "NotFound" ? Effect.succeed("") : Effect.fail(failed(
            file,
            `the caller's async inbox could not be read (${e.message})`,
            "check the file's permissions and the state root's disk, then restart the caller"
          ))
        )
      )
    /** The decoded records of a file; a torn last line is cut from the file (with a warning). */
    const load = <A>(file: string, decode: (line: string) => Option.Option<A>) =>
      Effect.gen(function*() {
        const { records, torn } = yield* parse(file, yield* read(file), decode)
        if (torn) {
          yield* Effect.logWarning(`${file}: a torn last line (an append cut by a crash, never acknowledged) is cut`)
          yield* Jsonl.repairTail(fs, file).pipe(
            Effect.mapError((e) =>
              failed(file, `its torn last line could not be cut (${e.message})`, "check the file's permissions")
            )
          )
        }
        return records
      })
    const append = (file: string, line: string, what: string) =>
      Effect.scoped(Effect.gen(function*() {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        const handle = yield* fs.open(file, { flag: "a" })
        const before = (yield* handle.stat).size
        yield* Effect.zipRight(handle.writeAll(new TextEncoder().encode(line)), handle.sync).pipe(
          // A part of the line may be in the file: cut it, so the next append starts a line.
          Effect.tapError(() => Effect.ignore(handle.truncate(before)))
        )
      })).pipe(
        Effect.mapError((e) =>
          failed(
            file,
            `${what} could not be written (${e.message})`,
            "check the state root's disk space and permissions (the file must be a writable file), then try again"
          )
        )
      )
    const logged = (write: Effect.Effect<void, Failure>, what: string) =>
      write.pipe(Effect.catchAll((e) => Effect.logError(`${e.message}; ${what} is kept in memory`)))
    return yield* makeInbox({
      load: (ref) =>
        Effect.gen(function*() {
          const box = emptyBox()
          // Settled: delivered into the conversation, or forgotten.
          const settled = new Set<string>()
          for (const r of yield* load(requestsFileOf(root, ref), decodeRequest)) {
            if (r.op === "sent") box.sent.set(r.correlationId, r)
            else {
              for (const id of r.ids) {
                box.sent.delete(id)
                settled.add(id)
              }
            }
          }
          for (const r of yield* load(fileOf(root, ref), decodeLine)) {
            if (box.answered.has(r.correlationId)) continue
            box.answered.add(r.correlationId)
            box.sent.delete(r.correlationId)
            if (!settled.has(r.correlationId)) box.replies.push(r)
          }
          return box
        }),
      reply: (ref, reply) =>
        logged(
          append(fileOf(root, ref), encodeLine(reply) + "\n", `the reply ${reply.correlationId}`),
          `the reply to ${ref.agentName}@${ref.instanceKey}`
        ),
      request: (ref, line) =>
        append(requestsFileOf(root, ref), line, `the async request of ${ref.agentName}@${ref.instanceKey}`),
      settled: (ref, line) =>
        logged(
          append(requestsFileOf(root, ref), line, `a settled record of ${ref.agentName}@${ref.instanceKey}`),
          "the settlement"
        ),
      clear: (ref) =>
        Effect.forEach([fileOf(root, ref), requestsFileOf(root, ref)], (file) =>
          fs.writeFileString(file, "").pipe(
            Effect.catchAll((e) =>
              Effect.logWarning(`${file} could not be emptied (${e.message}); its settled records are read again`)
            )
          ), { discard: true })
    })
  })
