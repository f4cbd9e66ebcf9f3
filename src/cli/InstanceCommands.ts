/**
 * `effect-swarm instances list | delete | repair`: the instances under the state root
 * (`EFFECT_SWARM_HOME`, else `~/.effect-swarm`), across workspaces unless `--workspace` names one.
 *
 * - `list [--workspace id] [--json]`: one line per instance (workspace, `agent@instanceKey`, status, last
 *   change); entries that cannot be read are reported on stderr, never fatal.
 * - `delete <agent@instance>`: removes everything of the instance (refused while a writer holds it).
 * - `repair <agent@instance> [--json]`: salvages a damaged conversation log (`MessageStore.repair`):
 *   keeps every valid record, reports each dropped line, keeps the damaged original aside.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Instances from "../workspace/Instances.js"
import * as MessageStore from "../workspace/MessageStore.js"
import * as Root from "./internal/root.js"
import * as Target from "./internal/target.js"
import { detectColor, paint } from "./Output.js"

/**
 * Options common to the instance commands.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly workspace?: string | undefined
  readonly json?: boolean | undefined
  /** The state root (default: `StateRoot.resolve`). */
  readonly root?: string | undefined
}

const rootOf = (options: Options) => Root.resolve(options.root)

const withInstances = <A, E, R>(root: string, f: Effect.Effect<A, E, R>) =>
  Effect.provideServiceEffect(f, Instances.Instances, Instances.make({ root }))

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2)).join(""))
}

/**
 * Prints the instances.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { InstanceCommands } from "effect-swarm/cli/InstanceCommands"
 * InstanceCommands.list({ json: true }).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const list = Effect.fn("InstanceCommands.list")(function*(options: Options) {
  const root = yield* rootOf(options)
  const { broken, instances } = yield* withInstances(root, Target.listAll(root, options.workspace))
  if (options.json === true) return yield* Console.log(JSON.stringify({ root, instances, broken }, null, 2))
  for (const b of broken) yield* Console.error(`skipped ${b.dir}: ${b.reason}`)
  if (instances.length === 0) return yield* Console.log(`no instances under ${root}`)
  const c = paint(yield* detectColor)
  const rows = [
    ["WORKSPACE", "INSTANCE", "STATUS", "UPDATED"],
    ...instances.map((m) => [m.workspaceId, Target.label(m), m.status, m.updatedAt])
  ]
  const lines = table(rows)
  yield* Console.log(c("2", lines[0]!))
  for (const line of lines.slice(1)) yield* Console.log(line)
})

/**
 * Deletes an instance.
 *
 * @since 0.1.0
 * @category commands
 */
export const delete_ = Effect.fn("InstanceCommands.delete")(function*(target: string, options: Options) {
  const root = yield* rootOf(options)
  yield* withInstances(
    root,
    Effect.gen(function*() {
      const ref = yield* Target.resolve(target, root, options.workspace)
      yield* (yield* Instances.Instances).delete(ref)
      const text = `deleted ${Target.label(ref)} (workspace ${ref.workspaceId})`
      yield* Console.log(options.json === true ? JSON.stringify({ deleted: ref }) : text)
    })
  )
})

/**
 * Repairs an instance's conversation log and prints what was kept and dropped.
 *
 * @since 0.1.0
 * @category commands
 */
export const repair = Effect.fn("InstanceCommands.repair")(function*(target: string, options: Options) {
  const root = yield* rootOf(options)
  const ref = yield* withInstances(root, Target.resolve(target, root, options.workspace))
  const report = yield* Effect.scoped(
    Effect.flatMap(MessageStore.make({ root }), (store) => store.repair(ref))
  ).pipe(Effect.provideService(FileSystem.FileSystem, yield* FileSystem.FileSystem))
  if (options.json === true) return yield* Console.log(JSON.stringify({ instance: ref, ...report }, null, 2))
  const label = Target.label(ref)
  if (report.preserved.length === 0 && report.dropped.length === 0) {
    return yield* Console.log(`${label}: nothing to repair (${report.kept} records, last seq ${report.lastSeq})`)
  }
  yield* Console.log(`${label}: ${report.summary}`)
})
