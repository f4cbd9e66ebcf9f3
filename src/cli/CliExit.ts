/**
 * How a subcommand asks for a non-zero exit status without an error report: it fails with
 * {@link CliExit}, and `bin.ts` turns that into `process.exitCode`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The command finished and printed what it had to say; the process should exit with `code`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CliExit } from "effect-swarm/cli/CliExit"
 * const failIfErrors = (errors: number) => errors > 0 ? Effect.fail(new CliExit({ code: 1 })) : Effect.void
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CliExit extends Schema.TaggedError<CliExit>("effect-swarm/CliExit")("CliExit", {
  code: Schema.Number
}) {
  override get message(): string {
    return `exit status ${this.code}`
  }
}
