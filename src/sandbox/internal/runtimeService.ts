/**
 * The `ToolRuntime` service (`ToolRuntime.make`, documented there) assembled from its parts: the worker
 * launcher (private directory, worker script, spawn), the planner (config, permissions, isolation), the
 * pre-started workers, cold and pooled calls, and one call's retries of transient infrastructure failures
 * (spawn failed, died before the handshake) with the configured backoff.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as os from "node:os"
import * as RuntimeConfig from "../../config/RuntimeConfig.js"
import * as NativeTools from "../NativeTools.js"
import * as Sandbox from "../Sandbox.js"
import type { Detailed, ExecuteRequest, Options, Service } from "../ToolRuntime.js"
import { ToolScratchExceeded } from "../ToolRuntimeError.js"
import type { ToolRuntimeError, ToolThrew } from "../ToolRuntimeError.js"
import * as Calls from "./calls.js"
import * as HostEnv from "./hostEnv.js"
import * as InheritedFds from "./inheritedFds.js"
import * as Launcher from "./launcher.js"
import * as Plan from "./plan.js"
import * as Prespawn from "./prespawn.js"
import * as Session from "./session.js"

export const make = (options: Options = {}): Effect.Effect<Service, never, RuntimeConfig.RuntimeConfig | Scope.Scope> =>
  Effect.gen(function*() {
    const base = yield* RuntimeConfig.RuntimeConfig
    const nativeService = yield* Effect.serviceOption(NativeTools.NativeTools)
    const killGrace = Duration.decode(options.killGrace ?? "1 second")
    const sampleInterval = Duration.decode(options.memorySampleInterval ?? "50 millis")
    const maxFrameBytes = options.maxFrameBytes ?? 64 * Session.MiB
    const stderrTailBytes = options.stderrTailBytes ?? 4096
    const spawner = yield* InheritedFds.guard(
      options.spawner ?? ((command, args, spawnOptions) => ChildProcess.spawn(command, args, spawnOptions))
    )

    const host = yield* HostEnv.read
    const launcher = yield* Launcher.make({
      host,
      base,
      tempRoot: options.tempRoot ?? os.tmpdir(),
      denoDir: options.denoDir,
      spawner,
      killGrace,
      sampleInterval,
      maxFrameBytes
    })
    const startWorker = launcher.start

    const planner = Plan.makePlanner({
      base,
      binaries: options.binaries,
      privateDir: launcher.privateDir,
      denoDir: launcher.denoDir,
      osSandbox: Option.getOrElse(
        yield* Effect.serviceOption(Sandbox.Sandbox),
        () => Sandbox.bubblewrap(undefined, host.searchPath)
      ),
      searchPath: host.searchPath,
      stderrTailBytes,
      killGrace
    })
    const { capabilities, poolPlanFor, prepare, retrySchedule } = planner

    const prespawner = yield* Prespawn.make({
      start: (plan) => startWorker(plan, undefined),
      idleTimeout: options.prespawnIdleTimeout === undefined ?
        Prespawn.defaultIdleTimeout :
        Duration.decode(options.prespawnIdleTimeout)
    })
    const { attemptFor } = yield* Calls.make({ start: startWorker, prespawner, poolPlanFor, nativeService })

    const run = (request: ExecuteRequest, captures: boolean): Effect.Effect<Detailed, ToolRuntimeError> =>
      Effect.gen(function*() {
        const { plan, session, timeout } = yield* prepare(request)
        const attempt = attemptFor(request, plan)(plan, session, request, timeout, captures)
        const retried = attempt.pipe(
          Effect.retry({
            schedule: retrySchedule(plan.config),
            while: (e) =>
              e._tag === "SpawnFailed" || (e._tag === "EarlyExit" && !Session.isDeterministicStartFailure(e))
          }),
          Effect.catchIf(
            (e): e is Session.EarlyExit => e._tag === "EarlyExit",
            (e) => Effect.fail(Session.crashed(request.toolId, e))
          )
        )
        if (plan.sandboxed === undefined) return yield* retried
        return yield* retried.pipe(
          Effect.catchIf(
            (e): e is ToolThrew => e._tag === "ToolThrew" && Session.isNoSpace(e),
            (e) => new ToolScratchExceeded({ toolId: e.toolId, limitMB: plan.config.maxMemoryMB, message: e.message })
          )
        )
      })

    const executeDetailed = Effect.fn("ToolRuntime.executeDetailed")(function*(request: ExecuteRequest) {
      return yield* run(request, true)
    })

    const execute = Effect.fn("ToolRuntime.execute")(function*(request: ExecuteRequest) {
      const detailed = yield* run(request, false)
      return detailed.result
    })

    const service: Service = { execute, executeDetailed, capabilities }
    return service
  })
