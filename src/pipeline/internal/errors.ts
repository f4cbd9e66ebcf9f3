/**
 * The errors the pipeline itself adds to a run. Re-exported by `Middleware`.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/**
 * A middleware ran `next` a second time. The rest of the onion (and so the model call or the tool)
 * ran only once; the second run fails with this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class NextCalledTwiceError extends Schema.TaggedError<NextCalledTwiceError>(
  "effect-swarm/NextCalledTwiceError"
)("NextCalledTwiceError", {
  kind: Schema.Literal("turn", "step", "toolCall"),
  middleware: Schema.String
}) {
  override get message(): string {
    return `${this.kind} middleware '${this.middleware}' ran next more than once; next runs the rest of the pipeline at most once (retry inside the core, or wrap a fresh call instead)`
  }
}

/**
 * A middleware's own failure. Middlewares that need to stop a run fail with this error (or let the
 * error of `next` through); the run then fails and emits its `*.failed` event.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Middleware } from "effect-swarm"
 * const deny: Middleware.ToolCallMiddleware = (ctx, next) =>
 *   ctx.toolName === "bash__exec"
 *     ? Effect.fail(new Middleware.MiddlewareError({ middleware: "deny-bash", message: "bash is disabled" }))
 *     : next
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class MiddlewareError extends Schema.TaggedError<MiddlewareError>("effect-swarm/MiddlewareError")(
  "MiddlewareError",
  {
    middleware: Schema.String,
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * A message event could not be made durable (the conversation's storage failed). The run fails with it;
 * what was written before stays.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConversationWriteError extends Schema.TaggedError<ConversationWriteError>(
  "effect-swarm/ConversationWriteError"
)("ConversationWriteError", {
  instance: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.instance}: the message event could not be written: ${this.detail}`
  }
}

/**
 * The errors the pipeline itself adds to a run.
 *
 * @since 0.1.0
 * @category errors
 */
export type PipelineError = NextCalledTwiceError | MiddlewareError | ConversationWriteError
