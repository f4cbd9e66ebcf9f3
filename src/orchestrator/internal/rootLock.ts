/**
 * One orchestrator per workspace of a state root: an orchestrator with a state root holds
 * `<root>/workspaces/<workspaceId>/orchestrator.lock` for its whole scope, taken before it reads or writes
 * anything there, so a second one on the same workspace (another process, or this one, including through a
 * symlinked root) is refused at start with `WorkspaceLocked` naming the holder. The machinery is
 * `InstanceLock`'s (atomic create, pid + process start time, atomic takeover of a dead holder's lock, the
 * in-process table keyed by the directory's device and inode). The instances' own writer locks stay as they
 * are: a CLI `send`, `repair` or a tool may use the stores without an orchestrator.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as path from "node:path"
import { io, type StorageIoError } from "../../workspace/AtomicFile.js"
import * as InstanceLock from "../../workspace/InstanceLock.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import { WorkspaceLocked } from "../OrchestratorError.js"

/** The lock file of a workspace's orchestrator. */
export const fileOf = (root: string, workspaceId: string): string =>
  path.join(WorkspacePaths.workspaceDir(root, workspaceId), "orchestrator.lock")

/** Takes the workspace's orchestrator lock until the scope closes (see the module). */
export const acquire = (
  root: string,
  workspaceId: string
): Effect.Effect<void, WorkspaceLocked | StorageIoError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = fileOf(root, workspaceId)
    const dir = path.dirname(file)
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(io(dir, "create the workspace directory"))
    yield* InstanceLock.acquire(fs, file, "orchestrator").pipe(
      Effect.catchTag("InstanceLocked", (e) =>
        Effect.fail(
          new WorkspaceLocked({
            root,
            workspaceId,
            file,
            pid: e.pid,
            hostname: e.hostname,
            since: e.since,
            sameProcess: e.pid === process.pid && e.hostname === os.hostname()
          })
        ))
    )
  })
