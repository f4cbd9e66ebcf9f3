/**
 * The seam between the JSONL append writer and the disk: an append-only file handle whose `append` returns
 * once the bytes are written (and, for a durable handle, on stable storage). Two implementations pass the
 * same fault-injection suite (`test/workspace/durableFile.test.ts`):
 *
 * - {@link node} (the default): `node:fs` directly. A durable file is opened `O_APPEND | O_DSYNC`, so a
 *   batch costs one `write`, which returns only once the data (and the size needed to read it back) is on
 *   disk, as `write` + `fdatasync` would (POSIX synchronized I/O data integrity). Where `O_DSYNC` does not
 *   exist (Windows) it is `write` + `fdatasync`. The write runs on the calling thread while the disk
 *   answers fast (see {@link nodeWith}), on the thread pool otherwise.
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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import { io, StorageIoError } from "../AtomicFile.js"
import { type InvalidDurableFileOption, nonNegativeDuration } from "./durableFileOptions.js"
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
  /**
   * Whether the next `unsafeAppend` may run on the calling thread (blocking it until the bytes are written,
   * and durable, and calling `done` before it returns): the disk is fast. It does when, by then, no other
   * append of the same service is announced or on the thread pool (several at once go to the thread pool,
   * where their writes overlap). The writer then announces its batch and yields once before taking it, so
   * appenders that are ready to run join it (group commit without a write in flight to queue behind).
   */
  readonly blocking?: (() => boolean) | undefined
  /** Announces an append to come (see `blocking`); the returned function withdraws it once it is done. */
  readonly announce?: (() => () => void) | undefined
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
 * How long the disk takes to make a write durable, as seen by the writes themselves: a moving average of
 * their last durations (one in eight), starting at 0 (the first write is made on the calling thread).
 * `now` is a monotonic clock in milliseconds.
 *
 * @internal
 */
export const latencyEstimate = (now: () => number) => {
  let average = 0
  return {
    get millis() {
      return average
    },
    /** Times `write` (which completes when `done` is called) into the average. */
    timed: (write: (done: (error: unknown) => void) => void, done: (error: unknown) => void): void => {
      const started = now()
      write((error) => {
        average += (now() - started - average) / 8
        done(error)
      })
    }
  }
}

/**
 * `node:fs` directly, with the choice of thread: a batch is written on the calling thread while the
 * writes of this service have taken less than `blockingBelow` on average (a fast disk: the thread-pool
 * round trip and the wake-up after it cost more than the write itself, about twice the fsync floor on a
 * quiet machine, see BENCHMARKS.md) and no other append of the service is announced or on the thread pool;
 * on the thread pool otherwise, so a slow disk never blocks the event loop for long and the appends of
 * several files at once overlap. `blockingBelow: 0` never blocks it; `Infinity` blocks it whenever the
 * append is alone.
 *
 * The options are checked here, once (nothing is added to an append): a `blockingBelow` that is NaN,
 * negative or no duration is `InvalidDurableFileOption` (it used to read as 0, "never block"). Like the other
 * checked constructors that need no services (`ToolName.make`, `AgentAddress.parseEither`), this returns an
 * `Either` rather than throwing; an `Either` is an `Effect`, so `Layer.effect` takes it as it is and the
 * error stays in the layer's error channel.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Jsonl } from "effect-swarm"
 * // Never block the event loop on a durable write: every batch goes to the thread pool.
 * // (Layer<Jsonl.DurableFile, Jsonl.InvalidDurableFileOption>)
 * const NeverBlock = Layer.effect(
 *   Jsonl.DurableFile,
 *   Jsonl.DurableFile.nodeWith({ blockingBelow: 0 })
 * )
 * // A bad value is a typed error, not a silent "never block":
 * const refused = Layer.effect(Jsonl.DurableFile, Jsonl.DurableFile.nodeWith({ blockingBelow: Number.NaN }))
 * // building `refused` fails with InvalidDurableFileOption: option blockingBelow is NaN; it must be ...
 * ```
 *
 * @since 0.1.0
 * @category implementations
 */
export const nodeWith = (options: {
  readonly blockingBelow: Duration.DurationInput
}): Either.Either<Service, InvalidDurableFileOption> =>
  Either.map(
    nonNegativeDuration("blockingBelow", options.blockingBelow),
    (limit) => makeNode(Duration.toMillis(limit), () => performance.now())
  )

/** {@link nodeWith} with the clock the latency is measured by (tests drive it). @internal */
export const makeNode = (blockingBelowMillis: number, now: () => number): Service => {
  // One estimate per kind of write: non-durable writes only reach the page cache.
  const durableLatency = latencyEstimate(now)
  const cachedLatency = latencyEstimate(now)
  // Appends announced by writers about to take a batch, and appends on the thread pool, over all handles: one
  // append alone may block the calling thread; with others in sight, each goes to the pool, where they overlap
  // (on the calling thread the writes of N files would be made one after another).
  let announced = 0
  let pooled = 0
  const announce = () => {
    announced++
    let withdrawn = false
    return () => {
      if (!withdrawn) {
        withdrawn = true
        announced--
      }
    }
  }
  return {
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
        const latency = durable ? durableLatency : cachedLatency
        const blocking = () => latency.millis < blockingBelowMillis
        // Writes `bytes` from `at` on; a short write (a full disk may give one before failing) goes on.
        const writeFrom = (bytes: Uint8Array, at: number, done: (error: unknown) => void): void =>
          fs.write(fd, bytes, at, bytes.length - at, null, (error, written) => {
            if (error !== null) return done(error)
            if (written === 0) return done(new Error("write returned 0 bytes written"))
            if (at + written < bytes.length) return writeFrom(bytes, at + written, done)
            if (durable && !syncWrites) return fs.fdatasync(fd, (e) => done(e))
            done(null)
          })
        // The same on the calling thread.
        const writeHere = (bytes: Uint8Array, done: (error: unknown) => void): void => {
          try {
            for (let at = 0; at < bytes.length;) {
              const written = fs.writeSync(fd, bytes, at, bytes.length - at, null)
              if (written === 0) throw new Error("write returned 0 bytes written")
              at += written
            }
            if (durable && !syncWrites) fs.fdatasyncSync(fd)
          } catch (error) {
            return done(error)
          }
          done(null)
        }
        const sync = call<void>(file, "fsync", (done) => fs.fsync(fd, (e) => done(e, undefined)))
        // (An empty append never reaches the disk: `writeFrom` of nothing would report a zero-byte write.)
        const unsafeAppend = (bytes: Uint8Array, done: (error: StorageIoError | undefined) => void): void => {
          if (bytes.length === 0) return void process.nextTick(done, undefined)
          const settle = (error: unknown) => done(error === null ? undefined : ioError(file, operation, error))
          if (blocking() && announced <= 1 && pooled === 0) return latency.timed((d) => writeHere(bytes, d), settle)
          pooled++
          latency.timed((d) => writeFrom(bytes, 0, d), (error) => {
            pooled--
            settle(error)
          })
        }
        return {
          size: stat.size,
          append: (bytes) =>
            bytes.length === 0
              ? Effect.void
              : Effect.async<void, StorageIoError>((resume) =>
                unsafeAppend(bytes, (error) => resume(error === undefined ? Effect.void : Effect.fail(error)))
              ),
          unsafeAppend,
          blocking,
          announce,
          truncate: (length) =>
            call<void>(file, "truncate", (done) => fs.ftruncate(fd, length, (e) => done(e, undefined))),
          sync
        } satisfies Handle
      })
  }
}

/**
 * `node:fs` directly: one `write` per append on an `O_APPEND | O_DSYNC` descriptor when durable, on the
 * calling thread while the disk's writes take under a millisecond on average ({@link nodeWith}).
 *
 * @since 0.1.0
 * @category implementations
 */
export const node: Service = makeNode(1, () => performance.now())

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
  /**
   * `node:fs` directly, choosing the thread by the disk's latency (`blockingBelow: 0`: never blocks); a bad
   * `blockingBelow` is `Either.left(InvalidDurableFileOption)` (see {@link nodeWith}).
   */
  static readonly nodeWith = nodeWith
  /** Through the `FileSystem` service. */
  static readonly fileSystem: Service = fileSystem
}
