/**
 * The command tree of the `effect-swarm` CLI. Subcommands are added per capability.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { version } from "../version.js"
import * as Validate from "./Validate.js"

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("effect-swarm").pipe(
  Command.withDescription("Run LLM agents declared as YAML bundles (validate, run, send, instances)."),
  Command.withSubcommands([Validate.command])
)

/**
 * Runs the CLI on `argv` (as given by `process.argv`).
 *
 * @since 0.1.0
 * @category running
 */
export const cli = Command.run(root, { name: "effect-swarm", version })
