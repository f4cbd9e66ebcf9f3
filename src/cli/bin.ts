#!/usr/bin/env node
/**
 * The `effect-swarm` command line (exit statuses: see `CliExit`).
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { cli } from "./Cli.js"
import { report } from "./CliExit.js"
import { plainWhenPiped } from "./Output.js"

cli(process.argv).pipe(
  plainWhenPiped,
  report,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
