#!/usr/bin/env node
/**
 * The `effect-swarm` command line (exit statuses: see `CliExit`).
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { cli } from "./Cli.js"
import { interruptedStatus, report } from "./CliExit.js"
import { logToStderr, plainWhenPiped } from "./Output.js"

cli(process.argv).pipe(
  plainWhenPiped,
  report,
  // Log lines go to stderr: stdout is for replies and --json.
  Effect.provide([NodeContext.layer, logToStderr]),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    // `report` set process.exitCode; an interrupted run (Ctrl-C, SIGTERM) exits 130, `run` serving connectors 0
    // once its graceful shutdown is over.
    teardown: (exit, onExit) =>
      onExit(
        Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
          ? interruptedStatus()
          : Number(process.exitCode ?? 0)
      )
  })
)
