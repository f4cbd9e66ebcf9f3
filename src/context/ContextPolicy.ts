/**
 * The context window policy of an agent (`spec.context`, with the Swarm's `spec.context` as defaults):
 * the model's window in tokens, the reserve kept for the reply, and the strategy, `all` (the whole
 * conversation, as before), `window` (the newest messages that fit) or `summarize` (older turns folded
 * into a running summary made by a model call).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
export type Strategy = "all" | "window" | "summarize"

/**
 * What happens when the newest turn alone does not fit: fail the step with `ContextOverflow`, or cut
 * the largest tool results of the view first (each with a marker the model can read).
 *
 * @since 0.1.0
 * @category models
 */
export type OnOverflow = "fail" | "truncate-tool-results"

/**
 * A resolved policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly strategy: Strategy
  /** The model's context window, in tokens (required for `window` and `summarize`). */
  readonly windowTokens: number | undefined
  /** Tokens kept free for the model's reply. */
  readonly reserveTokens: number
  /** Share of the window kept free for estimate error (default 0.05). */
  readonly margin: number
  readonly onOverflow: OnOverflow
  /** `summarize`: the most tokens of the running summary. */
  readonly summaryTokens: number
  /** `summarize`: after a fold, the verbatim messages fill at most this share of the budget (default 0.5). */
  readonly keepRatio: number
  /** `summarize`: the instructions of the summary call (a default is used when absent). */
  readonly summaryPrompt?: string | undefined
}

/**
 * `spec.context` as written in YAML (every field optional; the Agent's fields override the Swarm's).
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly strategy?: Strategy | undefined
  readonly windowTokens?: number | undefined
  readonly reserveTokens?: number | undefined
  readonly margin?: number | undefined
  readonly onOverflow?: OnOverflow | undefined
  readonly summary?: {
    readonly maxTokens?: number | undefined
    readonly keepRatio?: number | undefined
    readonly prompt?: string | undefined
  } | undefined
}

/**
 * The policy could not be resolved: `window` or `summarize` without a known window, a window larger
 * than the Model's, a limit out of range, or a reserve that leaves nothing for the conversation.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContextConfigError extends Schema.TaggedError<ContextConfigError>("effect-swarm/ContextConfigError")(
  "ContextConfigError",
  { agent: Schema.String, field: Schema.String, detail: Schema.String, suggestion: Schema.String }
) {
  override get message(): string {
    return `${this.agent}: spec.context.${this.field}: ${this.detail}; ${this.suggestion}`
  }
}

/**
 * The policy when nothing is configured: the whole conversation, as before.
 *
 * @since 0.1.0
 * @category constants
 */
export const all: Policy = {
  strategy: "all",
  windowTokens: undefined,
  reserveTokens: 0,
  margin: 0.05,
  onOverflow: "fail",
  summaryTokens: 1000,
  keepRatio: 0.5
}

const wholeTokens = (agent: string, field: string, value: number | undefined, least: number) =>
  value === undefined || (Number.isSafeInteger(value) && value >= least) ? undefined : new ContextConfigError({
    agent,
    field,
    detail: `${value} is not a whole number of tokens of at least ${least}`,
    suggestion: `give a whole number, e.g. ${field}: ${field === "reserveTokens" ? 1024 : 8192}`
  })

const ratio = (agent: string, field: string, value: number | undefined, low: number, high: number) =>
  value === undefined || (value >= low && value < high) ? undefined : new ContextConfigError({
    agent,
    field,
    detail: `${value} is not a number in [${low}, ${high})`,
    suggestion: `give e.g. ${field}: ${field === "margin" ? 0.05 : 0.5}`
  })

// The checks of the YAML schema (resource/internal/resource/context.ts), for specs given in code.
const checkNumbers = (agent: string, spec: Spec): ContextConfigError | undefined =>
  wholeTokens(agent, "windowTokens", spec.windowTokens, 1) ??
    wholeTokens(agent, "reserveTokens", spec.reserveTokens, 0) ??
    ratio(agent, "margin", spec.margin, 0, 0.5) ??
    wholeTokens(agent, "summary.maxTokens", spec.summary?.maxTokens, 1) ??
    ratio(agent, "summary.keepRatio", spec.summary?.keepRatio, 0.05, 1)

/**
 * Resolves the policy of an agent: the Agent's `spec.context` over the Swarm's, the window from
 * `windowTokens` or else the Model's `spec.options.contextWindow` (a `windowTokens` larger than the
 * Model's window is refused, and so are limits that are not whole token counts or ratios in range). The reserve defaults to the
 * Agent's `modelConfig.params.maxTokens`, else a quarter of the window (at most 4096). The summary
 * defaults to a tenth of the window (at most 2000 tokens).
 *
 * @example
 * ```ts
 * import { ContextPolicy } from "effect-swarm"
 * const policy = ContextPolicy.resolve({
 *   agent: "coder",
 *   agentSpec: { strategy: "window" },
 *   model: { options: { contextWindow: 8192 } }
 * })
 * // Either.right({ strategy: "window", windowTokens: 8192, reserveTokens: 2048, ... })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (input: {
  readonly agent: string
  readonly swarmSpec?: Spec | undefined
  readonly agentSpec?: Spec | undefined
  readonly model?: { readonly options?: { readonly [key: string]: unknown } | undefined } | undefined
  readonly maxOutputTokens?: number | undefined
}): Either.Either<Policy, ContextConfigError> => {
  const s = input.swarmSpec ?? {}
  const a = input.agentSpec ?? {}
  const strategy = a.strategy ?? s.strategy ?? "all"
  const invalid = checkNumbers(input.agent, a) ?? checkNumbers(input.agent, s)
  if (invalid !== undefined) return Either.left(invalid)
  const fromModel = input.model?.options?.contextWindow
  const modelWindow = typeof fromModel === "number" && Number.isSafeInteger(fromModel) && fromModel > 0
    ? fromModel
    : undefined
  const given = a.windowTokens ?? s.windowTokens
  if (given !== undefined && modelWindow !== undefined && given > modelWindow) {
    return Either.left(
      new ContextConfigError({
        agent: input.agent,
        field: "windowTokens",
        detail: `${given} is larger than the Model's context window (${modelWindow}, its options.contextWindow): ` +
          "views of that size would fail at the provider",
        suggestion: `set windowTokens to at most ${modelWindow}, or leave it out to use the Model's`
      })
    )
  }
  const windowTokens = given ?? modelWindow
  if (strategy !== "all" && windowTokens === undefined) {
    return Either.left(
      new ContextConfigError({
        agent: input.agent,
        field: "windowTokens",
        detail: `strategy ${strategy} needs the model's context window and none is known`,
        suggestion: "set spec.context.windowTokens on the Agent or the Swarm, or options.contextWindow on the Model"
      })
    )
  }
  const window = windowTokens ?? 0
  const reserveTokens = a.reserveTokens ?? s.reserveTokens ?? input.maxOutputTokens ??
    Math.min(4096, Math.floor(window / 4))
  const margin = a.margin ?? s.margin ?? 0.05
  const summaryTokens = a.summary?.maxTokens ?? s.summary?.maxTokens ?? Math.min(2000, Math.floor(window / 10))
  if (strategy !== "all" && window * (1 - margin) - reserveTokens < Math.max(64, summaryTokens)) {
    return Either.left(
      new ContextConfigError({
        agent: input.agent,
        field: "reserveTokens",
        detail: `the window (${window}) minus the reply reserve (${reserveTokens}) and the margin (${
          Math.round(margin * 100)
        }%) leaves too little for the conversation`,
        suggestion: "lower reserveTokens (or the Agent's params.maxTokens) or use a model with a larger window"
      })
    )
  }
  const prompt = a.summary?.prompt ?? s.summary?.prompt
  return Either.right({
    strategy,
    windowTokens,
    reserveTokens,
    margin,
    onOverflow: a.onOverflow ?? s.onOverflow ?? "fail",
    summaryTokens,
    keepRatio: a.summary?.keepRatio ?? s.summary?.keepRatio ?? 0.5,
    ...(prompt === undefined ? {} : { summaryPrompt: prompt })
  })
}

/**
 * The tokens left for the model input: the window minus the margin and the reply reserve.
 *
 * @example
 * ```ts
 * import { ContextPolicy } from "effect-swarm"
 * ContextPolicy.budget({ ...ContextPolicy.all, strategy: "window", windowTokens: 4096, reserveTokens: 1024 }) // 2867
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const budget = (policy: Policy): number =>
  Math.floor((policy.windowTokens ?? Number.MAX_SAFE_INTEGER) * (1 - policy.margin)) - policy.reserveTokens
