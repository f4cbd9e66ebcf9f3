/**
 * The durable inbox of the orchestrator's instances: `<instance>/inbox/messages.jsonl` under the state
 * root, one per `agent@instanceKey`.
 *
 * - Acceptance is durable: `put` appends the message (`op: "put"`, with a fresh id) and fsyncs it (group
 *   commit through `Jsonl.writer`) before `send` / `request` return. The mailbox offer happens under the
 *   same permit as the append, so the mailbox order is the file order.
 * - A turn carries its message id in the input message's metadata (`swarm.inbox`). Once the turn is over
 *   (answered, failed, cancelled by its requester, or stopped), `done` acknowledges the id: a `done`
 *   record, or, when nothing is left pending, the file is cut to zero bytes.
 * - At start, `open` reads the pending messages back in order. The runtime checks them against the
 *   conversation: an id already in the log had its turn started (the crash fell between the input's
 *   write and the acknowledgement), so it is never started again, only continued if its turn is open.
 *
 * Delivery of an accepted message to the instance is at-least-once at the inbox level and exactly-once at
 * the conversation level (dedupe by id): a message runs as one turn, never two, whatever the crash point.
 * The turn itself is continued from the log after a crash (see `Turn`), so its tools follow the loop's
 * idempotency rules.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as path from "node:path"
import type * as Conversation from "../../conversation/Conversation.js"
import type * as Message from "../../conversation/Message.js"
import * as Jsonl from "../../workspace/Jsonl.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import type * as AgentAddress from "../AgentAddress.js"
import { AgentInboxFailed } from "../OrchestratorError.js"
import type { TurnInput } from "./mailbox.js"

/** The message metadata key that carries a turn's inbox message id. */
export const idKey = "swarm.inbox"

const Put = Schema.Struct({
  op: Schema.Literal("put"),
  id: Schema.String,
  agentName: Schema.String,
  instanceKey: Schema.String,
  input: Schema.String,
  // Written by this module only, from a TurnInput (plain JSON: source, trace, call chain, metadata).
  metadata: Schema.optional(Schema.Unknown),
  call: Schema.optional(Schema.Unknown),
  acceptedAt: Schema.Number
})
const Done = Schema.Struct({ op: Schema.Literal("done"), ids: Schema.Array(Schema.String) })
const InboxRecord = Schema.Union(Put, Done)
type InboxRecord = typeof InboxRecord.Type

const codec = Jsonl.codec(InboxRecord, { version: 1 })

/** A message waiting in the inbox. */
export interface Entry {
  readonly id: string
  readonly input: TurnInput
  readonly acceptedAt: number
}

/** The inbox of one instance, open while its slot lives. */
export interface InstanceInbox {
  readonly file: string
  /** Messages accepted before this open and not acknowledged, oldest first. */
  readonly recovered: ReadonlyArray<Entry>
  /**
   * Appends the message, runs `offer` in the same order (the mailbox order is the file order), and returns
   * once the record is durable. On a failed write, `onFailure` runs (unqueue) and the error is typed.
   */
  readonly put: (
    address: AgentAddress.AgentAddress,
    entry: Entry,
    offer: Effect.Effect<void>,
    onFailure: Effect.Effect<void>
  ) => Effect.Effect<void, AgentInboxFailed>
  /** Acknowledges messages whose turn is over; a failure is logged (the id dedupes against the log). */
  readonly done: (ids: ReadonlyArray<string>) => Effect.Effect<void>
}

/** Where the inboxes of one workspace live. */
export interface Store {
  readonly fileOf: (address: AgentAddress.AgentAddress) => string
  /** Opens an instance's inbox (its writer lives in the scope). */
  readonly open: (address: AgentAddress.AgentAddress) => Effect.Effect<InstanceInbox, AgentInboxFailed, Scope.Scope>
  /** The instances whose inbox holds pending messages (read at start, to deliver them without a new message). */
  readonly pendingAddresses: Effect.Effect<ReadonlyArray<AgentAddress.AgentAddress>>
}

const toEntry = (r: typeof Put.Type): Entry => ({
  id: r.id,
  acceptedAt: r.acceptedAt,
  input: {
    input: r.input,
    ...(r.metadata === undefined ? {} : { metadata: r.metadata as Readonly<Record<string, unknown>> }),
    ...(r.call === undefined ? {} : { call: r.call as TurnInput["call"] })
  }
})

/** The pending messages of a record list (puts not acknowledged, in order). */
const pendingOf = (records: ReadonlyArray<InboxRecord>): Array<typeof Put.Type> => {
  const live = new Map<string, typeof Put.Type>()
  for (const r of records) {
    if (r.op === "put") live.set(r.id, r)
    else for (const id of r.ids) live.delete(id)
  }
  return Array.from(live.values())
}

/** The inboxes of `workspaceId` under the state root `root`. */
export const make = (root: string, workspaceId: string): Effect.Effect<Store, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fileOf = (address: AgentAddress.AgentAddress) =>
      path.join(WorkspacePaths.instance(root, { workspaceId, ...address }).dir, "inbox", "messages.jsonl")

    const readPending = (file: string) =>
      Effect.gen(function*() {
        if (!(yield* fs.exists(file))) return []
        return pendingOf(yield* Jsonl.readAll(file, codec))
      })

    const failed = (address: AgentAddress.AgentAddress, file: string) => (e: { readonly message: string }) =>
      new AgentInboxFailed({ address: `${address.agentName}@${address.instanceKey}`, file, detail: e.message })

    const open = (address: AgentAddress.AgentAddress) =>
      Effect.gen(function*() {
        const file = fileOf(address)
        const scope = yield* Effect.scope
        // The writer (an open descriptor, its buffer and fibers' state) exists only while messages are
        // pending: opened by the first `put`, closed once `done` finds nothing left. An idle instance holds
        // no inbox file open.
        let writer: Jsonl.Writer<InboxRecord> | undefined
        let writerScope: Scope.CloseableScope | undefined
        const openWriter = Effect.gen(function*() {
          const own = yield* Scope.fork(scope, ExecutionStrategy.sequential)
          // Opening the writer repairs a torn last line (a put that was never acknowledged as accepted).
          const opened = yield* Jsonl.writer(file, codec).pipe(
            Scope.extend(own),
            Effect.tapError(() => Scope.close(own, Exit.void))
          )
          writer = opened
          writerScope = own
          return opened
        })
        const closeWriter = Effect.suspend(() => {
          const own = writerScope
          writer = undefined
          writerScope = undefined
          return own === undefined ? Effect.void : Scope.close(own, Exit.void)
        })
        const size = yield* fs.stat(file).pipe(
          Effect.map((info) => Number(info.size)),
          Effect.orElseSucceed(() => 0)
        )
        // Left over from before: the writer opens now (its repair comes before the read).
        if (size > 0) yield* openWriter
        const recovered = size > 0 ? (yield* readPending(file)).map(toEntry) : []
        if (size > 0 && recovered.length === 0) yield* closeWriter
        const live = new Set(recovered.map((e) => e.id))
        const permit = yield* Effect.makeSemaphore(1)
        const put: InstanceInbox["put"] = (addr, entry, offer, onFailure) =>
          Effect.gen(function*() {
            const durable = yield* permit.withPermits(1)(Effect.gen(function*() {
              const w = writer ?? (yield* openWriter)
              const wait = yield* w.enqueue([{
                op: "put",
                id: entry.id,
                agentName: addr.agentName,
                instanceKey: addr.instanceKey,
                input: entry.input.input,
                ...(entry.input.metadata === undefined ? {} : { metadata: entry.input.metadata }),
                ...(entry.input.call === undefined ? {} : { call: entry.input.call }),
                acceptedAt: entry.acceptedAt
              }])
              live.add(entry.id)
              yield* offer
              return wait
            })).pipe(Effect.tapError(() => onFailure))
            yield* durable.pipe(
              Effect.tapError(() => Effect.zipRight(Effect.sync(() => live.delete(entry.id)), onFailure))
            )
          }).pipe(Effect.mapError(failed(addr, file)), Effect.provideService(FileSystem.FileSystem, fs))
        const done = (ids: ReadonlyArray<string>) =>
          permit.withPermits(1)(Effect.gen(function*() {
            const acked = ids.filter((id) => live.delete(id))
            if (acked.length === 0 || writer === undefined) return
            if (live.size === 0) {
              // Nothing pending: start the file over instead of recording the acknowledgement, and close it.
              yield* writer.flush
              yield* writer.truncate
              yield* closeWriter
            } else {
              yield* writer.append([{ op: "done", ids: acked }])
            }
          })).pipe(
            Effect.catchAll((e) =>
              Effect.logWarning(
                `${address.agentName}@${address.instanceKey}: cannot acknowledge inbox messages ${ids.join(", ")} ` +
                  `in ${file} (they are deduplicated against the conversation at the next start): ${e.message}`
              )
            ),
            // The ids leave `live` before the write: an interruption in between (a stop) would leave them in the
            // file, and the next start would run them again (a message that never started is not in the log).
            Effect.uninterruptible
          )
        return { file, recovered, put, done } satisfies InstanceInbox
      }).pipe(
        Effect.mapError(failed(address, fileOf(address))),
        // Only the file system: the writer must live in the scope the caller gives (not one captured here).
        Effect.provideService(FileSystem.FileSystem, fs)
      )

    const pendingAddresses = Effect.gen(function*() {
      const dir = WorkspacePaths.instancesDir(root, workspaceId)
      if (!(yield* fs.exists(dir))) return []
      const found: Array<{ readonly agentName: string; readonly instanceKey: string; readonly at: number }> = []
      for (const name of (yield* fs.readDirectory(dir)).sort()) {
        const file = path.join(dir, name, "inbox", "messages.jsonl")
        const pending = yield* readPending(file).pipe(
          Effect.catchAll((e) =>
            Effect.as(
              Effect.logWarning(`cannot read the inbox ${file}; its messages wait for the next open: ${e.message}`),
              []
            )
          )
        )
        const first = pending[0]
        if (first !== undefined) {
          found.push({ agentName: first.agentName, instanceKey: first.instanceKey, at: first.acceptedAt })
        }
      }
      // Oldest pending message first: instances start in the order their work arrived.
      return found.sort((a, b) => a.at - b.at).map(({ agentName, instanceKey }) => ({ agentName, instanceKey }))
    }).pipe(
      Effect.catchAll((e) =>
        Effect.as(Effect.logWarning(`cannot scan the inboxes of ${workspaceId}: ${e.message}`), [])
      ),
      Effect.provideService(FileSystem.FileSystem, fs)
    )

    return { fileOf, open, pendingAddresses } satisfies Store
  })

/** The turn input of an inbox message: its id rides in the input message's metadata. */
export const withId = (input: TurnInput, id: string): TurnInput => ({
  ...input,
  metadata: { ...input.metadata, [idKey]: id }
})

/**
 * Of `ids`, those whose message is already in the conversation (their turn started), and whether the
 * last user input of the conversation is one of them (its turn may still be open).
 */
export const inLog = (
  conversation: Conversation.Conversation,
  ids: ReadonlySet<string>
): { readonly started: ReadonlySet<string>; readonly last: string | undefined } => {
  const started = new Set<string>()
  let last: string | undefined
  for (const m of conversation.messages) {
    if (m.data.role !== "user") continue
    const id = (m.metadata as Readonly<Record<string, Message.Json>>)[idKey]
    last = typeof id === "string" ? id : undefined
    if (typeof id === "string" && ids.has(id)) started.add(id)
  }
  return { started, last: last !== undefined && started.has(last) ? last : undefined }
}
