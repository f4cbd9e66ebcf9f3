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
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"
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

export interface Inbox {
  /** Records an async request in flight; durable on return when the inbox is. */
  readonly expect: (owner: InstanceRef, sent: Sent) => Effect.Effect<void>
  /** Forgets requests that never left (the callee refused them): no reply will come. */
  readonly forget: (owner: InstanceRef, correlationIds: ReadonlyArray<string>) => Effect.Effect<void>
  /** Requests in flight: recorded, no reply yet. */
  readonly outstanding: (owner: InstanceRef) => Effect.Effect<ReadonlyArray<Sent>>
  /** Turns requests past their deadline into `AGENT_REQUEST_TIMEOUT` replies (durable like `put`). */
  readonly expire: (owner: InstanceRef, now: number) => Effect.Effect<void>
  /** Keeps the reply until it is delivered (the first one of a correlation id wins); durable on return when the inbox is. */
  readonly put: (owner: InstanceRef, reply: Reply) => Effect.Effect<void>
  /** Replies not delivered yet, oldest first (read from the file on first use after a restart). */
  readonly pending: (owner: InstanceRef) => Effect.Effect<ReadonlyArray<Reply>>
  /** Marks replies delivered (they are in the caller's conversation now). */
  readonly delivered: (owner: InstanceRef, correlationIds: ReadonlyArray<string>) => Effect.Effect<void>
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
  readonly load: (ref: InstanceRef) => Effect.Effect<Box>
  readonly reply: (ref: InstanceRef, reply: Reply) => Effect.Effect<void>
  readonly request: (ref: InstanceRef, line: string) => Effect.Effect<void>
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
    const locked = <A>(ref: InstanceRef, f: (box: Box) => Effect.Effect<A>) =>
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
        return persist.request(owner, encodeRequest({ v: 1, op: "settled", ids }) + "\n")
      })
    return {
      expect: (owner, sent) =>
        locked(owner, (box) =>
          Effect.suspend(() => {
            box.sent.set(sent.correlationId, sent)
            return persist.request(owner, encodeRequest(sent) + "\n")
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
      delivered: (owner, ids) => locked(owner, (box) => settle(owner, box, ids))
    }
  })

/** An inbox in memory (in-memory instances, tests). */
export const memory = (): Effect.Effect<Inbox> =>
  makeInbox({
    load: () => Effect.sync(emptyBox),
    reply: () => Effect.void,
    request: () => Effect.void,
    clear: () => Effect.void
  })

/** The file of an instance's inbox under a state root. */
export const fileOf = (root: string, ref: InstanceRef): string =>
  path.join(WorkspacePaths.instance(root, ref).dir, "inbox", "replies.jsonl")

/** The file of an instance's async requests in flight under a state root. */
export const requestsFileOf = (root: string, ref: InstanceRef): string =>
  path.join(WorkspacePaths.instance(root, ref).dir, "inbox", "requests.jsonl")

const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "")

/**
 * An inbox on files under `root`. A write that fails is logged and the record stays in memory (a reply is
 * still delivered to a running caller); it is only lost if the process dies before delivery. A torn last
 * line (a crash mid-append) is skipped: it was never acknowledged as written.
 */
export const durable = (root: string): Effect.Effect<Inbox, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const read = (file: string) => fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
    const append = (file: string, line: string, what: string) =>
      Effect.scoped(Effect.gen(function*() {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        const handle = yield* fs.open(file, { flag: "a" })
        yield* handle.writeAll(new TextEncoder().encode(line))
        yield* handle.sync
      })).pipe(
        Effect.catchAll((e) => Effect.logError(`${what} could not be written to ${file}; it is kept in memory`, e))
      )
    return yield* makeInbox({
      load: (ref) =>
        Effect.gen(function*() {
          const box = emptyBox()
          // Settled: delivered into the conversation, or forgotten.
          const settled = new Set<string>()
          for (const line of lines(yield* read(requestsFileOf(root, ref)))) {
            const r = decodeRequest(line)
            if (r._tag === "None") continue
            if (r.value.op === "sent") box.sent.set(r.value.correlationId, r.value)
            else {
              for (const id of r.value.ids) {
                box.sent.delete(id)
                settled.add(id)
              }
            }
          }
          for (const line of lines(yield* read(fileOf(root, ref)))) {
            const r = decodeLine(line)
            if (r._tag === "None" || box.answered.has(r.value.correlationId)) continue
            box.answered.add(r.value.correlationId)
            box.sent.delete(r.value.correlationId)
            if (!settled.has(r.value.correlationId)) box.replies.push(r.value)
          }
          return box
        }),
      reply: (ref, reply) =>
        append(
          fileOf(root, ref),
          encodeLine(reply) + "\n",
          `the reply ${reply.correlationId} to ${ref.agentName}@${ref.instanceKey}`
        ),
      request: (ref, line) =>
        append(requestsFileOf(root, ref), line, `an async request of ${ref.agentName}@${ref.instanceKey}`),
      clear: (ref) =>
        Effect.zipRight(
          fs.writeFileString(fileOf(root, ref), "").pipe(Effect.catchAll(() => Effect.void)),
          fs.writeFileString(requestsFileOf(root, ref), "").pipe(Effect.catchAll(() => Effect.void))
        )
    })
  })
