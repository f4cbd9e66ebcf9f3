/**
 * `agent[@instance]` arguments: parsing, and finding the instance under the state root (across
 * workspaces unless `--workspace` narrows it).
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as path from "node:path"
import type { StorageIoError } from "../../workspace/AtomicFile.js"
import * as Instances from "../../workspace/Instances.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import { workspaceId } from "../../workspace/WorkspacePaths.js"
import { AmbiguousInstance, BadTarget, InstanceNotFound } from "../CliError.js"

/** @internal */
export interface Target {
  readonly agentName: string
  readonly instanceKey: string | undefined
}

/** @internal */
export const parse = (spec: string): Either.Either<Target, BadTarget> => {
  const at = spec.indexOf("@")
  const agentName = (at < 0 ? spec : spec.slice(0, at)).trim()
  const instanceKey = at < 0 ? undefined : spec.slice(at + 1).trim()
  if (agentName.length === 0) return Either.left(new BadTarget({ target: spec, reason: "the agent name is empty" }))
  if (instanceKey !== undefined && instanceKey.length === 0) {
    return Either.left(new BadTarget({ target: spec, reason: "the instance key after @ is empty" }))
  }
  return Either.right({ agentName, instanceKey })
}

/** @internal */
export const label = (m: { readonly agentName: string; readonly instanceKey: string }) =>
  `${m.agentName}@${m.instanceKey}`

/** Every instance under the state root (or in one workspace), workspace by workspace, and what was skipped. */
export const listAll = (root: string, workspace: string | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const instances = yield* Instances.Instances
    const dir = path.join(root, "workspaces")
    const ids = workspace !== undefined
      ? [workspaceId(workspace)]
      : (yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false)))
      ? (yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => []))).sort()
      : []
    const all: Array<Instances.Metadata> = []
    const broken: Array<Instances.Broken> = []
    for (const id of ids) {
      const listing = yield* instances.list(id)
      all.push(...listing.instances)
      broken.push(...listing.broken)
    }
    return { instances: all, broken }
  })

/** The one instance `spec` names. */
export const resolve = (
  spec: string,
  root: string,
  workspace: string | undefined
): Effect.Effect<
  InstanceRef,
  BadTarget | InstanceNotFound | AmbiguousInstance | StorageIoError,
  Instances.Instances | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const target = yield* parse(spec)
    const { instances } = yield* listAll(root, workspace)
    const matches = instances.filter((m) =>
      m.agentName === target.agentName && (target.instanceKey === undefined || m.instanceKey === target.instanceKey)
    )
    if (matches.length === 0) {
      return yield* new InstanceNotFound({
        target: spec,
        root: workspace === undefined ? root : `${root} (workspace ${workspaceId(workspace)})`,
        known: instances.map((m) => `${label(m)}${workspace === undefined ? ` (${m.workspaceId})` : ""}`)
      })
    }
    if (matches.length > 1) {
      return yield* new AmbiguousInstance({
        target: spec,
        candidates: matches.map((m) => `${label(m)} in workspace ${m.workspaceId}`)
      })
    }
    const m = matches[0]!
    return { workspaceId: m.workspaceId, agentName: m.agentName, instanceKey: m.instanceKey }
  })
