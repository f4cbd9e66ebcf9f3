/**
 * The async-reply inbox of each caller instance. A reply is put here the moment the callee's turn ends
 * (durable on return: appended to `<instance>/inbox/replies.jsonl` and fsynced), whether or not the
 * caller is running; the caller's next step moves it into its conversation. The conversation is the
 * acknowledgement: a reply whose correlation id is already in the conversation is not delivered twice,
 * and the file is emptied once everything in it is delivered. A caller that crashed finds its replies
 * in the file when it comes back.
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

const ReplyLine = Schema.parseJson(Reply)
const encodeLine = Schema.encodeSync(ReplyLine)
const decodeLine = Schema.decodeUnknownOption(ReplyLine)

export interface Inbox {
  /** Keeps the reply until it is delivered; durable on return when the inbox is. */
  readonly put: (owner: InstanceRef, reply: Reply) => Effect.Effect<void>
  /** Replies not delivered yet, oldest first (read from the file on first use after a restart). */
  readonly pending: (owner: InstanceRef) => Effect.Effect<ReadonlyArray<Reply>>
  /** Marks replies delivered (they are in the caller's conversation now). */
  readonly delivered: (owner: InstanceRef, correlationIds: ReadonlyArray<string>) => Effect.Effect<void>
}

const keyOf = (ref: InstanceRef) => `${ref.workspaceId}\u0000${ref.agentName}\u0000${ref.instanceKey}`

/** An inbox in memory (in-memory instances, tests). */
export const memory = (): Inbox => {
  const boxes = new Map<string, Array<Reply>>()
  const box = (ref: InstanceRef) => {
    const k = keyOf(ref)
    let b = boxes.get(k)
    if (b === undefined) boxes.set(k, b = [])
    return b
  }
  return {
    put: (owner, reply) => Effect.sync(() => void box(owner).push(reply)),
    pending: (owner) => Effect.sync(() => box(owner).slice()),
    delivered: (owner, ids) =>
      Effect.sync(() => {
        const b = box(owner)
        const gone = new Set(ids)
        const keep = b.filter((r) => !gone.has(r.correlationId))
        b.length = 0
        b.push(...keep)
      })
  }
}

/** The file of an instance's inbox under a state root. */
export const fileOf = (root: string, ref: InstanceRef): string =>
  path.join(WorkspacePaths.instance(root, ref).dir, "inbox", "replies.jsonl")

/**
 * An inbox on files under `root`. A write that fails is logged and the reply stays in memory (it is
 * still delivered to a running caller); it is only lost if the process dies before delivery.
 */
export const durable = (root: string): Effect.Effect<Inbox, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const boxes = new Map<string, Array<Reply>>()
    const lock = yield* Effect.makeSemaphore(1)
    const load = (ref: InstanceRef) =>
      Effect.gen(function*() {
        const k = keyOf(ref)
        const cached = boxes.get(k)
        if (cached !== undefined) return cached
        const file = fileOf(root, ref)
        const text = yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
        const replies: Array<Reply> = []
        const seen = new Set<string>()
        for (const line of text.split("\n")) {
          if (line.trim() === "") continue
          // A torn last line (a crash mid-append) is skipped: its reply was never acknowledged as put.
          const r = decodeLine(line)
          if (r._tag === "Some" && !seen.has(r.value.correlationId)) {
            seen.add(r.value.correlationId)
            replies.push(r.value)
          }
        }
        boxes.set(k, replies)
        return replies
      })
    const append = (file: string, line: string) =>
      Effect.scoped(Effect.gen(function*() {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        const handle = yield* fs.open(file, { flag: "a" })
        yield* handle.writeAll(new TextEncoder().encode(line))
        yield* handle.sync
      }))
    const put = (owner: InstanceRef, reply: Reply) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const box = yield* load(owner)
        box.push(reply)
        yield* append(fileOf(root, owner), encodeLine(reply) + "\n").pipe(
          Effect.catchAll((e) =>
            Effect.logError(
              `${owner.agentName}@${owner.instanceKey}: the reply ${reply.correlationId} could not be written to the inbox file; it is kept in memory`,
              e
            )
          )
        )
      }))
    const delivered = (owner: InstanceRef, ids: ReadonlyArray<string>) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const box = yield* load(owner)
        const gone = new Set(ids)
        const keep = box.filter((r) => !gone.has(r.correlationId))
        box.length = 0
        box.push(...keep)
        if (keep.length === 0) {
          // Everything in the file is in the conversation now: start the file over.
          yield* fs.writeFileString(fileOf(root, owner), "").pipe(
            Effect.catchAll(() => Effect.void)
          )
        }
      }))
    return {
      put,
      pending: (owner) => lock.withPermits(1)(Effect.map(load(owner), (b) => b.slice())),
      delivered
    }
  })
