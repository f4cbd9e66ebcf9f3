/**
 * `spec.context` of an Agent and a Swarm (the Agent's fields override the Swarm's): the context window
 * policy that keeps each step's model input inside the model's window.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { PositiveInt } from "./envelope.js"

const Ratio = (field: string, low: number, high: number) =>
  Schema.Number.pipe(
    Schema.filter((n) =>
      (n >= low && n < high) || `${field} must be a number in [${low}, ${high}), got ${n} (for example ${field}: 0.5)`
    )
  )

/**
 * `spec.context`: `strategy` (`all` | `window` | `summarize`, default `all`), `windowTokens` (else the
 * Model's `options.contextWindow`), `reserveTokens` (kept for the reply), `margin` (share of the window
 * kept free for estimate error), `onOverflow` (`fail` | `truncate-tool-results`) and, for `summarize`,
 * `summary.maxTokens`, `summary.keepRatio` and `summary.prompt`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContextSpec = Schema.Struct({
  strategy: Schema.optional(Schema.Literal("all", "window", "summarize")),
  windowTokens: Schema.optional(PositiveInt),
  reserveTokens: Schema.optional(PositiveInt),
  margin: Schema.optional(Ratio("margin", 0, 0.5)),
  onOverflow: Schema.optional(Schema.Literal("fail", "truncate-tool-results")),
  summary: Schema.optional(Schema.Struct({
    maxTokens: Schema.optional(PositiveInt),
    keepRatio: Schema.optional(Ratio("keepRatio", 0.05, 1)),
    prompt: Schema.optional(Schema.String)
  }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type ContextSpec = typeof ContextSpec.Type
