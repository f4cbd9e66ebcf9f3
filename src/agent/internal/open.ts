/**
 * Building an instance: its own pipeline, tool registry and executor, its log read back from storage
 * (durable on the workspace stores, or in memory), and for a durable one the sink that persists the
 * step and tool events its pipeline publishes.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import type * as ContextPolicy from "../../context/ContextPolicy.js"
import * as ContextWindow from "../../context/ContextWindow.js"
import type * as Tokens from "../../context/Tokens.js"
import type * as Conversation from "../../conversation/Conversation.js"
import * as EventBus from "../../event/EventBus.js"
import type { RuntimeEvent } from "../../event/RuntimeEvent.js"
import * as Extension from "../../extension/Extension.js"
import { ExtensionLoadError } from "../../extension/ExtensionError.js"
import * as MemoryState from "../../extension/internal/memoryState.js"
import type * as Model from "../../model/Model.js"
import type { AgentsApi, RuntimeInfo } from "../../pipeline/Middleware.js"
import * as Pipeline from "../../pipeline/Pipeline.js"
import * as ToolExecutor from "../../tool/ToolExecutor.js"
import * as ToolRegistry from "../../tool/ToolRegistry.js"
import { ExtensionState, type ExtensionStateError } from "../../workspace/ExtensionState.js"
import * as LeanScope from "../../workspace/internal/leanScope.js"
import type { EventRecord } from "../../workspace/RuntimeEventLog.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type { PolicyError, TurnStorageError } from "../AgentError.js"
import * as Policy from "../Policy.js"
import * as Context from "./context.js"
import type { AgentInstance, ApprovalPredicate, ToolSettings } from "./instance.js"
import * as Log from "./log.js"
import * as Storage from "./storage.js"

/**
 * Options of `AgentInstance.make` and `AgentInstance.makeInMemory`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly ref: InstanceRef
  /** The model (for example `yield* Model.Model`, or `Model.make(resource)`). */
  readonly model: Model.Service
  /** The system prompt (`prompt.system`, or the text of `prompt.systemRef`; see `Bundle.systemPrompt`). */
  readonly system?: string | undefined
  /** The Agent's `spec.modelConfig.params` (`providerOptions` values must be JSON). */
  readonly params?:
    | Omit<Model.CallParams, "providerOptions"> & {
      readonly providerOptions?: { readonly [key: string]: unknown } | undefined
    }
    | undefined
  /** The budget policy (see `Policy.resolve`); defaults to `Policy.defaults`. */
  readonly policy?: Policy.Policy | undefined
  /** Per tool name: `idempotent`, `needsApproval` (from the Tool exports). */
  readonly tools?: { readonly [toolName: string]: ToolSettings } | undefined
  /** A policy predicate on tool calls: `true` or a reason pauses the turn for approval. */
  readonly needsApproval?: ApprovalPredicate | undefined
  readonly executor?: ToolExecutor.Options | undefined
  readonly pipeline?: Pipeline.Options | undefined
  readonly runtime?: RuntimeInfo | undefined
  readonly agents?: AgentsApi | undefined
  /**
   * The context window policy (see `ContextPolicy.resolve`); absent or `all` sends the whole conversation.
   * Any other strategy registers the `context-window` step middleware.
   */
  readonly context?: ContextPolicy.Policy | undefined
  /** Replaces the context window's default token estimate. */
  readonly tokenizer?: Tokens.Tokenizer | undefined
  /**
   * Extensions to load into the instance's own pipeline, tool registry and state, once, in order
   * (`Extension.definitions(bundle, agent)` reads an Agent's). Their state is saved at the end of every
   * turn when it changed; they are disposed when the instance's scope closes.
   */
  readonly extensions?: ReadonlyArray<Extension.Definition> | undefined
  /** How long one extension's `register` may take (default 30 seconds, on `Clock`). */
  readonly registerTimeout?: Duration.DurationInput | undefined
}

/** Opens another instance like this one under `ref` (what `fork` uses). */
export type Reopen = (
  ref: InstanceRef
) => Effect.Effect<AgentInstance, TurnStorageError | ExtensionLoadError | ExtensionStateError | PolicyError>

const build = (
  options: Options,
  storage: Storage.Storage,
  open: Reopen,
  observe?: (event: RuntimeEvent) => void
) =>
  Effect.gen(function*() {
    const pipeline = yield* (observe === undefined ? Pipeline.make(options.pipeline) : Effect.flatMap(
      EventBus.EventBus,
      (bus) => Pipeline.make(options.pipeline).pipe(Effect.provideService(EventBus.EventBus, observing(bus, observe)))
    ))
    const policy = yield* Policy.check(options.policy ?? Policy.defaults)
    const tools = yield* ToolRegistry.make
    const executor = yield* ToolExecutor.make(options.executor).pipe(
      Effect.provideService(ToolRegistry.ToolRegistry, tools)
    )
    const log = Log.emptyLog()
    // Only the records the loop and the context window read: a long-lived log is mostly step and tool events.
    const records = yield* storage.recordsOf(
      options.context === undefined ? Log.recordTypes : new Set([...Log.recordTypes, ContextWindow.summaryRecordType])
    )
    for (const r of records) Log.applyRecord(log, r)
    const conversation = yield* Ref.make(yield* storage.load)
    const settings = options.tools ?? {}
    const instance: AgentInstance = {
      ref: options.ref,
      label: Storage.label(options.ref),
      system: options.system,
      model: options.model,
      params: options.params as Model.CallParams | undefined,
      policy,
      pipeline,
      tools,
      executor,
      toolSettings: (name) => settings[name] ?? {},
      needsApproval: options.needsApproval,
      runtime: options.runtime ?? { agent: { name: options.ref.agentName, prompt: { system: options.system } } },
      agents: options.agents,
      state: {
        storage,
        conversation,
        log,
        lock: yield* Effect.makeSemaphore(1),
        messageId: yield* messageIds,
        open,
        staged: [],
        stagedAfter: 0,
        extensions: undefined
      }
    }
    if (options.context !== undefined) yield* Context.install(instance, options.context, records, options.tokenizer)
    return instance
  })

const idPart = 36 ** 6

/** The instance's message id generator: a random prefix per open instance, then a counter. */
const messageIds: Effect.Effect<(ms: number) => string> = Effect.map(Random.nextIntBetween(0, idPart), (prefix) => {
  const head = prefix.toString(36).padStart(6, "0")
  let counter = 0
  return (ms: number) => {
    counter = (counter + 1) % idPart
    return `msg-${ms.toString(36)}-${head}${counter.toString(36).padStart(6, "0")}`
  }
})

/** The bus, with every event the instance's pipeline publishes also handed to `observe` as it is published. */
const observing = (bus: EventBus.Service, observe: (event: RuntimeEvent) => void): EventBus.Service => ({
  ...bus,
  publish: (event) =>
    Effect.sync(() => {
      observe(event)
      bus.unsafePublish(event)
    }),
  unsafePublish: (event) => {
    observe(event)
    bus.unsafePublish(event)
  }
})

/**
 * A durable instance on the workspace stores. The step and tool events its pipeline publishes are
 * collected as they are published (not through an asynchronous bus sink) and written in the same append
 * as the loop's next record; the loop writes what is left when a turn ends, however it ends (see
 * `Storage.durable`). So nothing is left to write when the instance closes, which matters: its scope may
 * close after the stores' (an instance kept by an outer scope, as McpServe does), and a write then would
 * reopen the instance's log in the log's closed scope.
 */
export const durable = (options: Options, open: Reopen) =>
  Effect.gen(function*() {
    const observed: Array<EventRecord> = []
    const storage = yield* Storage.durable(options.ref, observed)
    const instance = yield* build(options, storage, open, (event) => {
      if (!event.type.startsWith("turn.")) observed.push(event)
    })
    // Events published outside a turn (none today) are written if the instance closes before the next record.
    yield* LeanScope.addFinalizer(() =>
      observed.length === 0 ? Effect.void : storage.record([]).pipe(
        Effect.catchAll((e) => Effect.logWarning(`${instance.label}: step and tool events not written`, e)),
        Effect.interruptible
      )
    )
    return instance
  })

/** An instance whose log lives in memory; its extensions' state too. */
export const memory = (options: Options, open: Reopen, initial?: Conversation.Conversation) =>
  Effect.gen(function*() {
    const storage = yield* Storage.memory(initial)
    // The in-memory storage never fails.
    const instance = yield* build(options, storage, open).pipe(
      Effect.catchTag("TurnStorageError", (e) => Effect.die(e))
    )
    yield* loadExtensions(instance, options).pipe(
      Effect.provideService(ExtensionState, MemoryState.make())
    )
    return instance
  })

/**
 * Loads `options.extensions` into the instance's own pipeline and registry (once; the environment is
 * disposed with the scope). The loop saves their state at the end of every turn.
 */
export const loadExtensions = (
  instance: AgentInstance,
  options: Pick<Options, "extensions" | "registerTimeout">
): Effect.Effect<void, ExtensionLoadError | ExtensionStateError, EventBus.EventBus | Scope.Scope> => {
  const extensions = options.extensions ?? []
  if (extensions.length === 0 || instance.state.extensions !== undefined) return Effect.void
  return Effect.gen(function*() {
    // Needed only when there are extensions, so an instance without them does not require the service.
    const state = yield* Effect.serviceOption(ExtensionState)
    if (Option.isNone(state)) {
      const first = extensions[0]!
      return yield* new ExtensionLoadError({
        code: "E_EXT_NO_STATE",
        extension: first.name,
        file: path.resolve(first.entry),
        resourceFile: first.resourceFile,
        reason: `${instance.label} was given extensions but no ExtensionState service to keep their state`,
        suggestion:
          "provide ExtensionState.layer({ root }) with the other workspace stores (AgentInstance.fromBundle " +
          "requires it), or use AgentInstance.makeInMemory"
      })
    }
    instance.state.extensions = yield* Extension.load({
      extensions,
      instance: instance.ref,
      pipeline: instance.pipeline,
      registry: instance.tools,
      registerTimeout: options.registerTimeout
    }).pipe(Effect.provideService(ExtensionState, state.value))
  })
}
