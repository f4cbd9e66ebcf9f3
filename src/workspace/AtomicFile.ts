/**
 * Crash-safe file replacement: write a temp file beside the target, fsync it, rename it over the target,
 * fsync the directory. After a crash at any point the target holds either the old or the new content,
 * never a mix.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"

/**
 * A file-system operation failed. `operation` says which (`write`, `rename`, `fsync`, ...), `file` where.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AtomicFile } from "effect-swarm"
 * declare const program: Effect.Effect<void, AtomicFile.StorageIoError>
 * program.pipe(Effect.catchTag("StorageIoError", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageIoError extends Schema.TaggedError<StorageIoError>("effect-swarm/StorageIoError")(
  "StorageIoError",
  { file: Schema.String, operation: Schema.String, cause: Schema.Defect }
) {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.operation} failed for ${this.file}: ${cause}`
  }
}

/**
 * Maps any failure to a {@link StorageIoError} for `file`.
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AtomicFile } from "effect-swarm"
 * const read = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString("/x").pipe(AtomicFile.io("/x", "read")))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const io = (file: string, operation: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.mapError(self, (cause) => new StorageIoError({ file, operation, cause }))

/**
 * Makes a directory entry (a created, renamed or removed file) durable by fsyncing the directory. Windows
 * cannot open directories; there the call is a no-op (NTFS journals metadata itself).
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AtomicFile } from "effect-swarm"
 * const program = Effect.flatMap(FileSystem.FileSystem, (fs) => AtomicFile.syncDirectory(fs, "/tmp"))
 * ```
 *
 * @since 0.1.0
 * @category durability
 */
export const syncDirectory = (fs: FileSystem.FileSystem, dir: string): Effect.Effect<void, StorageIoError> =>
  process.platform === "win32"
    ? Effect.void
    : Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync)).pipe(io(dir, "fsync dir"))

/**
 * Creates `dir` and every missing parent, and makes each new directory entry durable: after creating
 * them, fsyncs the parent of every directory it created (top-down), so a crash cannot leave a file whose
 * directory chain was never written. Existing directories are left alone; `durable: false` skips the
 * fsyncs. Returns the directories it created.
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AtomicFile } from "effect-swarm"
 * const program = Effect.flatMap(FileSystem.FileSystem, (fs) => AtomicFile.makeDirectories(fs, "/tmp/a/b/c"))
 * ```
 *
 * @since 0.1.0
 * @category durability
 */
export const makeDirectories = (
  fs: FileSystem.FileSystem,
  dir: string,
  options?: { readonly durable?: boolean | undefined }
): Effect.Effect<ReadonlyArray<string>, StorageIoError> =>
  Effect.gen(function*() {
    const missing: Array<string> = []
    let at = path.resolve(dir)
    while (!(yield* fs.exists(at).pipe(io(at, "stat")))) {
      missing.unshift(at)
      const parent = path.dirname(at)
      if (parent === at) break
      at = parent
    }
    if (missing.length === 0) return missing
    // Recursive: a directory another process creates meanwhile is not an error.
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(io(dir, "mkdir"))
    if (options?.durable ?? true) {
      for (const created of missing) yield* syncDirectory(fs, path.dirname(created))
    }
    return missing
  })

let counter = 0

/**
 * Replaces `file` with `content` atomically and durably (temp + fsync + rename + directory fsync). The
 * parent directory is created when missing. A failed write leaves the old file and removes the temp file.
 * With `durable: false` the fsyncs are skipped (temp + rename only): a killed process still leaves the old
 * or the new content, never a mix, but after a power loss or an OS crash the file may hold the old
 * content or, on file systems that do not order a rename after its data, be empty. Only for files whose
 * loss recovery can rebuild (an instance's status). `parentExists: true` skips the directory check (and
 * creation) for a caller that knows the directory is there.
 *
 * @example
 * ```ts
 * import { FileSystem } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AtomicFile } from "effect-swarm"
 * const program = Effect.flatMap(FileSystem.FileSystem, (fs) => AtomicFile.write(fs, "/tmp/a.json", "{}\n"))
 * ```
 *
 * @since 0.1.0
 * @category durability
 */
export const write = (
  fs: FileSystem.FileSystem,
  file: string,
  content: string | Uint8Array,
  options?: {
    readonly tmp?: string | undefined
    readonly durable?: boolean | undefined
    /** The caller knows the directory exists: it is not checked (a missing one fails the write). */
    readonly parentExists?: boolean | undefined
  }
): Effect.Effect<void, StorageIoError> => {
  const durable = options?.durable ?? true
  const dir = path.dirname(file)
  const tmp = options?.tmp ?? `${file}.${process.pid}.${++counter}.tmp`
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content
  return Effect.gen(function*() {
    if (options?.parentExists !== true) yield* makeDirectories(fs, dir, { durable })
    // Not durable: one writeFile (no descriptor kept in a scope, no sync), then the rename.
    yield* (durable
      ? Effect.scoped(Effect.gen(function*() {
        const handle = yield* fs.open(tmp, { flag: "w", mode: 0o644 })
        // writeAll of nothing fails (the platform reports a zero-byte write as an error).
        if (bytes.length > 0) yield* handle.writeAll(bytes)
        yield* handle.sync
      }))
      : fs.writeFile(tmp, bytes, { mode: 0o644 })).pipe(io(tmp, "write"))
    yield* fs.rename(tmp, file).pipe(io(file, "rename"))
    if (durable) yield* syncDirectory(fs, dir)
  }).pipe(
    Effect.tapError(() => fs.remove(tmp, { force: true }).pipe(Effect.ignore)),
    Effect.uninterruptible
  )
}
