/**
 * The seam between the JSONL append writer and the disk: an append-only file handle whose `append` returns
 * once the bytes are written (and, for a durable handle, on stable storage). Two implementations pass the
 * same fault-injection suite (`test/workspace/durableFile.test.ts`):
 *
 * - {@link node} (the default): `node:fs` directly. A durable file is opened `O_APPEND | O_DSYNC`, so a
 *   batch costs one `write` on the thread pool, which returns only once the data (and the size needed to
 *   read it back) is on disk, as `write` + `fdatasync` would (POSIX synchronized I/O data integrity).
 *   Where `O_DSYNC` does not exist (Windows) it is `write` + `fdatasync`.
 * - {@link fileSystem}: through `@effect/platform`'s `FileSystem` (`writeAll` + `sync`), for a FileSystem
 *   that is not the machine's own (in memory, instrumented, remote) and for tests that intercept it.
 *
 * The writer reads the implementation from the context when it opens a file; stores capture it when they
 * are made, so a layer that provides `FileSystem` can provide `DurableFile` beside it.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import { io, StorageIoError } from "../AtomicFile.js"
import * as LeanScope from "./leanScope.js"

/**
 * An open append-only file (see {@link DurableFile}).
 *
 * @since 0.1.0
 * @category models
 */
export interface Handle {
  /** The size of the file when it was opened. */
  readonly size: number
  /**
   * Appends every byte (resuming short writes). When the handle is durable, the bytes are on stable storage
   * when this succeeds. A failure may leave part of the bytes in the file: the caller cuts them back.
   */
  readonly append: (bytes: Uint8Array) => Effect.Effect<void, StorageIoError>
  /**
   * `append` with a plain callback, for the writer's hot path (no Effect per batch): `done` receives
   * `undefined` once every byte is written (and durable), or the error (then, as for `append`, part of the
   * bytes may be in the file). Optional: without it the writer uses `append`.
   */
  readonly unsafeAppend?: ((bytes: Uint8Array, done: (error: StorageIoError | undefined) => void) => void) | undefined
  /** Cuts the file to `length` bytes (not synced: {@link Handle.sync} makes it durable). */
  readonly truncate: (length: number) => Effect.Effect<void, StorageIoError>
  /** fsync: the file's data and metadata (a new file's size, a truncation) on stable storage. */
  readonly sync: Effect.Effect<void, StorageIoError>
}

/**
 * Opens append-only files for the JSONL writer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Opens (creating when missing, mode 0644) `file` for appending; the handle is closed with the scope.
   * `fs` is the store's FileSystem (used by {@link fileSystem}; {@link node} goes to the disk directly).
   */
  readonly open: (
    fs: FileSystem.FileSystem,
    file: string,
    options: { readonly durable: boolean }
  ) => Effect.Effect<Handle, StorageIoError, Scope.Scope>
}

const ioError = (file: string, operation: string, cause: unknown) => new StorageIoError({ file, operation, cause })

// One libuv request as an Effect. No interruption handler: the writer runs its batches uninterruptibly, and
// an fs request cannot be cancelled once on the thread pool anyway.
const call = <A>(
  file: string,
  operation: string,
  run: (done: (error: NodeJS.ErrnoException | null, value: A) => void) => void
): Effect.Effect<A, StorageIoError> =>
  Effect.async<A, StorageIoError>((resume) => {
    run((error, value) => resume(error === null ? Effect.succeed(value) : Effect.fail(ioError(file, operation, error))))
  })

const dsync: number | undefined = fs.constants.O_DSYNC

/**
 * `node:fs` directly: one `write` per append on an `O_APPEND | O_DSYNC` descriptor when durable.
 *
 * @since 0.1.0
 * @category implementations
 */
export const node: Service = {
  open: (_fs, file, options) =>
    Effect.gen(function*() {
      const durable = options.durable
      const syncWrites = durable && dsync !== undefined
      const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (syncWrites ? dsync : 0)
      const fd = yield* LeanScope.acquireRelease(
        call<number>(file, "open", (done) => fs.open(file, flags, 0o644, done)),
        (fd) => Effect.async<void>((resume) => fs.close(fd, () => resume(Effect.void)))
      )
      const stat = yield* call<fs.Stats>(file, "stat", (done) => fs.fstat(fd, done))
      const operation = durable ? "append+fsync" : "append"
      // Writes `bytes` from `at` on; a short write (a full disk may give one before failing) goes on.
      const writeFrom = (bytes: Uint8Array, at: number, done: (error: unknown) => void): void =>
        fs.write(fd, bytes, at, bytes.length - at, null, (error, written) => {
          if (error !== null) return done(error)
          if (written === 0) return done(new Error("write returned 0 bytes written"))
          if (at + written < bytes.length) return writeFrom(bytes, at + written, done)
          if (durable && !syncWrites) return fs.fdatasync(fd, (e) => done(e))
          done(null)
        })
      const sync = call<void>(file, "fsync", (done) => fs.fsync(fd, (e) => done(e, undefined)))
      // (An empty append never reaches the disk: `writeFrom` of nothing would report a zero-byte write.)
      const unsafeAppend = (bytes: Uint8Array, done: (error: StorageIoError | undefined) => void): void =>
        bytes.length === 0
          ? void process.nextTick(done, undefined)
          : writeFrom(bytes, 0, (error) => done(error === null ? undefined : ioError(file, operation, error)))
      return {
        size: stat.size,
        append: (bytes) =>
          bytes.length === 0
            ? Effect.void
            : Effect.async<void, StorageIoError>((resume) =>
              unsafeAppend(bytes, (error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
            ),
        unsafeAppend,
        truncate: (length) =>
          call<void>(file, "truncate", (done) => fs.ftruncate(fd, length, (e) => done(e, undefined))),
        sync
      } satisfies Handle
    })
}

/**
 * Through `@effect/platform`'s `FileSystem`: `writeAll` then `sync` per append when durable.
 *
 * @since 0.1.0
 * @category implementations
 */
export const fileSystem: Service = {
  open: (fs, file, options) =>
    Effect.gen(function*() {
      const durable = options.durable
      const opened = yield* fs.open(file, { flag: "a", mode: 0o644 }).pipe(io(file, "open"))
      const size = Number((yield* opened.stat.pipe(io(file, "stat"))).size)
      return {
        size,
        append: (bytes) =>
          // Nothing to write (a flush): nothing to sync either. (writeAll of nothing fails: the platform
          // reports a zero-byte write as an error.)
          bytes.length === 0 ? Effect.void : opened.writeAll(bytes).pipe(
            Effect.zipRight(durable ? opened.sync : Effect.void),
            io(file, durable ? "append+fsync" : "append")
          ),
        truncate: (length) => opened.truncate(length).pipe(io(file, "truncate")),
        sync: opened.sync.pipe(io(file, "fsync"))
      } satisfies Handle
    })
}

/**
 * The implementation the JSONL writers use: {@link node} unless a layer provides another one, e.g.
 * `Layer.succeed(Jsonl.DurableFile, Jsonl.DurableFile.fileSystem)` to send appends through the
 * `FileSystem` service as well.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Jsonl } from "effect-swarm"
 * // Appends through the FileSystem service (an instrumented or in-memory one) instead of node:fs.
 * const AppendsThroughFileSystem = Layer.succeed(Jsonl.DurableFile, Jsonl.DurableFile.fileSystem)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class DurableFile extends Context.Reference<DurableFile>()("effect-swarm/DurableFile", {
  defaultValue: (): Service => node
}) {
  /** `node:fs` directly (the default). */
  static readonly node: Service = node
  /** Through the `FileSystem` service. */
  static readonly fileSystem: Service = fileSystem
}
