/**
 * Starting one worker: the layer's private directory and worker script, a scratch directory per
 * worker, the command line (runtime flags, then the OS sandbox's wrapper), the allow-listed
 * environment, the process itself and its `init` message.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as RuntimeConfig from "../../config/RuntimeConfig.js"
import * as Limits from "../Limits.js"
import { SpawnFailed } from "../ToolRuntimeError.js"
import * as WorkerScript from "../worker/WorkerScript.js"
import * as WorkerProcess from "../WorkerProcess.js"
import type * as HostEnv from "./hostEnv.js"
import type * as Plan from "./plan.js"
import * as PrivateDir from "./privateDir.js"
import { MiB } from "./session.js"

/** Where the launcher writes the `init` and `call` lines of a cold call handed over by file. */
const callFileOf = (scratchDir: string): string => `${scratchDir}.call`

/**
 * Whether a cold call's `init` and call go to the worker in a file rather than on stdin: on Bun, whose
 * pipe read starts a thread pool a bare start does not (about a sixth of a cold call's CPU), when
 * stdin is not needed for anything else (no native tools: their replies come on stdin). Bun cannot
 * import a path holding `?` (see `Limits.bunUnsafeDirectory`).
 */
const handsOverByFile = (plan: Plan.Plan): boolean =>
  plan.config.runtimeType === "bun" && !plan.config.nativeTools.callAgents &&
  !plan.config.nativeTools.callWorkflows

/** Removes `target` (see `PrivateDir.remove`); what cannot be removed is logged, never a defect of the
 * scope closing. */
const removeOrWarn = (target: string): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.sync(() => PrivateDir.remove(target)),
    (error) => error === undefined ? Effect.void : Effect.logWarning(error.message)
  )

/**
 * What the launcher needs from its layer.
 *
 * @internal
 */
export interface LauncherInput {
  readonly base: RuntimeConfig.Config
  readonly tempRoot: string
  readonly denoDir: string | undefined
  readonly spawner: WorkerProcess.Spawner
  readonly killGrace: Duration.Duration
  readonly sampleInterval: Duration.Duration
  readonly maxFrameBytes: number
  readonly host: HostEnv.HostEnv
}

/**
 * The call a worker is started for.
 *
 * @internal
 */
export interface ColdCall {
  readonly env: Record<string, string> | undefined
  /** The `call` message (see `Session.callMessage`): the launcher hands it over with `init`. */
  readonly message: object
}

/**
 * The layer's launcher.
 *
 * @internal
 */
export interface Launcher {
  readonly privateDir: string
  readonly denoDir: string
  /** Starts a worker for `plan` in the current scope (its scratch directory goes with the scope) and
   * hands it `init`; `call` is the call a cold worker is started for (its env is in the worker's
   * environment; its message goes with `init`), `undefined` for a worker that gets its call later
   * (pooled or pre-started: the call's env travels with the call, and the worker warms its call path
   * up while it waits). */
  readonly start: (
    plan: Plan.Plan,
    call: ColdCall | undefined
  ) => Effect.Effect<WorkerProcess.WorkerProcess, SpawnFailed, Scope.Scope>
}

/**
 * Creates the private directory (mode 0700, removed with the scope; those of dead processes are swept
 * first) with the worker script (mode `workerFilePerm`) and returns the launcher.
 *
 * @internal
 */
export const make = (input: LauncherInput): Effect.Effect<Launcher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { base, killGrace, maxFrameBytes, sampleInterval, spawner } = input
    const searchPath = input.host.searchPath
    const swept = PrivateDir.sweepAbandoned(input.tempRoot)
    if (swept.length > 0) {
      yield* Effect.logDebug(`removed ${swept.length} private directories of dead processes: ${swept.join(", ")}`)
    }
    const privateDir = yield* Effect.acquireRelease(
      Effect.sync(() => PrivateDir.create(input.tempRoot)),
      (dir) => removeOrWarn(dir)
    )
    const workerDir = path.join(privateDir, "worker")
    const callsDir = path.join(privateDir, "calls")
    // Deno's module cache is shared like a normal `deno run` would (tools cannot write it): a private
    // cache would make every layer's first Deno call pay for filling it.
    const denoDir = input.denoDir ?? input.host.denoDir ??
      path.join(input.host.cacheHome ?? path.join(os.homedir(), ".cache"), "deno")
    const workerPath = path.join(workerDir, "worker.mjs")
    yield* Effect.sync(() => {
      fs.mkdirSync(workerDir, { mode: 0o700 })
      fs.mkdirSync(callsDir, { mode: 0o700 })
      fs.writeFileSync(workerPath, WorkerScript.source, { mode: base.workerFilePerm })
      fs.chmodSync(workerPath, base.workerFilePerm)
    })

    // One scratch directory made ahead: `mkdtemp` is a journaled metadata write (measured 0.1 ms quiet,
    // 1.9-2.5 ms on this shared ext4 under load) that would otherwise sit between a cold call and its
    // spawn. The next one is made while the worker just spawned boots (the host waits for it anyway). A
    // spare left when the layer closes goes with the private directory.
    let spare: string | undefined
    const makeSpare = () => {
      try {
        if (spare === undefined) spare = fs.mkdtempSync(path.join(callsDir, "c-"))
      } catch {
        // Left to the next call, which makes its directory itself (and fails there if it cannot).
      }
    }
    const scratch = Effect.acquireRelease(
      Effect.sync(() => {
        const dir = spare ?? fs.mkdtempSync(path.join(callsDir, "c-"))
        spare = undefined
        return dir
      }),
      // The call's file first (it holds the call's input, env and token), then the tree the tool left.
      (dir) => Effect.zipRight(removeOrWarn(callFileOf(dir)), removeOrWarn(dir))
    )

    const start = (
      plan: Plan.Plan,
      call: ColdCall | undefined
    ): Effect.Effect<WorkerProcess.WorkerProcess, SpawnFailed, Scope.Scope> =>
      Effect.gen(function*() {
        const { config } = plan
        const callEnv = call?.env
        const dir = yield* scratch
        const token = Crypto.randomBytes(18).toString("base64url")
        const init = {
          t: "init",
          token,
          entry: plan.importUrl,
          environment: config.environment,
          warm: call === undefined,
          native: { agents: config.nativeTools.callAgents, workflows: config.nativeTools.callWorkflows }
        }
        const byFile = call !== undefined && handsOverByFile(plan) && !dir.includes("?") ? call : undefined
        const callFile = byFile === undefined ? undefined : callFileOf(dir)
        if (byFile !== undefined && callFile !== undefined) {
          // Exclusive create, owner-only: the file is next to the scratch directory, not in it (the tool
          // neither writes it nor counts it as its own space), and goes with it.
          const lines = JSON.stringify(init) + "\n" + JSON.stringify(byFile.message) + "\n"
          yield* Effect.try({
            try: () => fs.writeFileSync(callFile, lines, { mode: 0o600, flag: "wx" }),
            catch: (cause) =>
              new SpawnFailed({
                runtimeType: config.runtimeType,
                message: `could not write the call's file ${callFile}: ${String(cause)}`
              })
          })
        }
        const args = Limits.launchArgs({
          capabilities: plan.capabilities,
          grants: plan.grants,
          maxMemoryMB: config.maxMemoryMB,
          nodeOptions: config.nodeOptions,
          workerPath,
          // The tool's own directory, not only its entry file: a tool module may import its siblings.
          implicitRead: [workerDir, path.dirname(plan.entrypoint)],
          scratchDir: dir,
          callEnvNames: call === undefined ? plan.poolEnvNames : Object.keys(callEnv ?? {}),
          typeScriptFlags: plan.typeScript._tag === "Flags" ? plan.typeScript.flags : [],
          preserveSymlinks: plan.importPath !== plan.entrypoint
        })
        if (callFile !== undefined) args.push(callFile)
        const extra: Record<string, string> = config.runtimeType === "deno"
          ? { PATH: searchPath, DENO_DIR: denoDir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }
          : config.runtimeType === "bun"
          // Bun would otherwise write a transpiler cache under the fresh HOME of every call (never
          // reused, and removed again with the scratch directory). Its asynchronous transpiler starts
          // the thread pool (3 threads) for the entry's `import()`, which a bare Bun start never does:
          // transpiled on the main thread instead (same module semantics).
          ? { PATH: searchPath, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", BUN_FEATURE_FLAG_DISABLE_ASYNC_TRANSPILER: "1" }
          : { PATH: searchPath }
        const env = Limits.childEnv({
          hostEnv: process.env,
          envGrant: plan.hostEnv,
          scratchDir: dir,
          callEnv,
          extra
        })
        const launch = plan.sandboxed === undefined ?
          { command: plan.binary, args } :
          plan.sandbox.wrap(plan.sandboxed.binary, args, {
            binary: plan.sandboxed.binary,
            workerPath,
            read: plan.grants.read,
            write: plan.grants.write,
            implicitRead: plan.sandboxed.implicitRead,
            network: plan.grants.net !== "none",
            scratchDir: dir,
            scratchBytes: config.maxMemoryMB * MiB,
            hide: [privateDir],
            ...(callFile !== undefined ? { files: [callFile] } : {})
          })
        const proc = yield* WorkerProcess.start({
          runtimeType: config.runtimeType,
          command: launch.command,
          args: launch.args,
          env,
          cwd: dir,
          token,
          stdoutLimit: config.maxStderrCaptureSize,
          stderrLimit: config.maxStderrCaptureSize,
          maxFrameBytes,
          killGrace,
          spawner,
          memory: process.platform === "linux" ?
            { limitBytes: config.maxMemoryMB * MiB, interval: sampleInterval } :
            undefined,
          // Under bubblewrap the scratch directory is a tmpfs of this size; without, the watchdog measures it.
          scratch: plan.sandboxed === undefined ? { dir, limitBytes: config.maxMemoryMB * MiB } : undefined
        })
        if (callFile === undefined) {
          proc.send(init)
          if (call !== undefined) proc.send(call.message)
        }
        makeSpare()
        return proc
      })

    return { privateDir, denoDir, start }
  })
