import { Error as PlatformError, FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Either, Exit, Layer } from "effect"
import { Jsonl, type Message, type WorkspacePaths } from "effect-swarm"

export const FsLive = NodeFileSystem.layer

export const tempRoot = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "es-ws-" }))

export const ref: WorkspacePaths.InstanceRef = { workspaceId: "default", agentName: "coder", instanceKey: "thread:42" }

export const msg = (id: string, content: string, role: Message.Role = "user"): Message.Message => ({
  id,
  data: { role, content },
  metadata: {},
  createdAt: new Date(1_700_000_000_000),
  source: role === "tool" ? { type: "tool", toolCallId: "c", toolName: "t" } : { type: role }
})

/**
 * The real Node file system with hooks on open files: counts `write` / `sync` calls and lets a test hold
 * an fsync (to observe what happens while a batch is in flight) or make the next write fail after writing
 * part of its bytes (a short write, as on a full disk). The layer also routes the JSONL writers' appends
 * through the FileSystem (`Jsonl.DurableFile.fileSystem`), so the hooks see them.
 */
export interface FileProbe {
  writes: number
  syncs: number
  /** When set, `sync` waits for this effect before running. */
  holdSync: Effect.Effect<void> | undefined
  /** Called when a `sync` starts (before the hold). */
  onSync: Effect.Effect<void> | undefined
  /** The next `writeAll` writes this many bytes, then fails. */
  failNextWriteAfter: number | undefined
  /** Appends made through a handle's callback form (`unsafeAppend`, the writer's hot path). */
  callbackAppends: number
  /** The path of every file or directory fsynced, in order. */
  synced: Array<string>
}

export const probedFs = (probe: FileProbe) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file): FileSystem.File => {
          const probed = Object.create(file) as { -readonly [K in keyof FileSystem.File]: FileSystem.File[K] }
          probed.writeAll = (bytes) =>
            Effect.suspend(() => {
              probe.writes++
              const cut = probe.failNextWriteAfter
              if (cut === undefined) return file.writeAll(bytes)
              probe.failNextWriteAfter = undefined
              return file.writeAll(bytes.subarray(0, cut)).pipe(
                Effect.zipRight(Effect.fail(
                  new PlatformError.SystemError({
                    module: "FileSystem",
                    method: "writeAll",
                    reason: "Unknown",
                    pathOrDescriptor: path,
                    description: "ENOSPC (injected by the test)"
                  })
                ))
              )
            })
          Object.defineProperty(probed, "sync", {
            get: () =>
              Effect.suspend(() => {
                probe.syncs++
                probe.synced.push(path)
                return (probe.onSync ?? Effect.void).pipe(
                  Effect.zipRight(probe.holdSync ?? Effect.void),
                  Effect.zipRight(file.sync)
                )
              })
          })
          return probed
        })
    }))
  ).pipe(
    Layer.provide(NodeFileSystem.layer),
    Layer.merge(Layer.succeed(Jsonl.DurableFile, Jsonl.DurableFile.fileSystem))
  )

export const newProbe = (): FileProbe => ({
  writes: 0,
  syncs: 0,
  holdSync: undefined,
  onSync: undefined,
  failNextWriteAfter: undefined,
  callbackAppends: 0,
  synced: []
})

/**
 * The same hooks as {@link probedFs}, one level down: on the handles of a `Jsonl.DurableFile`
 * implementation (`Jsonl.DurableFile.node` or `.fileSystem`). A durable append counts as a write and a
 * sync; the hold (and the injected failure) come before it reaches the implementation.
 */
export const probedDurable = (probe: FileProbe, inner: Jsonl.DurableFileService) =>
  Layer.succeed(Jsonl.DurableFile, {
    open: (fs, file, options) =>
      Effect.map(inner.open(fs, file, options), (handle): Jsonl.DurableFileHandle => {
        const sync = (run: Effect.Effect<void, Jsonl.StorageIoError>) =>
          Effect.suspend(() => {
            probe.syncs++
            probe.synced.push(file)
            return (probe.onSync ?? Effect.void).pipe(
              Effect.zipRight(probe.holdSync ?? Effect.void),
              Effect.zipRight(run)
            )
          })
        const append = (bytes: Uint8Array) =>
          Effect.suspend(() => {
            probe.writes++
            const cut = probe.failNextWriteAfter
            if (cut === undefined) return options.durable ? sync(handle.append(bytes)) : handle.append(bytes)
            probe.failNextWriteAfter = undefined
            return handle.append(bytes.subarray(0, cut)).pipe(
              Effect.zipRight(Effect.fail(
                new Jsonl.StorageIoError({
                  file,
                  operation: "append",
                  cause: new Error("ENOSPC (injected by the test)")
                })
              ))
            )
          })
        return {
          size: handle.size,
          blocking: handle.blocking,
          announce: handle.announce,
          truncate: handle.truncate,
          sync: sync(handle.sync),
          append,
          // The callback form (the writer's hot path) when the implementation has one, with the same hooks.
          unsafeAppend: handle.unsafeAppend === undefined ? undefined : (bytes, done) => {
            probe.callbackAppends++
            Effect.runCallback(Effect.either(append(bytes)), {
              onExit: (exit) => done(Exit.isSuccess(exit) && Either.isLeft(exit.value) ? exit.value.left : undefined)
            })
          }
        }
      })
  }).pipe(Layer.merge(NodeFileSystem.layer))

/** The fault-injection suite runs against each way of appending: the probe sits where each can be intercepted. */
export const probedBackends: ReadonlyArray<{
  readonly name: string
  readonly layer: (probe: FileProbe) => Layer.Layer<FileSystem.FileSystem>
}> = [
  { name: "node:fs, O_DSYNC (the default)", layer: (probe) => probedDurable(probe, Jsonl.DurableFile.node) },
  {
    name: "node:fs, O_DSYNC, on the calling thread",
    layer: (probe) => probedDurable(probe, Either.getOrThrow(Jsonl.DurableFile.nodeWith({ blockingBelow: Infinity })))
  },
  {
    name: "node:fs, O_DSYNC, on the thread pool",
    layer: (probe) => probedDurable(probe, Either.getOrThrow(Jsonl.DurableFile.nodeWith({ blockingBelow: 0 })))
  },
  { name: "FileSystem, probed at DurableFile", layer: (probe) => probedDurable(probe, Jsonl.DurableFile.fileSystem) },
  { name: "FileSystem, probed at the FileSystem", layer: probedFs }
]
