/**
 * Exit statuses of the `effect-swarm` CLI, and how a command's outcome becomes one: a command that
 * already printed its result asks for a status by failing with {@link CliExit}; a usage mistake (the
 * parser printed it) exits 2; any other typed error prints its message (never a stack trace) and exits
 * 3; a defect (a bug) prints its stack and exits 70.
 *
 * | status | meaning |
 * |---|---|
 * | 0 | done |
 * | 1 | the command ran and reports a failure (`validate` found errors, a turn failed) |
 * | 2 | usage: unknown command, missing or malformed argument (the parser's message is printed) |
 * | 3 | an error the user can act on: the message names the file, instance or call, with a suggestion |
 * | 4 | a turn waits for approval (`send`, `approve`): the pending call ids are printed |
 * | 70 | internal error (a bug): the stack is printed, please report it |
 * | 130 | interrupted (Ctrl-C, SIGTERM), except `run` serving connectors: its graceful shutdown ends with 0 |
 *
 * @since 0.1.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * The exit statuses (see the module documentation).
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  error: 3,
  awaitingApproval: 4,
  internal: 70,
  interrupted: 130
} as const

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

let stoppedGracefully = false

/**
 * Marks that the interrupted command stopped the way it is meant to stop (`run` serving connectors: SIGINT
 * or SIGTERM, then its graceful shutdown completed), so the process exits 0 instead of 130.
 *
 * @internal
 */
export const markGracefulStop: Effect.Effect<void> = Effect.sync(() => {
  stoppedGracefully = true
})

/**
 * The exit status of an interrupted run: 130, or 0 after {@link markGracefulStop}.
 *
 * @internal
 */
export const interruptedStatus = (): number => stoppedGracefully ? ExitCode.ok : ExitCode.interrupted

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error && typeof error._tag === "string" ? error._tag : undefined
    const message = "message" in error && typeof error.message === "string" ? error.message : undefined
    if (message !== undefined && message !== "") return tag === undefined ? message : `${tag}: ${message}`
    if (tag !== undefined) return tag
  }
  return String(error)
}

/**
 * Turns the outcome of a CLI run into an exit status (set on `process.exitCode`), printing typed errors
 * as one readable line on stderr and defects with their stack.
 *
 * @example
 * ```ts
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import * as Cli from "effect-swarm/cli/Cli"
 * import * as CliExit from "effect-swarm/cli/CliExit"
 * Cli.cli(process.argv).pipe(CliExit.report, Effect.provide(NodeContext.layer), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const report = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  self.pipe(
    Effect.asVoid,
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) {
          process.exitCode = interruptedStatus()
          return
        }
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some") {
          const error: unknown = failure.value
          if (error instanceof CliExit) {
            process.exitCode = error.code
          } else if (ValidationError.isValidationError(error)) {
            // The parser printed the problem and the usage already.
            process.exitCode = ExitCode.usage
          } else {
            process.stderr.write(`effect-swarm: ${messageOf(error)}\n`)
            process.exitCode = ExitCode.error
          }
          return
        }
        process.stderr.write(
          `effect-swarm: internal error (a bug; please report it with this output):\n${Cause.pretty(cause)}\n`
        )
        process.exitCode = ExitCode.internal
      })
    )
  )
