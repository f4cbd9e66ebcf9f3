/**
 * Building one extension environment: each entry imported and its `register(api, config)` called, in
 * order, with the event hub and state cells the extensions share (see `Extension.load`).
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as path from "node:path"
import * as EntryModule from "../../resource/EntryModule.js"
import { ExtensionState } from "../../workspace/ExtensionState.js"
import type { Definition, Environment, LoadOptions } from "../Extension.js"
import type { Register } from "../ExtensionApi.js"
import { ExtensionLoadError } from "../ExtensionError.js"
import * as Api from "./api.js"
import * as Events from "./events.js"
import { messageOf } from "./middleware.js"
import * as State from "./state.js"

const ownRegister = (mod: unknown): unknown => {
  const get = (obj: unknown, key: string): unknown =>
    obj !== null && (typeof obj === "object" || typeof obj === "function") && Object.hasOwn(obj, key)
      ? (obj as Record<string, unknown>)[key]
      : undefined
  const named = get(mod, "register")
  return named !== undefined ? named : get(get(mod, "default"), "register")
}

const importModule = (definition: Definition, file: string) =>
  // At its content version: an edited entry (`run --watch`) is imported again, an unchanged one never is.
  EntryModule.load(file).pipe(
    Effect.map((imported) => imported.module),
    Effect.mapError(({ cause, reason }) =>
      new ExtensionLoadError({
        code: "E_EXT_IMPORT",
        extension: definition.name,
        file,
        resourceFile: definition.resourceFile,
        reason: `cannot import the entry module (${reason})`,
        suggestion: "check that the file exists and is an ES module Node can import (a .ts entry needs a compiled " +
          ".js beside it, or a TypeScript loader such as tsx)",
        cause
      })
    )
  )

const invalidOption = (field: string, value: unknown, suggestion: string) =>
  new ExtensionLoadError({
    code: "E_EXT_OPTIONS",
    extension: "(all)",
    file: "(Extension.load options)",
    reason: `${field} is ${typeof value === "string" ? `'${value}'` : String(value)}`,
    suggestion
  })

const eventOptions = (options: LoadOptions): Effect.Effect<Events.Options, ExtensionLoadError> => {
  const handlerTimeout = options.handlerTimeout === undefined
    ? Option.some(Duration.seconds(30))
    : Duration.decodeUnknown(options.handlerTimeout)
  if (Option.isNone(handlerTimeout) || Duration.toMillis(handlerTimeout.value) <= 0) {
    return Effect.fail(invalidOption(
      "handlerTimeout",
      options.handlerTimeout,
      "give a positive duration such as \"30 seconds\" (Duration.infinity for no deadline)"
    ))
  }
  const maxEventChain = options.maxEventChain ?? 32
  if (!Number.isSafeInteger(maxEventChain) || maxEventChain < 1) {
    return Effect.fail(invalidOption("maxEventChain", options.maxEventChain, "give a whole number of at least 1"))
  }
  const maxPendingEvents = options.maxPendingEvents ?? 1024
  if (!Number.isSafeInteger(maxPendingEvents) || maxPendingEvents < 1) {
    return Effect.fail(
      invalidOption("maxPendingEvents", options.maxPendingEvents, "give a whole number of at least 1")
    )
  }
  return Effect.succeed({ handlerTimeout: handlerTimeout.value, maxEventChain, maxPendingEvents })
}

/**
 * Builds the environment in the current scope; on failure the caller closes the scope, disposing what the
 * earlier extensions registered.
 *
 * @internal
 */
export const build = (options: LoadOptions) =>
  Effect.gen(function*() {
    const { instance, pipeline, registry } = options
    const timeout = Duration.decode(options.registerTimeout ?? Duration.seconds(30))
    const hubOptions = yield* eventOptions(options)
    const runtime = yield* Effect.runtime<never>()
    const stateService = yield* ExtensionState
    const cells = State.make(stateService, instance)
    const names = new Set<string>()
    for (const definition of options.extensions) {
      if (names.has(definition.name)) {
        return yield* new ExtensionLoadError({
          code: "E_EXT_DUPLICATE",
          extension: definition.name,
          file: path.resolve(definition.entry),
          resourceFile: definition.resourceFile,
          reason: `the agent uses this extension twice (both would share extensions/${definition.name}.json)`,
          suggestion: "list each extension once in the Agent's spec.extensions, merging the configs"
        })
      }
      names.add(definition.name)
      yield* cells.load(definition.name)
    }
    // Saved last when the environment closes (finalizers run last-added first): after every disposer.
    yield* Effect.addFinalizer(() =>
      cells.save.pipe(Effect.catchAll((e) => Effect.logWarning(`extension state not saved at dispose: ${e.message}`)))
    )
    const hub = yield* Events.make(instance, hubOptions)

    for (const definition of options.extensions) {
      const file = path.resolve(definition.entry)
      const failure = (code: "E_EXT_LOAD" | "E_EXT_INIT", reason: string, suggestion: string, cause?: unknown) =>
        new ExtensionLoadError({
          code,
          extension: definition.name,
          file,
          resourceFile: definition.resourceFile,
          reason,
          suggestion,
          cause
        })
      const mod = yield* importModule(definition, file)
      const register = ownRegister(mod)
      if (typeof register !== "function") {
        return yield* failure(
          "E_EXT_LOAD",
          register === undefined
            ? "the module does not export register"
            : `register is ${typeof register}, not a function`,
          "export a named function: export function register(api, config) { ... } (or export default { register })"
        )
      }

      const bound = Api.make({
        name: definition.name,
        instance,
        pipeline,
        registry,
        runtime,
        hub,
        state: cells.api(definition.name)
      })
      const api = bound.api
      // Registered before `register` runs, so a register that fails half-way is undone too.
      yield* Effect.addFinalizer(() => bound.dispose)
      const returned = yield* Effect.tryPromise({
        try: () => Promise.resolve((register as Register)(api, definition.config)),
        catch: (cause) =>
          failure(
            "E_EXT_INIT",
            `register failed: ${messageOf(cause)}`,
            "fix the error in the extension's register function",
            cause
          )
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            failure(
              "E_EXT_INIT",
              `register did not finish within ${Duration.format(timeout)}`,
              "make register return (or resolve) once it has registered; start long work in a handler instead"
            )
        })
      )
      if (typeof returned === "function") bound.addDisposer(returned)
      else if (!Predicate.isNullable(returned)) {
        yield* Effect.logWarning(
          `extension ${definition.name}: register returned ${typeof returned}; only a dispose function is used`
        )
      }
    }

    // Closing: the events and records already queued reach the handlers before the extensions' disposers
    // remove them (finalizers run last-added first).
    yield* Effect.addFinalizer(() => Effect.interruptible(hub.drain))

    const environment: Environment = {
      extensions: options.extensions,
      saveState: cells.save,
      // A reserved name throws at the call: turned into nothing here, as a rejection was.
      emit: (eventName, payload) =>
        Effect.promise(async () => {
          try {
            await hub.emit("(host)", eventName, payload)
          } catch {
            // reserved name: nothing to deliver
          }
        }),
      deliverRecord: hub.deliverRecord
    }
    return environment
  })
