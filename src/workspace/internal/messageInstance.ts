/**
 * The JSONL message store's per-instance machinery: the compaction policy read from the options, opening
 * an instance for writing (lock, writer, the state read back from its files), and the salvage of a
 * damaged instance under its lock.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as InstanceLock from "../InstanceLock.js"
import type { StorageCorrupt, StorageUnavailable } from "../StorageError.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import type * as Compaction from "./compaction.js"
import type * as DurableFile from "./durableFile.js"
import * as InstanceLog from "./instanceLog.js"
import { eventCodec } from "./messageCodec.js"
import { duplicateCorrupt, idsOf } from "./messageIds.js"
import * as Repair from "./repair.js"
import { readFiles, seqCorrupt } from "./snapshot.js"
import { fromIo } from "./storageErrors.js"

/**
 * The automatic compaction policy from the store's options (`undefined`: off). A value that is not a
 * non-negative number (NaN, negative) would silently disable or distort the policy: it falls back to the
 * default, loudly.
 *
 * @internal
 */
export const policyOf = (
  compaction: { readonly minBytes?: number | undefined; readonly ratio?: number | undefined } | false | undefined
): Effect.Effect<Compaction.Policy | undefined> =>
  Effect.gen(function*() {
    if (compaction === false) return undefined
    const setting = (name: "minBytes" | "ratio", fallback: number) =>
      Effect.gen(function*() {
        const value = compaction?.[name]
        if (value === undefined) return fallback
        if (Number.isFinite(value) && value >= 0) return value
        yield* Effect.logWarning(
          `MessageStore: compaction.${name} must be a non-negative number, got ${value}; using ${fallback}`
        )
        return fallback
      })
    return { minBytes: yield* setting("minBytes", 4 * 1024 * 1024), ratio: yield* setting("ratio", 1) }
  })

/**
 * Opens an instance for writing: takes its lock, opens the events writer and reads back the state the
 * appends and the compaction policy need. Everything lives as long as the scope.
 *
 * @internal
 */
export const open = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths,
  durable: boolean,
  durableFile: DurableFile.Service
): Effect.Effect<
  Compaction.Open,
  InstanceLock.InstanceLocked | StorageCorrupt | StorageUnavailable,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const writer = yield* InstanceLog.open(fs, {
      paths: p,
      file: p.events,
      codec: eventCodec,
      role: "messages",
      durable,
      durableFile,
      // Seqs are given at queueing: after a failed write the instance reopens from the file.
      stopOnFailure: true
    })
    // A compaction that crashed before its rename leaves this behind; the old snapshot is intact.
    yield* fs.remove(`${p.base}.tmp`, { force: true }).pipe(Effect.ignore)
    const conversation = yield* readFiles(fs, p)
    if (conversation.seqProblems.length > 0) return yield* seqCorrupt(p.events, conversation)
    const ids = idsOf(conversation)
    if (!(ids instanceof Set)) {
      return yield* Effect.flatMap(duplicateCorrupt(fs, p, conversation, ids.duplicate), Effect.fail)
    }
    const baseBytes = yield* fs.stat(p.base).pipe(
      Effect.map((info) => Number(info.size)),
      Effect.orElseSucceed(() => 0)
    )
    let lastDeadSeq = 0
    for (const e of conversation.events) if (e.type !== "append") lastDeadSeq = e.seq
    return {
      paths: p,
      writer,
      permit: yield* Effect.makeSemaphore(1),
      exclusive: 0,
      compactLock: yield* Effect.makeSemaphore(1),
      scope: yield* Effect.scope,
      lastSeq: conversation.lastSeq,
      ids,
      baseSeq: conversation.baseSeq,
      baseBytes,
      lastDeadSeq,
      autoCompactFailed: false,
      background: undefined
    } satisfies Compaction.Open
  }).pipe(Effect.catchTags({ StorageIoError: (e) => Effect.fail(fromIo(e)) }))

/**
 * Salvages an instance (see `repair.ts`) under its lock, taken for the time of the salvage. The caller has
 * closed the instance in its store first (its writer could not open a damaged log anyway).
 *
 * @internal
 */
export const repair = (
  fs: FileSystem.FileSystem,
  p: WorkspacePaths.InstancePaths
): Effect.Effect<Repair.RepairReport, InstanceLock.InstanceLocked | StorageCorrupt | StorageUnavailable> =>
  Effect.scoped(Effect.gen(function*() {
    if (!(yield* fs.exists(p.dir).pipe(Effect.orElseSucceed(() => false)))) {
      return {
        kept: 0,
        keptMessages: 0,
        dropped: [],
        notes: [],
        preserved: [],
        lastSeq: 0,
        summary: "nothing to repair: the instance was never written"
      } satisfies Repair.RepairReport
    }
    yield* InstanceLock.acquire(fs, p.lock, "messages").pipe(
      Effect.catchTags({ StorageIoError: (e) => Effect.fail(fromIo(e)) })
    )
    return yield* Repair.salvage(fs, p)
  }))
