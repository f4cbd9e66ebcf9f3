/**
 * The spawn records of the agents API (`spawn` / `list`): which instances each caller spawned, in order.
 *
 * With a state root they are on disk, per caller, beside its async inbox: `<caller>/inbox/spawned.jsonl`,
 * append-only through the workspace's `Jsonl.writer` (durable when `spawn` returns; the `DurableFile` in
 * force when the API was made). They are read on first use in this process: the first `spawn` or `list` of
 * a workspace reads the files of all its instances (for `includeAll`, and because a key spawned by another
 * caller is spawned already). A record that cannot be written fails the spawn (`AGENT_INBOX_FAILED` naming
 * the file) and nothing is recorded. A file with a corrupt line fails with `AGENT_INBOX_FAILED` naming
 * `file:line` and leaves the file as it is: a caller's own `list` fails only for its own file, `spawn` and
 * `list({ includeAll })` for any file of the workspace (the answer would be wrong without it); it is read
 * again at the next use, so a repair by hand needs no restart. A torn last line (an append cut by a crash,
 * never acknowledged) is cut with a warning. Without a state root the records are in memory.
 *
 * `spawned` is `true` only for the first spawn of an address: `false` when some caller of the workspace spawned
 * it before (also before a restart), when the orchestrator has the instance (opened, stopped or crashed),
 * or when the instance has a directory on the state root (it ran before). A caller spawns at most `max`
 * distinct addresses (its records, counted from its file after a restart); spawning one of its own again
 * adds no record and is always allowed.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import { AgentsApiError, type SpawnedAgent } from "../../pipeline/Middleware.js"
import * as Jsonl from "../../workspace/Jsonl.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"

/** Distinct addresses one caller may spawn (its records). */
export const defaultMaxSpawned = 1000

/** One line of `spawned.jsonl`: what one caller spawned, when, and whether that created the address. */
const SpawnRecord = Schema.Struct({
  target: Schema.String,
  instanceKey: Schema.String,
  ownerAgent: Schema.String,
  ownerInstanceKey: Schema.String,
  spawned: Schema.Boolean,
  /** Ms since the epoch, on `Clock`. */
  spawnedAt: Schema.Number
})
type SpawnRecord = typeof SpawnRecord.Type

const codec = Jsonl.codec(SpawnRecord, { version: 1 })

/** The spawn records file of a caller instance under a state root. */
export const fileOf = (root: string, ref: InstanceRef): string =>
  path.join(WorkspacePaths.instance(root, ref).dir, "inbox", "spawned.jsonl")

const address = (agentName: string, instanceKey: string) => `${agentName}@${instanceKey}`

const failed = (message: string, suggestion: string) =>
  new AgentsApiError({ code: "AGENT_INBOX_FAILED", message, suggestion })

const repairHint = "repair or remove that line by hand (a removed record is forgotten: list no longer shows it and " +
  "its key counts as new), or restore the file from a backup; the next spawn or list reads it again"

/** What a spawn asks: `owner` spawns `target@instanceKey`; `unknown` says whether the orchestrator lacks it. */
export interface Claim {
  readonly owner: InstanceRef
  readonly target: string
  readonly instanceKey: string
  readonly unknown: Effect.Effect<boolean, AgentsApiError>
  readonly max: number
}

export interface SpawnRecords {
  /** Records the spawn (durable on return with a state root) and answers whether it created the address. */
  readonly spawn: (claim: Claim) => Effect.Effect<SpawnedAgent, AgentsApiError>
  /** The owner's records in spawn order; `all`: every caller's in the workspace, oldest first. */
  readonly list: (owner: InstanceRef, all: boolean) => Effect.Effect<ReadonlyArray<SpawnedAgent>, AgentsApiError>
}

/** The records of one workspace known to this process. */
interface Workspace {
  /** Each caller's records in spawn order, by its address. */
  readonly owners: Map<string, Array<SpawnRecord>>
  /** Every address spawned by some caller. */
  readonly targets: Set<string>
  /** Files not read yet, or that failed (read again at the next use). */
  readonly unread: Set<string>
  /** Why each unread file failed at its last read. */
  readonly failures: Map<string, AgentsApiError>
  scanned: boolean
}

/** Where the records are kept: nowhere (memory) or in the callers' files. */
interface Persistence {
  /** The files of a workspace's callers (once per workspace). */
  readonly scan: (workspaceId: string) => Effect.Effect<ReadonlyArray<string>, AgentsApiError>
  readonly read: (file: string) => Effect.Effect<ReadonlyArray<SpawnRecord>, AgentsApiError>
  readonly fileOf: (owner: InstanceRef) => string | undefined
  readonly append: (owner: InstanceRef, record: SpawnRecord) => Effect.Effect<void, AgentsApiError>
  /** Whether the instance has a directory on the state root (always false in memory). */
  readonly onDisk: (ref: InstanceRef) => Effect.Effect<boolean, AgentsApiError>
}

const toAgent = (r: SpawnRecord, spawned = r.spawned): SpawnedAgent => ({
  target: r.target,
  instanceKey: r.instanceKey,
  spawned,
  owner: address(r.ownerAgent, r.ownerInstanceKey)
})

const add = (ws: Workspace, r: SpawnRecord) => {
  const owner = address(r.ownerAgent, r.ownerInstanceKey)
  let mine = ws.owners.get(owner)
  if (mine === undefined) {
    mine = []
    ws.owners.set(owner, mine)
  }
  if (!mine.some((m) => m.target === r.target && m.instanceKey === r.instanceKey)) mine.push(r)
  ws.targets.add(address(r.target, r.instanceKey))
}

const make = (persist: Persistence): Effect.Effect<SpawnRecords> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    const workspaces = new Map<string, Workspace>()
    /** The workspace with every file read that can be; the failures of the others stay in `failures`. */
    const ready = (workspaceId: string) =>
      Effect.gen(function*() {
        let ws = workspaces.get(workspaceId)
        if (ws === undefined) {
          ws = { owners: new Map(), targets: new Set(), unread: new Set(), failures: new Map(), scanned: false }
          workspaces.set(workspaceId, ws)
        }
        if (!ws.scanned) {
          for (const file of yield* persist.scan(workspaceId)) ws.unread.add(file)
          ws.scanned = true
        }
        for (const file of Array.from(ws.unread).sort()) {
          const read = yield* Effect.either(persist.read(file))
          if (read._tag === "Left") {
            ws.failures.set(file, read.left)
            continue
          }
          for (const r of read.right) add(ws, r)
          ws.unread.delete(file)
          ws.failures.delete(file)
        }
        return ws
      })
    /** Fails with the failure of `file` (or of any file) that could not be read. */
    const intact = (ws: Workspace, file: string | "any") =>
      Effect.suspend(() => {
        const failure = file === "any" ? ws.failures.values().next().value : ws.failures.get(file)
        return failure === undefined ? Effect.succeed(ws) : Effect.fail(failure)
      })

    const spawn = (claim: Claim) =>
      Effect.gen(function*() {
        const ws = yield* Effect.flatMap(ready(claim.owner.workspaceId), (w) => intact(w, "any"))
        const owner = address(claim.owner.agentName, claim.owner.instanceKey)
        const to = address(claim.target, claim.instanceKey)
        const mine = ws.owners.get(owner) ?? []
        const again = mine.find((r) => r.target === claim.target && r.instanceKey === claim.instanceKey)
        if (again !== undefined) return toAgent(again, false)
        if (mine.length >= claim.max) {
          return yield* new AgentsApiError({
            code: "AGENT_SPAWN_LIMIT",
            message: `${owner} has spawned ${mine.length} instances, its limit (maxSpawned ${claim.max}); ${to} is ` +
              `not spawned`,
            target: to,
            suggestion: "reuse an instance from agents__list (request or send to it, or spawn its key again), " +
              "or raise the orchestrator's calls.maxSpawned"
          })
        }
        const created = !ws.targets.has(to) && (yield* claim.unknown) &&
          !(yield* persist.onDisk({
            workspaceId: claim.owner.workspaceId,
            agentName: claim.target,
            instanceKey: claim.instanceKey
          }))
        const record: SpawnRecord = {
          target: claim.target,
          instanceKey: claim.instanceKey,
          ownerAgent: claim.owner.agentName,
          ownerInstanceKey: claim.owner.instanceKey,
          spawned: created,
          spawnedAt: yield* Clock.currentTimeMillis
        }
        yield* persist.append(claim.owner, record)
        add(ws, record)
        return toAgent(record)
      })

    const list = (owner: InstanceRef, all: boolean) =>
      Effect.gen(function*() {
        const file = persist.fileOf(owner)
        const ws = yield* Effect.flatMap(ready(owner.workspaceId), (w) => intact(w, all ? "any" : file ?? "any"))
        if (!all) return (ws.owners.get(address(owner.agentName, owner.instanceKey)) ?? []).map((r) => toAgent(r))
        // Oldest first; ties (one millisecond, a TestClock) by owner, then each owner's order: the same
        // order before and after a restart.
        const owners = Array.from(ws.owners.keys()).sort()
        return owners
          .flatMap((o) => ws.owners.get(o)!.map((r, i) => ({ r, o, i })))
          .sort((a, b) => a.r.spawnedAt - b.r.spawnedAt || (a.o < b.o ? -1 : a.o > b.o ? 1 : a.i - b.i))
          .map(({ r }) => toAgent(r))
      })

    return {
      spawn: (claim) => lock.withPermits(1)(spawn(claim)),
      list: (owner, all) => lock.withPermits(1)(list(owner, all))
    }
  })

/** Spawn records in memory (no state root): they last as long as the API. */
export const memory = (): Effect.Effect<SpawnRecords> =>
  make({
    scan: () => Effect.succeed([]),
    read: () => Effect.succeed([]),
    fileOf: () => undefined,
    append: () => Effect.void,
    onDisk: () => Effect.succeed(false)
  })

/** Spawn records in the callers' `inbox/spawned.jsonl` under `root`. */
export const durable = (root: string): Effect.Effect<SpawnRecords, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const durableFile = yield* Jsonl.DurableFile
    const withFiles = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem>) =>
      effect.pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.provideService(Jsonl.DurableFile, durableFile)
      )
    return yield* make({
      scan: (workspaceId) =>
        Effect.gen(function*() {
          const dir = WorkspacePaths.instancesDir(root, workspaceId)
          if (!(yield* fs.exists(dir))) return []
          const files: Array<string> = []
          for (const name of yield* fs.readDirectory(dir)) {
            const file = path.join(dir, name, "inbox", "spawned.jsonl")
            if (yield* fs.exists(file)) files.push(file)
          }
          return files
        }).pipe(
          Effect.mapError((e) =>
            failed(
              `${WorkspacePaths.instancesDir(root, workspaceId)}: the spawn records of the workspace could not be ` +
                `listed (${e.message})`,
              "check the state root's permissions and disk; the next spawn or list tries again"
            )
          )
        ),
      read: (file) =>
        // A torn last line is cut first (with a warning); any other bad line fails naming file:line.
        Effect.zipRight(Jsonl.repairTail(fs, file), withFiles(Jsonl.readAll(file, codec))).pipe(
          Effect.mapError((e) =>
            e._tag === "StorageIoError"
              ? failed(
                `${file}: the spawn records could not be read (${e.message})`,
                "check the file's permissions and the state root's disk; the next spawn or list reads it again"
              )
              : failed(e.message, repairHint)
          )
        ),
      fileOf: (owner) => fileOf(root, owner),
      append: (owner, record) =>
        withFiles(Effect.scoped(Effect.flatMap(Jsonl.writer(fileOf(root, owner), codec), (w) => w.append([record]))))
          .pipe(
            Effect.mapError((e) =>
              failed(
                `${fileOf(root, owner)}: the spawn record of ${address(record.target, record.instanceKey)} could not ` +
                  `be written (${e.message}); nothing was spawned`,
                "check the state root's disk space and permissions, then spawn again"
              )
            )
          ),
      onDisk: (ref) => {
        const dir = WorkspacePaths.instance(root, ref).dir
        return fs.exists(dir).pipe(
          Effect.mapError((e) =>
            failed(`${dir}: could not be checked (${e.message})`, "check the state root's permissions and disk")
          )
        )
      }
    })
  })
