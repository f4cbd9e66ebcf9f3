/**
 * Per-extension state of an instance: one JSON object per extension in `extensions/<name>.json`,
 * pretty-printed (2 spaces, trailing newline) so it reads well with `cat`. Writes are atomic (temp + fsync
 * + rename + directory fsync) and skipped when the content would not change.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Json } from "../conversation/Message.js"
import * as AtomicFile from "./AtomicFile.js"
import * as WorkspacePaths from "./WorkspacePaths.js"

/**
 * A state value that is not a plain JSON object (an array, a string, `null`, a `Date`, a function...).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ExtensionState } from "effect-swarm"
 * declare const program: Effect.Effect<boolean, ExtensionState.ExtensionStateError>
 * program.pipe(Effect.catchTag("ExtensionStateNotObject", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ExtensionStateNotObject extends Schema.TaggedError<ExtensionStateNotObject>(
  "effect-swarm/ExtensionStateNotObject"
)("ExtensionStateNotObject", { extension: Schema.String, received: Schema.String }) {
  override get message(): string {
    return `state of extension "${this.extension}" must be a plain JSON object, got ${this.received}. Wrap the ` +
      `value in an object, e.g. { value: ... }, and use only JSON values (no Date, Map, undefined, functions).`
  }
}

/**
 * A state file on disk is not a JSON object (edited by hand or by another program).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ExtensionState } from "effect-swarm"
 * declare const program: Effect.Effect<unknown, ExtensionState.ExtensionStateError>
 * program.pipe(Effect.catchTag("ExtensionStateCorrupt", (e) => Effect.logError(e.file)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ExtensionStateCorrupt extends Schema.TaggedError<ExtensionStateCorrupt>(
  "effect-swarm/ExtensionStateCorrupt"
)("ExtensionStateCorrupt", { extension: Schema.String, file: Schema.String, reason: Schema.String }) {
  override get message(): string {
    return `${this.file}: state of extension "${this.extension}" is unreadable (${this.reason}). Fix or delete ` +
      `the file; it is rewritten whole on the next change.`
  }
}

/**
 * Every failure of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type ExtensionStateError = ExtensionStateNotObject | ExtensionStateCorrupt | AtomicFile.StorageIoError

/**
 * A state object.
 *
 * @since 0.1.0
 * @category models
 */
export type State = { readonly [key: string]: Json }

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The extension's state, `None` when it was never written. */
  readonly get: (
    instance: WorkspacePaths.InstanceRef,
    extension: string
  ) => Effect.Effect<Option.Option<State>, ExtensionStateError>
  /** Writes the state atomically; `false` when the file already held exactly this content. */
  readonly set: (
    instance: WorkspacePaths.InstanceRef,
    extension: string,
    value: unknown
  ) => Effect.Effect<boolean, ExtensionStateError>
  /** Removes the extension's state (idempotent). */
  readonly remove: (
    instance: WorkspacePaths.InstanceRef,
    extension: string
  ) => Effect.Effect<void, AtomicFile.StorageIoError>
}

/**
 * The extension state service.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { ExtensionState } from "effect-swarm"
 *
 * const instance = { workspaceId: "default", agentName: "coder", instanceKey: "thread-1" }
 * const program = Effect.gen(function*() {
 *   const state = yield* ExtensionState.ExtensionState
 *   yield* state.set(instance, "counter", { count: 42 })
 *   return yield* state.get(instance, "counter") // Option.some({ count: 42 })
 * }).pipe(Effect.provide(ExtensionState.layer({ root: "/tmp/swarm" })), Effect.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ExtensionState extends Context.Tag("effect-swarm/ExtensionState")<ExtensionState, Service>() {}

const isJson = Schema.is(Json)

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value !== "object") return `a ${typeof value}`
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return `an instance of ${proto?.constructor?.name ?? "a class"}`
  return "an object containing a non-JSON value"
}

const isPlainObject = (value: unknown): value is State =>
  typeof value === "object" && value !== null && !Array.isArray(value) && isJson(value)

/**
 * Builds the service over a state root (default: `StateRoot.resolve`).
 *
 * @example
 * ```ts
 * import { ExtensionState } from "effect-swarm"
 * const state = ExtensionState.make({ root: "/tmp/swarm" }) // Effect<Service, never, FileSystem>
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
    const fileOf = (instance: WorkspacePaths.InstanceRef, extension: string) =>
      WorkspacePaths.instance(root, instance).extension(extension)

    const readRaw = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "NotFound",
          () => Effect.succeed(Option.none<string>())
        ),
        AtomicFile.io(file, "read")
      )

    const get = Effect.fn("ExtensionState.get")(function*(instance: WorkspacePaths.InstanceRef, extension: string) {
      const file = fileOf(instance, extension)
      const raw = yield* readRaw(file)
      if (Option.isNone(raw)) return Option.none<State>()
      let parsed: unknown
      try {
        parsed = JSON.parse(raw.value)
      } catch (e) {
        return yield* new ExtensionStateCorrupt({
          extension,
          file,
          reason: `invalid JSON: ${e instanceof Error ? e.message : String(e)}`
        })
      }
      if (!isPlainObject(parsed)) {
        return yield* new ExtensionStateCorrupt({
          extension,
          file,
          reason: `expected an object, found ${describe(parsed)}`
        })
      }
      return Option.some(parsed)
    })

    const set = Effect.fn("ExtensionState.set")(
      function*(instance: WorkspacePaths.InstanceRef, extension: string, value: unknown) {
        if (!isPlainObject(value)) {
          return yield* new ExtensionStateNotObject({ extension, received: describe(value) })
        }
        const file = fileOf(instance, extension)
        const content = JSON.stringify(value, null, 2) + "\n"
        const current = yield* readRaw(file)
        if (Option.isSome(current) && current.value === content) return false
        yield* AtomicFile.write(fs, file, content)
        return true
      }
    )

    const remove = Effect.fn("ExtensionState.remove")(
      function*(instance: WorkspacePaths.InstanceRef, extension: string) {
        const file = fileOf(instance, extension)
        yield* fs.remove(file, { force: true }).pipe(AtomicFile.io(file, "remove"))
      }
    )

    return ExtensionState.of({ get, set, remove })
  })

/**
 * The service as a layer. `root` defaults to the state root.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { ExtensionState } from "effect-swarm"
 * const StateLive = ExtensionState.layer({ root: "/srv/swarm" }).pipe(Layer.provide(NodeFileSystem.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: {
  readonly root?: string | undefined
}): Layer.Layer<ExtensionState, never, FileSystem.FileSystem> => Layer.effect(ExtensionState, make(options))
