/**
 * The error every configuration builder fails with: all problems at once, each with the field path it
 * concerns, and the seed's message format (`build failed: <e>` / `build failed with N errors:`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One validation problem: the path of the offending field (`["permissions", 1]`) and a readable message
 * that names the field and, where possible, how to fix it.
 *
 * @since 0.1.0
 * @category models
 */
export const BuildIssue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
}).annotations({ identifier: "BuildIssue" })

/**
 * @since 0.1.0
 * @category models
 */
export type BuildIssue = typeof BuildIssue.Type

/**
 * Renders issue messages the way the seed SDK does: `build failed` for none, `build failed: <e>` for one,
 * and `build failed with N errors:` followed by two-space-indented numbered lines for several.
 *
 * @example
 * ```ts
 * import { formatMessage } from "effect-swarm/config/BuildError"
 * formatMessage(["a", "b"]) // "build failed with 2 errors:\n  1. a\n  2. b"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatMessage = (messages: ReadonlyArray<string>): string => {
  if (messages.length === 0) return "build failed"
  if (messages.length === 1) return `build failed: ${messages[0]}`
  let out = `build failed with ${messages.length} errors:`
  for (let i = 0; i < messages.length; i++) out += `\n  ${i + 1}. ${messages[i]}`
  return out
}

/**
 * A configuration could not be built. `errors` holds every issue found, never only the first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RuntimeConfig } from "effect-swarm"
 *
 * const program = RuntimeConfig.make("python").pipe(
 *   Effect.catchTag("BuildError", (e) => Effect.succeed(e.errors.map((i) => i.path.join("."))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BuildError extends Schema.TaggedError<BuildError>("effect-swarm/BuildError")("BuildError", {
  errors: Schema.Array(BuildIssue)
}) {
  override get message(): string {
    return formatMessage(this.errors.map((issue) => issue.message))
  }
}
