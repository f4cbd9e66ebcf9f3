/**
 * `effect-swarm events <agent@instance> [--follow] [--json]`: the instance's runtime events
 * (`messages/runtime-events.jsonl`: turns, steps, tool calls, approvals), one line each, or with `--json`
 * the records themselves, one JSON object per line. `--follow` keeps printing what is appended: it tails
 * the file from the byte offset it has read up to, woken by file-system notifications and, where those
 * are missed (network file systems), by a check every `interval` on the `Clock`; a line still being
 * written is held until its newline arrives.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { safe } from "../connector/internal/terminalText.js"
import * as Instances from "../workspace/Instances.js"
import * as WorkspacePaths from "../workspace/WorkspacePaths.js"
import * as Root from "./internal/root.js"
import * as Target from "./internal/target.js"
import { detectColor, paint } from "./Output.js"

/**
 * Options of {@link tail}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TailOptions {
  /** The byte offset to start at (default 0: the whole file). */
  readonly from?: number | undefined
  /** Listen for file-system notifications (default `true`); the `interval` check runs either way. */
  readonly watch?: boolean | undefined
  /** How often to look for appended data without a notification (default 1 second). */
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * Calls `onLine` with every complete line appended to `file` from `from` on, forever (until interrupted).
 * A missing file counts as empty; a file that shrinks (replaced) is read again from its start.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { Events } from "effect-swarm/cli/Events"
 * const printAll = Events.tail("/tmp/swarm/x/messages/runtime-events.jsonl", Console.log).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category following
 */
export const tail = <E, R>(
  file: string,
  onLine: (line: string) => Effect.Effect<void, E, R>,
  options?: TailOptions
): Effect.Effect<never, E | PlatformError, R | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    let offset = options?.from ?? 0
    let partial = ""
    let decoder = new TextDecoder()
    const drain = Effect.gen(function*() {
      const info = yield* fs.stat(file).pipe(Effect.option)
      const size = Option.isSome(info) ? Number(info.value.size) : 0
      if (size < offset) {
        offset = 0
        partial = ""
        decoder = new TextDecoder()
      }
      if (size === offset) return
      const chunk = yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* fs.open(file, { flag: "r" })
        yield* handle.seek(offset, "start")
        return yield* handle.readAlloc(FileSystem.Size(size - offset))
      }))
      if (Option.isNone(chunk)) return
      offset += chunk.value.length
      const lines = (partial + decoder.decode(chunk.value, { stream: true })).split("\n")
      partial = lines.pop()!
      for (const line of lines) if (line.trim().length > 0) yield* onLine(line)
    })
    const wake = yield* Queue.sliding<void>(1)
    yield* Queue.offer(wake, undefined).pipe(
      Effect.repeat(Schedule.spaced(options?.interval ?? Duration.seconds(1))),
      Effect.forkScoped
    )
    if (options?.watch !== false) {
      // The directory, not the file: the file may not exist yet. A watch that cannot start leaves the timer.
      yield* fs.watch(path.dirname(file)).pipe(
        Stream.runForEach(() => Queue.offer(wake, undefined)),
        Effect.ignore,
        Effect.forkScoped
      )
    }
    return yield* Effect.forever(Effect.zipRight(Queue.take(wake), drain))
  })

const str = (v: unknown) => typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined

/**
 * One runtime event record as a line of text: time, type, then what identifies it (turn, step, tool) and
 * its outcome.
 *
 * @example
 * ```ts
 * import { Events } from "effect-swarm/cli/Events"
 * Events.formatRecord(`{"v":1,"type":"turn.started","turnId":"t1"}`, false) // "turn.started     turn=t1"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatRecord = (line: string, color: boolean): string => {
  let record: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(line)
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return `(unreadable) ${safe(line)}`
    record = parsed as Record<string, unknown>
  } catch {
    return `(unreadable) ${safe(line)}`
  }
  const c = paint(color)
  // Recorded text (tool names, reasons, error messages) is shown, never obeyed by the terminal.
  const type = safe(str(record.type) ?? "?")
  const failed = type.endsWith(".failed") || record.status === "error"
  const fields: Array<string> = []
  const field = (name: string, key: string) => {
    const v = str(record[key])
    if (v !== undefined) fields.push(`${name}=${safe(v)}`)
  }
  field("turn", "turnId")
  field("step", "stepIndex")
  field("tool", "toolName")
  field("call", "toolCallId")
  field("finish", "finishReason")
  field("limit", "limit")
  if (typeof record.approved === "boolean") fields.push(record.approved ? "approved" : "denied")
  field("reason", "reason")
  field("error", "errorMessage")
  const time = str(record.timestamp) ?? str(record.at)
  return [time === undefined ? undefined : c("2", time), c(failed ? "31" : "36", type.padEnd(15)), ...fields]
    .filter((s) => s !== undefined).join("  ")
}

/**
 * Options of {@link events}.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventsOptions extends TailOptions {
  readonly workspace?: string | undefined
  readonly json?: boolean | undefined
  readonly follow?: boolean | undefined
  /** The state root (default: `StateRoot.resolve`). */
  readonly root?: string | undefined
}

/**
 * Prints the runtime events of the instance `target` (`agent@instanceKey`), and with `follow` keeps
 * printing new ones until interrupted.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Events } from "effect-swarm/cli/Events"
 * Events.events("coordinator@local", { json: true }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const events = Effect.fn("Events.events")(function*(target: string, options: EventsOptions) {
  const root = yield* Root.resolve(options.root)
  const ref = yield* Target.resolve(target, root, options.workspace).pipe(
    Effect.provideServiceEffect(Instances.Instances, Instances.make({ root }))
  )
  const file = WorkspacePaths.instance(root, ref).runtimeEvents
  const color = options.json === true ? false : yield* detectColor
  const print = (line: string) => Console.log(options.json === true ? line : formatRecord(line, color))
  if (options.follow === true) return yield* tail(file, print, options)
  const fs = yield* FileSystem.FileSystem
  const exists = yield* fs.exists(file)
  const text = exists ? yield* fs.readFileString(file) : ""
  // A last line without its newline is still being written: not shown.
  const lines = text.split("\n").slice(0, -1).filter((l) => l.trim().length > 0)
  for (const line of lines) yield* print(line)
})
