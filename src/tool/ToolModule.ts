/**
 * In-process tool modules: a Tool resource's `entry` imported into this process, one handler per
 * declared export (goondan T8).
 *
 * Module shapes accepted (first match wins): `export const handlers = { name: fn }`,
 * `export default { handlers: { name: fn } }`, `export default { name: fn }`, and plain named exports
 * (`export function name(...)`). Lookup uses own properties only, so `toString` or `constructor` never
 * count as handlers. Every declared export must have a handler, and all missing ones are reported at
 * once.
 *
 * A handler receives `(args, ctx)` and may return a value, a Promise or an Effect (failing with
 * anything: it is converted to a `ToolFailure`). `ctx` is the call's `ToolContext` plus a `logger`
 * (through Effect's logger, annotated with the tool call) and an `AbortSignal` that fires when the call
 * times out or the turn is interrupted.
 *
 * Sandboxed tools (a Tool with `spec.runtime`) are run by `ToolRuntime`, which registers its own
 * handlers of the same type.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as LogLevel from "effect/LogLevel"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import * as EntryModule from "../resource/EntryModule.js"
import type { ToolResource } from "../resource/Resource.js"
import type { JsonSchema, ToolCatalogItem } from "./ToolCatalog.js"
import * as ToolError from "./ToolError.js"
import * as ToolName from "./ToolName.js"
import type { EntryOptions, ToolContext, ToolHandler } from "./ToolRegistry.js"
import { ToolRegistry } from "./ToolRegistry.js"

/**
 * One declared export.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportDeclaration {
  readonly name: string
  readonly description?: string | undefined
  readonly parameters?: JsonSchema | undefined
}

/**
 * What loading needs: the structural part of a Tool resource.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition {
  /** The Tool resource's name (the part before `__`). */
  readonly resourceName: string
  /** The module file, absolute or relative to the working directory. */
  readonly entry: string
  readonly exports: ReadonlyArray<ExportDeclaration>
  readonly errorMessageLimit?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A loaded tool: catalog item, handler and per-tool options.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadedTool {
  readonly item: ToolCatalogItem
  readonly handler: ToolHandler
  readonly options: EntryOptions
}

/**
 * A loaded module.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded {
  readonly resourceName: string
  readonly entry: string
  readonly tools: ReadonlyArray<LoadedTool>
}

/**
 * A tool module could not be loaded or does not provide its declared exports.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolModuleError extends Schema.TaggedError<ToolModuleError>("effect-swarm/ToolModuleError")(
  "ToolModuleError",
  {
    resourceName: Schema.String,
    entry: Schema.String,
    message: Schema.String,
    missing: Schema.optional(Schema.Array(Schema.String)),
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * The logger handed to plain-function handlers; it writes through Effect's logger.
 *
 * @since 0.1.0
 * @category models
 */
export interface Logger {
  readonly debug: (...message: ReadonlyArray<unknown>) => void
  readonly info: (...message: ReadonlyArray<unknown>) => void
  readonly warn: (...message: ReadonlyArray<unknown>) => void
  readonly error: (...message: ReadonlyArray<unknown>) => void
}

/**
 * What a module handler receives as its second argument.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerContext extends ToolContext {
  readonly logger: Logger
  /** Aborted when the call times out or its turn is interrupted. */
  readonly signal: AbortSignal
}

type Fn = (args: unknown, ctx: HandlerContext) => unknown

const own = (obj: unknown, key: string): unknown =>
  obj !== null && (typeof obj === "object" || typeof obj === "function") && Object.hasOwn(obj, key)
    ? (obj as Record<string, unknown>)[key]
    : undefined

const isRecord = (u: unknown): u is Record<string, unknown> => u !== null && typeof u === "object"

/**
 * Finds the handler table of a module namespace: `handlers`, `default.handlers`, `default`, or the
 * namespace itself.
 *
 * @since 0.1.0
 * @category loading
 */
export const handlerTable = (mod: unknown): Record<string, unknown> => {
  const handlers = own(mod, "handlers")
  if (isRecord(handlers)) return handlers
  const def = own(mod, "default")
  const defHandlers = own(def, "handlers")
  if (isRecord(defHandlers)) return defHandlers
  if (isRecord(def)) return def
  return isRecord(mod) ? mod : {}
}

const makeLogger = (runtime: Runtime.Runtime<never>, toolName: string, toolCallId: string): Logger => {
  const run = (level: LogLevel.LogLevel) => (...message: ReadonlyArray<unknown>) =>
    Runtime.runSync(runtime)(
      Effect.logWithLevel(level, ...message).pipe(Effect.annotateLogs({ toolName, toolCallId }))
    )
  return {
    debug: run(LogLevel.Debug),
    info: run(LogLevel.Info),
    warn: run(LogLevel.Warning),
    error: run(LogLevel.Error)
  }
}

/**
 * Adapts a plain function (returning a value, a Promise or an Effect) to a {@link ToolHandler}. The
 * function is called when the handler is invoked, so a synchronous result is an already-completed
 * effect and the executor needs no timer for it. `runtime` is where the handler's `ctx.logger` writes
 * (the default runtime when omitted; `load` passes the runtime it ran in).
 *
 * @example
 * ```ts
 * import { ToolModule } from "effect-swarm"
 * const handler = ToolModule.fromFunction(async (args: any) => ({ sum: args.a + args.b }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFunction =
  (fn: Fn, runtime: Runtime.Runtime<never> = Runtime.defaultRuntime): ToolHandler => (args, context) => {
    const controller = new AbortController()
    const ctx: HandlerContext = {
      ...context,
      logger: makeLogger(runtime, context.toolName, context.toolCallId),
      signal: controller.signal
    }
    let out: unknown
    // Called synchronously on purpose (see above); a throw is the tool's failure, not a defect.
    try {
      out = fn(args, ctx)
    } catch (thrown) {
      return Exit.fail(ToolError.fromUnknown(thrown))
    }
    // Promise and Effect handlers can be stopped only by telling them: abort the signal on interruption.
    const abortOnInterrupt = Effect.onInterrupt(() => Effect.sync(() => controller.abort()))
    if (Effect.isEffect(out)) {
      return (out as Effect.Effect<unknown, unknown>).pipe(
        Effect.catchAll((e) => Effect.fail(ToolError.fromUnknown(e))),
        abortOnInterrupt
      )
    }
    if (Predicate.isPromiseLike(out)) {
      return Effect.tryPromise({ try: () => Promise.resolve(out), catch: ToolError.fromUnknown }).pipe(abortOnInterrupt)
    }
    return Exit.succeed(out)
  }

/**
 * Imports a tool module and binds a handler to every declared export. The catalog names are
 * `{resourceName}__{export}`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolModule } from "effect-swarm"
 * const program = ToolModule.load({
 *   resourceName: "math",
 *   entry: "/abs/path/tools/math.mjs",
 *   exports: [{ name: "add", parameters: { type: "object", required: ["a", "b"] } }]
 * })
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const load = Effect.fn("ToolModule.load")(function*(definition: Definition) {
  const entry = path.resolve(definition.entry)
  const runtime = yield* Effect.runtime<never>()
  const fail = (message: string, extra?: { missing?: ReadonlyArray<string>; cause?: unknown }) =>
    new ToolModuleError({ resourceName: definition.resourceName, entry, message, ...extra })
  // At its content version: an edited entry (`run --watch`) is imported again, an unchanged one never is.
  const { module: mod } = yield* EntryModule.load(entry).pipe(
    Effect.mapError((e) =>
      fail(`Tool/${definition.resourceName}: cannot import ${entry}: ${e.reason}`, { cause: e.cause })
    )
  )
  const table = handlerTable(mod)
  const missing: Array<string> = []
  const tools: Array<LoadedTool> = []
  const options: EntryOptions = {
    ...(definition.errorMessageLimit === undefined ? {} : { errorMessageLimit: definition.errorMessageLimit }),
    ...(definition.timeout === undefined ? {} : { timeout: Duration.decode(definition.timeout) })
  }
  for (const declared of definition.exports) {
    const fn = own(table, declared.name)
    if (typeof fn !== "function") {
      missing.push(declared.name)
      continue
    }
    const name = yield* ToolName.make(definition.resourceName, declared.name).pipe(
      Effect.mapError((e) => fail(`Tool/${definition.resourceName}: ${e.message}`))
    )
    tools.push({
      item: {
        name,
        description: declared.description,
        parameters: declared.parameters,
        source: { type: "config", name: definition.resourceName }
      },
      handler: fromFunction(fn as Fn, runtime),
      options
    })
  }
  if (missing.length > 0) {
    return yield* Effect.fail(fail(
      `Tool/${definition.resourceName}: no handler for ${
        missing.map((m) => `'${m}'`).join(", ")
      } in ${entry} (looked in export const handlers, default.handlers, default export, named exports)`,
      { missing }
    ))
  }
  const loaded: Loaded = { resourceName: definition.resourceName, entry, tools }
  return loaded
})

/**
 * Registers every tool of a loaded module.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolModule, ToolRegistry } from "effect-swarm"
 * const program = Effect.flatMap(ToolModule.load(definition), ToolModule.register)
 *   .pipe(Effect.provide(ToolRegistry.layer))
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const register = (loaded: Loaded): Effect.Effect<void, ToolName.ToolNameError, ToolRegistry> =>
  Effect.flatMap(
    ToolRegistry,
    (registry) =>
      Effect.forEach(loaded.tools, (tool) => registry.register(tool.item, tool.handler, tool.options), {
        discard: true
      })
  )

/**
 * The {@link Definition} of a decoded Tool resource, with `entry` resolved against the bundle root.
 * Pass `entryFile` (a `Bundle.Entry`'s, which is the file `Bundle.load` validated: a compiled `.js` beside
 * a `.ts` entry when there is one) so that what runs is what was validated.
 * The timeout is the resource's `spec.runtime.timeout` when it has one.
 *
 * @example
 * ```ts
 * import { ToolModule } from "effect-swarm"
 * const definition = ToolModule.fromResource(tool.resource, tool.rootDir, { entryFile: tool.entryFile })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromResource = (
  resource: ToolResource,
  bundleRoot: string,
  options?: { readonly entryFile?: string | undefined }
): Definition => ({
  resourceName: resource.metadata.name,
  entry: options?.entryFile ?? path.resolve(bundleRoot, resource.spec.entry),
  exports: resource.spec.exports.map((e) => ({
    name: e.name,
    description: e.description,
    parameters: e.parameters as JsonSchema
  })),
  errorMessageLimit: resource.spec.errorMessageLimit,
  timeout: resource.spec.runtime?.timeout
})
