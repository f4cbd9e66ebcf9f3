import { Error as PlatformError, FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import type { Message, WorkspacePaths } from "effect-swarm"

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
 * part of its bytes (a short write, as on a full disk).
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
  ).pipe(Layer.provide(NodeFileSystem.layer))

export const newProbe = (): FileProbe => ({
  writes: 0,
  syncs: 0,
  holdSync: undefined,
  onSync: undefined,
  failNextWriteAfter: undefined,
  synced: []
})
