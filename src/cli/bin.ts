#!/usr/bin/env node
/**
 * The `effect-swarm` command line.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { cli } from "./Cli.js"

cli(process.argv).pipe(
  // A command that already printed its result asks for an exit status this way, without a report.
  Effect.catchTag("CliExit", (exit) =>
    Effect.sync(() => {
      process.exitCode = exit.code
    })),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
