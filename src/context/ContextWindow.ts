/**
 * The context window as a step middleware: at each step it builds the view of the conversation the
 * model gets (the log keeps everything), puts it in the step's metadata for the core to send, and
 * reports it in `step.started` (`llmInputMessages` and `context`: sizes, what was left out, summarised
 * or truncated). Replace it by registering your own step middleware that calls {@link setView}.
 *
 * The view always holds the system prompt (sent beside it, counted against the window), every pinned
 * message, and never an assistant's tool calls without their results or a result without its call.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Message } from "../conversation/Message.js"
import * as MessageEvent from "../conversation/MessageEvent.js"
import type { ContextView } from "../event/RuntimeEvent.js"
import type * as Model from "../model/Model.js"
import * as LlmInput from "../pipeline/LlmInput.js"
import { MiddlewareError, type StepContext, type StepMiddleware } from "../pipeline/Middleware.js"
import type * as ContextPolicy from "./ContextPolicy.js"
import * as Index from "./internal/index.js"
import * as Plan from "./internal/plan.js"
import * as Summary from "./internal/summary.js"
import * as Tokens from "./Tokens.js"

/**
 * The step metadata key holding the messages the core sends to the model.
 *
 * @since 0.1.0
 * @category constants
 */
export const viewKey = "runtime.context.messages"

/**
 * The message metadata flag that keeps a message in every view.
 *
 * @since 0.1.0
 * @category constants
 */
export const pinnedKey = Index.pinnedKey

/**
 * The runtime-event record type of a fold of the running summary.
 *
 * @since 0.1.0
 * @category constants
 */
export const summaryRecordType = Summary.recordType

/**
 * A fold of the running summary, as recorded in the log.
 *
 * @since 0.1.0
 * @category models
 */
export type SummaryRecord = Summary.Summary

/**
 * Reads a fold back from a runtime-event record (`undefined` for other records).
 *
 * @since 0.1.0
 * @category constructors
 */
export const summaryFromRecord = Summary.fromRecord

/**
 * The record fields of a fold.
 *
 * @since 0.1.0
 * @category constructors
 */
export const summaryToRecord = Summary.toRecord

/**
 * The newest turn does not fit the model's window, even with every older message left out (and, when
 * `onOverflow: truncate-tool-results`, with every tool result cut). The step middleware fails with a
 * `MiddlewareError` whose `cause` is this error (see {@link overflowOf}); `Turn.run` unwraps it, so the
 * turn fails with this error itself.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContextOverflow extends Schema.TaggedError<ContextOverflow>("effect-swarm/ContextOverflow")(
  "ContextOverflow",
  {
    agent: Schema.String,
    windowTokens: Schema.Number,
    reserveTokens: Schema.Number,
    budgetTokens: Schema.Number,
    requiredTokens: Schema.Number,
    systemTokens: Schema.Number,
    toolTokens: Schema.Number,
    pinnedTokens: Schema.Number,
    turnTokens: Schema.Number,
    onOverflow: Schema.String
  }
) {
  override get message(): string {
    // A part that alone takes the whole budget: no cut of the turn or of tool results can help.
    const alone = (
      [
        [
          "the pinned messages",
          this.pinnedTokens,
          "unpin some (AgentInstance.pin(agent, id, false), or ContextWindow.pin(message, false) from an extension " +
          "or middleware) or pin smaller messages"
        ],
        ["the system prompt", this.systemTokens, "shorten the system prompt or use a model with a larger window"],
        [
          "the tool definitions",
          this.toolTokens,
          "offer fewer or smaller tools per step (a step middleware can narrow ctx.toolCatalog) or use a model " +
          "with a larger window"
        ]
      ] as const
    ).find(([, tokens]) => tokens >= this.budgetTokens)
    if (alone !== undefined) {
      return `${this.agent}: the newest turn does not fit the context window: ${alone[0]} alone need about ${
        alone[1]
      } tokens, and the window of ${this.windowTokens} leaves ${this.budgetTokens} after the reply reserve of ${this.reserveTokens} (in all about ${this.requiredTokens}: system prompt ${this.systemTokens}, tools ${this.toolTokens}, pinned messages ${this.pinnedTokens}, newest turn ${this.turnTokens}); ${
        alone[2]
      }`
    }
    return `${this.agent}: the newest turn does not fit the context window: it needs about ${this.requiredTokens} tokens (system prompt ${this.systemTokens}, tools ${this.toolTokens}, pinned messages ${this.pinnedTokens}, newest turn ${this.turnTokens}) but the window of ${this.windowTokens} leaves ${this.budgetTokens} after the reply reserve of ${this.reserveTokens}; ${
      this.onOverflow === "fail"
        ? "set spec.context.onOverflow: truncate-tool-results to cut the largest tool results, use a model with a larger window, or make the tools return less"
        : "even the tool results cut to their minimum do not fit: use a model with a larger window or shorten the system prompt, tools or pinned messages"
    }`
  }
}

/**
 * The `ContextOverflow` behind a step failure, if that is what it is.
 *
 * @example
 * ```ts
 * import { ContextWindow } from "effect-swarm"
 * declare const error: unknown
 * const overflow = ContextWindow.overflowOf(error) // ContextOverflow | undefined
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const overflowOf = (error: unknown): ContextOverflow | undefined => {
  if (error instanceof ContextOverflow) return error
  if (error instanceof MiddlewareError && error.cause instanceof ContextOverflow) return error.cause
  return undefined
}

/**
 * The messages a step middleware chose for the model, if one did.
 *
 * @example
 * ```ts
 * import { ContextWindow, type Middleware } from "effect-swarm"
 * declare const ctx: Middleware.StepContext
 * ContextWindow.viewOf(ctx) // undefined: the core sends the whole conversation
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const viewOf = (ctx: { readonly metadata: Record<string, unknown> }): ReadonlyArray<Message> | undefined => {
  const v = ctx.metadata[viewKey]
  return Array.isArray(v) ? v as ReadonlyArray<Message> : undefined
}

/**
 * Sets the messages the model gets in this step (and what `step.started.llmInputMessages` shows): the
 * seam for a custom context policy.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ContextWindow, type Middleware } from "effect-swarm"
 * // Send only the last 20 messages (a custom policy must keep tool calls with their results itself).
 * const last20: Middleware.StepMiddleware = (ctx, next) =>
 *   Effect.flatMap(ctx.conversation.get, (c) => {
 *     ContextWindow.setView(ctx, c.messages.slice(-20))
 *     return next
 *   })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const setView = (
  ctx: { metadata: Record<string, unknown> },
  messages: ReadonlyArray<Message>,
  options?: { readonly report?: ContextView | undefined; readonly system?: string | undefined }
): void => {
  ctx.metadata[viewKey] = messages
  const system = options?.system
  ctx.metadata[LlmInput.metadataKey] = LlmInput.summarize(
    system === undefined || system === ""
      ? messages
      : [systemMessage(system), ...messages.slice(-(LlmInput.maxMessages - 1))]
  )
  if (options?.report !== undefined) ctx.metadata[LlmInput.contextKey] = options.report
}

const systemMessage = (text: string): Message => ({
  id: "system-prompt",
  data: { role: "system", content: text },
  metadata: {},
  createdAt: new Date(0),
  source: { type: "system" }
})

/**
 * A `replace` draft that pins a message (or unpins it with `pinned: false`): emit it through a step or
 * turn context (`ctx.emitMessageEvent`), an extension, or `MessageStore.append`.
 *
 * @example
 * ```ts
 * import { ContextWindow } from "effect-swarm"
 * declare const message: import("effect-swarm").Message.Message
 * const draft = ContextWindow.pin(message)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const pin = (message: Message, pinned = true): MessageEvent.Draft => {
  const { [pinnedKey]: _, ...rest } = message.metadata
  return MessageEvent.replace(message.id, { ...message, metadata: pinned ? { ...rest, [pinnedKey]: true } : rest })
}

/**
 * What the middleware needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly policy: ContextPolicy.Policy
  /** Makes the summaries of `summarize`; its provider picks the default estimate. */
  readonly model: Model.Service
  /** Replaces the default estimate (`Tokens.estimate(model.provider)`). */
  readonly tokenizer?: Tokens.Tokenizer | undefined
  /** The system prompt sent beside the messages (counted against the window). */
  readonly system?: string | undefined
  /** Names the agent in errors. */
  readonly agent?: string | undefined
  /** The folds recorded so far (from the log), oldest first. */
  readonly summaries?: ReadonlyArray<SummaryRecord> | undefined
  /** Records a fold in the log (durable on return). */
  readonly saveSummary?:
    | ((ctx: StepContext, summary: SummaryRecord) => Effect.Effect<void, MiddlewareError>)
    | undefined
}

/**
 * The running state of one middleware (one instance's conversation).
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly index: Index.Index
  /** The factor applied to estimates, from the last reported input tokens (1 until calibrated). */
  calibration: number
  summary: SummaryRecord | undefined
  /** Where the summary's last message was last found. */
  summaryAt: number
  /** Folds made by this middleware (not those read back from the log). */
  folds: number
}

/**
 * The context window step middleware for an instance. With strategy `all` it passes every step
 * through unchanged.
 *
 * @example
 * ```ts
 * import { Effect, Either } from "effect"
 * import { ContextPolicy, ContextWindow, Model, Pipeline } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const model = yield* Model.Model
 *   const policy = Either.getOrThrow(ContextPolicy.resolve({ agent: "a", agentSpec: { strategy: "window", windowTokens: 8192 } }))
 *   const pipeline = yield* Pipeline.make()
 *   yield* pipeline.register("step", ContextWindow.middleware({ policy, model }).middleware, { name: "context-window" })
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const middleware = (options: Options): { readonly middleware: StepMiddleware; readonly state: State } => {
  const tokenizer = options.tokenizer ?? Tokens.estimate(options.model.provider)
  const state: State = {
    index: Index.make(),
    calibration: 1,
    summary: options.summaries?.at(-1),
    summaryAt: 0,
    folds: 0
  }
  const counter = Tokens.counter(tokenizer)
  const run: StepMiddleware = (ctx, next) => {
    if (options.policy.strategy === "all") return next
    return Effect.gen(function*() {
      const planned = yield* Plan.plan(options, state, counter, ctx, (fields) => new ContextOverflow(fields))
      setView(ctx, planned.view, { report: planned.report, system: options.system })
      const result = yield* next
      const reported = result.tokenUsage?.promptTokens
      if (!tokenizer.exact && reported !== undefined && reported > 0 && planned.raw > 0) {
        const ratio = Math.min(4, Math.max(0.25, reported / planned.raw))
        // Undercounts correct at once; overcounts relax halfway (a cautious window costs less than a failed call).
        state.calibration = ratio >= state.calibration ? ratio : (ratio + state.calibration) / 2
      }
      return result
    })
  }
  return { middleware: run, state }
}
