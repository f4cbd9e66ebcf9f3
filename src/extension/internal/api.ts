/**
 * The api object one extension's `register` receives, bound to one instance, and what disposing it
 * undoes: its middlewares step aside, its tools are unregistered, its handlers removed, its disposers
 * run (last first).
 *
 * @since 0.1.0
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type { Kind } from "../../pipeline/Middleware.js"
import type * as Pipeline from "../../pipeline/Pipeline.js"
import * as ToolModule from "../../tool/ToolModule.js"
import type * as ToolRegistry from "../../tool/ToolRegistry.js"
import type { EventHandlerOptions, ExtensionApi, PipelineRegisterOptions, StateApi } from "../ExtensionApi.js"
import type { Hub } from "./events.js"
import { adapt, type AnyMiddleware, isAsyncFunction, messageOf } from "./middleware.js"

/** @internal */
export interface Bound {
  readonly api: ExtensionApi
  readonly addDisposer: (dispose: () => unknown) => void
  readonly dispose: Effect.Effect<void>
}

const makeLogger = (runtime: Runtime.Runtime<never>, annotations: Record<string, string>): ToolModule.Logger => {
  const run = (level: LogLevel.LogLevel) => (...message: ReadonlyArray<unknown>) =>
    Runtime.runSync(runtime)(Effect.logWithLevel(level, ...message).pipe(Effect.annotateLogs(annotations)))
  return {
    debug: run(LogLevel.Debug),
    info: run(LogLevel.Info),
    warn: run(LogLevel.Warning),
    error: run(LogLevel.Error)
  }
}

/** @internal */
export const make = (options: {
  readonly name: string
  readonly instance: { readonly agentName: string; readonly instanceKey: string }
  readonly pipeline: Pipeline.Service
  readonly registry: ToolRegistry.Service
  readonly runtime: Runtime.Runtime<never>
  readonly hub: Hub
  readonly state: StateApi
}): Bound => {
  const { hub, instance, name, pipeline, registry, runtime } = options
  const runSync = Runtime.runSyncExit(runtime)
  let active = true
  const tools: Array<string> = []
  const disposers: Array<() => unknown> = []
  const ensureActive = (what: string) => {
    if (!active) throw new Error(`extension ${name}: ${what} after its environment was disposed`)
  }
  // Registrations are synchronous effects; a failure (an invalid tool name) is thrown to the caller.
  const run = <A, E>(effect: Effect.Effect<A, E>): A => {
    const exit = runSync(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  }
  let counter = 0
  const api: ExtensionApi = {
    name,
    instance: { agentName: instance.agentName, instanceKey: instance.instanceKey },
    pipeline: {
      register: (kind: Kind, middleware: unknown, opts?: PipelineRegisterOptions) => {
        ensureActive("pipeline.register")
        if (typeof middleware !== "function") {
          throw new TypeError(
            `extension ${name}: pipeline.register(${kind}) needs a function, got ${typeof middleware}`
          )
        }
        if (kind !== "turn" && kind !== "step" && kind !== "toolCall") {
          throw new TypeError(`extension ${name}: unknown middleware kind '${String(kind)}' (turn, step or toolCall)`)
        }
        const label = `${name}/${opts?.name ?? `${kind}#${++counter}`}`
        const style = opts?.style ?? (isAsyncFunction(middleware) ? "promise" : "effect")
        const adapted = adapt(kind, middleware as AnyMiddleware, { name: label, style, active: () => active })
        run(pipeline.register(kind, adapted, { priority: opts?.priority, name: label }))
      }
    },
    tools: {
      register: (item, handler, opts) => {
        ensureActive("tools.register")
        if (typeof handler !== "function") {
          throw new TypeError(`extension ${name}: tools.register(${item?.name}) needs a handler function`)
        }
        // Replacing a tool this extension did not register would swap the agent's (a sandboxed Tool
        // resource's) or another extension's handler for this one, with only a warning in the log.
        const existing = registry.unsafeGet(item?.name)
        if (existing !== undefined && !tools.includes(item.name)) {
          const source = existing.item.source
          const owner = source === undefined
            ? "the agent"
            : source.type === "extension"
            ? `extension ${source.name}`
            : `the agent (${source.type} ${source.name})`
          throw new TypeError(
            `extension ${name}: tools.register(${item.name}): ${item.name} is already registered by ${owner}; ` +
              "an extension cannot replace another's tool: give yours another name, or wrap the existing one " +
              "with a toolCall middleware"
          )
        }
        run(registry.register(
          { ...item, source: item.source ?? { type: "extension", name } },
          ToolModule.fromFunction(handler as Parameters<typeof ToolModule.fromFunction>[0], runtime),
          opts
        ))
        if (!tools.includes(item.name)) tools.push(item.name)
      }
    },
    state: options.state,
    events: {
      on: (type: string, handler: (event: never) => unknown, opts?: EventHandlerOptions) => {
        ensureActive("events.on")
        if (typeof handler !== "function") {
          throw new TypeError(`extension ${name}: events.on(${type}) needs a handler function`)
        }
        let timeout: Duration.Duration | undefined
        if (opts?.timeout !== undefined) {
          const decoded = Duration.decodeUnknown(opts.timeout)
          if (Option.isNone(decoded) || Duration.toMillis(decoded.value) <= 0) {
            throw new TypeError(
              `extension ${name}: events.on(${type}): timeout ${
                String(opts.timeout)
              } is not a positive duration; give e.g. "2 minutes" or 120000 (ms), or Infinity for no deadline`
            )
          }
          timeout = decoded.value
        }
        return hub.on(name, type, handler as never, timeout)
      },
      emit: (eventName, payload) => {
        // Thrown, not rejected: a fire-and-forget emit must not become an unhandled rejection.
        ensureActive("events.emit")
        return hub.emit(name, eventName, payload)
      }
    },
    logger: makeLogger(runtime, { extension: name, agentName: instance.agentName, instanceKey: instance.instanceKey }),
    onDispose: (dispose) => {
      ensureActive("onDispose")
      disposers.push(dispose)
    }
  }

  const dispose = Effect.suspend(() => {
    active = false
    hub.removeAll(name)
    return Effect.forEach(tools, (tool) => registry.unregister(tool), { discard: true }).pipe(
      Effect.zipRight(
        Effect.forEach(disposers.slice().reverse(), (disposer) =>
          Effect.tryPromise({
            try: async () => await disposer(),
            catch: (e) => e
          }).pipe(
            Effect.catchAll((e) => Effect.logWarning(`extension ${name}: dispose failed: ${messageOf(e)}`))
          ), { discard: true })
      )
    )
  })

  return { api, addDisposer: (f) => void disposers.push(f), dispose }
}
