/**
 * The open sequence shared by the logs of an instance (`MessageStore`'s events, `RuntimeEventLog`):
 * create the directories durably, take the instance's `writer.lock` for a role, clear a temp file a crash
 * left behind, open the group-commit writer. Everything lives as long as the scope.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { io, makeDirectories, type StorageIoError } from "../AtomicFile.js"
import * as InstanceLock from "../InstanceLock.js"
import * as Jsonl from "../Jsonl.js"
import type * as WorkspacePaths from "../WorkspacePaths.js"
import * as DurableFile from "./durableFile.js"
import * as RestingWriter from "./restingWriter.js"

/** @internal */
export interface Options<A> {
  readonly paths: WorkspacePaths.InstancePaths
  readonly file: string
  readonly codec: Jsonl.Codec<A>
  readonly role: string
  readonly durable: boolean
  /** How the log is appended to (captured by the store when it was made). */
  readonly durableFile: DurableFile.Service
  readonly stopOnFailure?: boolean | undefined
}

/** The directories and the lock (everything before the writer). */
const prepare = <A>(fs: FileSystem.FileSystem, options: Options<A>) =>
  Effect.gen(function*() {
    const p = options.paths
    yield* makeDirectories(fs, p.messagesDir, { durable: options.durable })
    yield* InstanceLock.acquire(fs, p.lock, options.role)
    // A replacement of the file that crashed before its rename leaves this behind; the file is intact.
    yield* fs.remove(`${options.file}.tmp`, { force: true }).pipe(io(`${options.file}.tmp`, "remove"))
  })

type WriterOptions<A> = Pick<Options<A>, "file" | "codec" | "durable" | "durableFile" | "stopOnFailure">

const writer = <A>(fs: FileSystem.FileSystem, options: WriterOptions<A>) =>
  Jsonl.writer(options.file, options.codec, {
    durable: options.durable,
    stopOnFailure: options.stopOnFailure
  }).pipe(
    Effect.provideService(FileSystem.FileSystem, fs),
    Effect.provideService(DurableFile.DurableFile, options.durableFile)
  )

/** @internal */
export const open = <A>(
  fs: FileSystem.FileSystem,
  options: Options<A>
): Effect.Effect<Jsonl.Writer<A>, InstanceLock.InstanceLocked | StorageIoError, Scope.Scope> =>
  Effect.zipRight(prepare(fs, options), writer(fs, options))

/**
 * Like `open`, with a writer that is dropped whole at rest and reopened on the next use (see
 * `restingWriter.ts`); the lock stays held in the scope.
 *
 * @internal
 */
export const openResting = <A>(
  fs: FileSystem.FileSystem,
  options: Options<A>
): Effect.Effect<RestingWriter.RestingWriter<A>, InstanceLock.InstanceLocked | StorageIoError, Scope.Scope> =>
  Effect.zipRight(prepare(fs, options), RestingWriter.make(reopen(fs, options)))

// Only what reopening needs is kept for as long as the instance is open (not its paths): built here, the
// closure's context holds nothing else.
const reopen = <A>(fs: FileSystem.FileSystem, options: WriterOptions<A>) => {
  const { codec, durable, durableFile, file, stopOnFailure } = options
  const kept: WriterOptions<A> = { codec, durable, durableFile, file, stopOnFailure }
  return () => writer(fs, kept)
}
