/**
 * Instance metadata and lifecycle: `metadata.json` (status `idle | processing | awaiting_approval`, agent,
 * instance key, created/updated, pretty-printed, written atomically or, for an owner's status change, in
 * place), listing the instances of a workspace (broken entries are skipped and reported, never fatal),
 * and deleting everything of an instance (idempotent).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as path from "node:path"
import * as AtomicFile from "./AtomicFile.js"
import * as InstanceLock from "./InstanceLock.js"
import { DurableFile } from "./internal/durableFile.js"
import { type Metadata, type MetadataCorrupt, parseMetadata, type Status } from "./internal/instanceMetadata.js"
import * as InstancePaths from "./internal/instancePaths.js"
import * as MetadataFile from "./internal/metadataFile.js"
import * as WorkspacePaths from "./WorkspacePaths.js"

// What `metadata.json` holds (documented where they are declared).
export { Metadata, MetadataCorrupt, Status } from "./internal/instanceMetadata.js"

/**
 * An entry of the instances directory that could not be listed, and why.
 *
 * @since 0.1.0
 * @category models
 */
export interface Broken {
  readonly dir: string
  readonly reason: string
}

/**
 * The result of {@link Service.list}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listing {
  readonly instances: ReadonlyArray<Metadata>
  readonly broken: ReadonlyArray<Broken>
}

/**
 * Every failure of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type InstancesError = MetadataCorrupt | InstanceLock.InstanceLocked | AtomicFile.StorageIoError

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The state root the instances live under (other per-instance files, e.g. the orchestrator's inbox, go beside them). */
  readonly root: string
  /** The instance's metadata, `None` when it has none. */
  readonly get: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<Option.Option<Metadata>, InstancesError>
  /** Creates `metadata.json` (status `idle`) when missing; never resets `createdAt`. */
  readonly ensure: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<Metadata, InstancesError>
  /**
   * Sets the status (with its reason for `crashed` / `stopped`) and `updatedAt`, creating the metadata
   * when missing and rewriting it whole when it is corrupt. `durable: false` skips the fsyncs (still an
   * atomic replace: a killed process leaves the old or the new file); for status changes that recovery
   * rebuilds anyway, such as the turn loop's `processing` / `idle`.
   */
  readonly setStatus: (
    instance: WorkspacePaths.InstanceRef,
    status: Status,
    reason?: string,
    options?: SetStatusOptions
  ) => Effect.Effect<Metadata, InstancesError>
  /** The instances of a workspace, in name order; unreadable entries are skipped and reported in `broken`. */
  readonly list: (workspaceId: string) => Effect.Effect<Listing, AtomicFile.StorageIoError>
  /**
   * Removes the instance directory: metadata, messages, runtime events, extension state. Idempotent
   * (`false` when there was nothing). Refused with `InstanceLocked` while a live writer holds it, or while a
   * running orchestrator holds its workspace (`<root>/workspaces/<workspaceId>/orchestrator.lock`: the error
   * names that file and its holder).
   */
  readonly delete: (instance: WorkspacePaths.InstanceRef) => Effect.Effect<boolean, InstancesError>
}

/**
 * Options of {@link Service.setStatus}.
 *
 * ```ts
 * import { Instances } from "effect-swarm"
 * const options: Instances.SetStatusOptions = { durable: false }
 * ```
 */
export interface SetStatusOptions {
  /** Default `true`: the new metadata is on stable storage when `setStatus` returns. */
  readonly durable?: boolean | undefined
  /**
   * The instance's metadata as this caller last read or wrote it (the value `ensure` or `setStatus`
   * returned), for a caller that owns the instance (it holds the instance's lock, so nobody else changes
   * its identity or `createdAt`): the new metadata is made from it, without reading and decoding
   * `metadata.json` again, and the instance directory is not checked (it exists since `ensure`). The file
   * is still replaced whole and atomically, unless `inPlace`.
   */
  readonly current?: Metadata | undefined
  /**
   * With `current` (as this service returned it) and `durable: false`: `metadata.json` is overwritten in
   * place, one write from offset 0 padded with spaces to cover the old content, instead of a temp file
   * and a rename (3 file-system calls instead of 4, and no new file in the directory). A killed process
   * leaves the old or the new content (one write); a reader that reads during the write may get a mix,
   * which does not parse, and reads again; a power loss may tear it, which `ensure` reports as
   * `MetadataCorrupt` (the turn loop rewrites it whole). When the size of the file is not known (a
   * `current` this service did not return) or the write fails, the file is replaced atomically. With the
   * default `Jsonl.DurableFile` (node:fs) the write is made synchronously on the calling thread (open, one
   * `pwrite`, close of a page-cache file: microseconds, and no thread-pool round trips).
   */
  readonly inPlace?: boolean | undefined
}

/**
 * The instances service.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Instances } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const instances = yield* Instances.Instances
 *   const { instances: all, broken } = yield* instances.list("default")
 *   return all.map((m) => `${m.agentName}@${m.instanceKey} ${m.status}`)
 * }).pipe(Effect.provide(Instances.layer({ root: "/tmp/swarm" })), Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Instances extends Context.Tag("effect-swarm/Instances")<Instances, Service>() {}

/**
 * Builds the service over a state root (default: `StateRoot.resolve`).
 *
 * @example
 * ```ts
 * import { Instances } from "effect-swarm"
 * const instances = Instances.make({ root: "/tmp/swarm" }) // Effect<Service, never, FileSystem>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: {
  readonly root?: string | undefined
}): Effect.Effect<Service, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* WorkspacePaths.resolveRoot(options?.root)
    // Read-modify-write of one metadata file at a time within this process.
    const permit = yield* Effect.makeSemaphore(1)
    // In-place status writes go through node:fs on the calling thread when the workspace's durable files do
    // (the default `DurableFile`), not through `fs`: one thread-pool round trip less per call and no three
    // (see MetadataFile.overwriteDirect). A layer that routes durable files through the FileSystem service
    // (`Jsonl.DurableFile.fileSystem`, for instrumented or in-memory file systems) routes these too.
    const direct = (yield* DurableFile) === DurableFile.node

    const readFile = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "NotFound",
          () => Effect.succeed(Option.none<string>())
        ),
        AtomicFile.io(file, "read")
      )

    // The size of the file is remembered with the metadata read from it, for a later write in place.
    const readOnce = (file: string) =>
      readFile(file).pipe(
        Effect.flatMap((raw) =>
          Option.isNone(raw) ? Effect.succeedNone : Effect.map(
            parseMetadata(file, raw.value),
            (m) => Option.some(MetadataFile.remember(m, MetadataFile.byteLength(raw.value)))
          )
        )
      )

    // A file written in place (`SetStatusOptions.inPlace`) read during the write may be a mix of the old
    // and the new content, which does not parse: it is read once more before it is called corrupt.
    const getAt = (file: string) => Effect.catchTag(readOnce(file), "MetadataCorrupt", () => readOnce(file))

    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

    const pathsOf = InstancePaths.cache(root)

    // Updates queued or running under `permit`: the owner's in-place write below skips the permit only
    // when there are none (it is one synchronous call, so nothing can start between its check and its end).
    let updating = 0

    const update = (
      instance: WorkspacePaths.InstanceRef,
      status: Status | undefined,
      reason?: string,
      durable = true,
      known?: Metadata,
      inPlace = false
    ) =>
      // Counted from before the permit is asked for until it is released, interruption included.
      Effect.uninterruptibleMask((restore) => {
        updating++
        return Effect.ensuring(
          restore(
            permit.withPermits(1)(Effect.gen(function*() {
              const file = pathsOf(instance).metadata
              // A status change rewrites a corrupt file whole (as MetadataCorrupt says); `ensure` reports it. The
              // owner of an instance passes the metadata it holds (write-through: nothing is read).
              const current = known !== undefined
                ? Option.some(known)
                : status === undefined
                ? yield* getAt(file)
                : yield* Effect.catchTag(getAt(file), "MetadataCorrupt", () => Effect.succeedNone)
              if (Option.isSome(current) && status === undefined) return current.value
              const next = MetadataFile.next(instance, current, status, reason, yield* now)
              return yield* MetadataFile.write(fs, file, next, { durable, known, inPlace, direct })
            }))
          ),
          Effect.sync(() => {
            updating--
          })
        )
      })

    const get = Effect.fn("Instances.get")(function*(instance: WorkspacePaths.InstanceRef) {
      return yield* getAt(pathsOf(instance).metadata)
    })

    const ensure = Effect.fn("Instances.ensure")(function*(instance: WorkspacePaths.InstanceRef) {
      return yield* update(instance, undefined)
    })

    const setStatusTraced = Effect.fn("Instances.setStatus")(
      function*(instance: WorkspacePaths.InstanceRef, status: Status, reason?: string, options?: SetStatusOptions) {
        return yield* update(instance, status, reason, options?.durable ?? true, options?.current, options?.inPlace)
      }
    )

    // The turn loop's status writes (an owner's in-place write through node:fs, twice per turn): one
    // synchronous write when no other update of this service is queued or running, without the permit, the
    // generator and the span of the general path (85 Effect operations per call there, 3 here). Anything
    // else, or a failed direct write (the general path then replaces the file atomically), takes that path.
    const setStatus: Service["setStatus"] = (instance, status, reason, options) => {
      const known = options?.current
      if (!direct || options?.inPlace !== true || options.durable !== false || known === undefined) {
        return setStatusTraced(instance, status, reason, options)
      }
      return Effect.clockWith((clock) => {
        if (updating > 0) return setStatusTraced(instance, status, reason, options)
        const at = new Date(clock.unsafeCurrentTimeMillis()).toISOString()
        const next = MetadataFile.next(instance, Option.some(known), status, reason, at)
        const written = MetadataFile.writeDirect(pathsOf(instance).metadata, next, known)
        return written === undefined ? setStatusTraced(instance, status, reason, options) : Effect.succeed(written)
      })
    }

    const list = Effect.fn("Instances.list")(function*(workspaceId: string) {
      const dir = WorkspacePaths.instancesDir(root, workspaceId)
      const exists = yield* fs.exists(dir).pipe(AtomicFile.io(dir, "stat"))
      if (!exists) return { instances: [], broken: [] } satisfies Listing
      const names = (yield* fs.readDirectory(dir).pipe(AtomicFile.io(dir, "readdir"))).sort()
      const instances: Array<Metadata> = []
      const broken: Array<Broken> = []
      for (const name of names) {
        const entry = path.join(dir, name)
        const info = yield* fs.stat(entry).pipe(Effect.option)
        if (Option.isNone(info) || info.value.type !== "Directory") {
          broken.push({ dir: entry, reason: "not a directory" })
          continue
        }
        const file = path.join(entry, "metadata.json")
        const metadata = yield* getAt(file).pipe(Effect.either)
        if (metadata._tag === "Left") broken.push({ dir: entry, reason: metadata.left.message })
        else if (Option.isNone(metadata.right)) broken.push({ dir: entry, reason: "no metadata.json" })
        else instances.push(metadata.right.value)
      }
      return { instances, broken } satisfies Listing
    })

    const delete_ = Effect.fn("Instances.delete")(function*(instance: WorkspacePaths.InstanceRef) {
      const p = pathsOf(instance)
      if (!(yield* fs.exists(p.dir).pipe(AtomicFile.io(p.dir, "stat")))) return false
      const holder = yield* InstanceLock.holder(fs, p.lock)
      if (holder !== undefined) {
        return yield* new InstanceLock.InstanceLocked({ file: p.lock, ...holder, role: "delete" })
      }
      // A running orchestrator holds the workspace (`orchestrator.lock`) and may open this instance at any time:
      // its files are not pulled away from under it.
      const rootLock = path.join(WorkspacePaths.workspaceDir(root, instance.workspaceId), "orchestrator.lock")
      const orchestrator = yield* InstanceLock.holder(fs, rootLock)
      if (orchestrator !== undefined) {
        return yield* new InstanceLock.InstanceLocked({
          file: rootLock,
          ...orchestrator,
          role: "delete, refused while an orchestrator runs this workspace"
        })
      }
      yield* fs.remove(p.dir, { recursive: true, force: true }).pipe(AtomicFile.io(p.dir, "remove"))
      yield* AtomicFile.syncDirectory(fs, path.dirname(p.dir))
      return true
    })

    return Instances.of({ root, get, ensure, setStatus, list, delete: delete_ })
  })

/**
 * The service as a layer. `root` defaults to the state root.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { Instances } from "effect-swarm"
 * const InstancesLive = Instances.layer({ root: "/srv/swarm" }).pipe(Layer.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: {
  readonly root?: string | undefined
}): Layer.Layer<Instances, never, FileSystem.FileSystem> => Layer.effect(Instances, make(options))
