/**
 * Shared helpers for the sandbox suites: fixture paths, process-table checks (via /proc, Linux only),
 * temp directories, a loopback TCP server and scoped host environment variables.
 */
import { Clock, Duration, Effect, Layer, TestServices } from "effect"
import type { Scope } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as Sandbox from "effect-swarm/sandbox/Sandbox"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

/** Absolute path of a file under test/fixtures. */
export const fixture = (...segments: ReadonlyArray<string>): string => path.resolve(here, "..", "fixtures", ...segments)

/** The hostile tool module (test/fixtures/hostile/tools.mjs). */
export const hostileEntrypoint = fixture("hostile", "tools.mjs")

/** The runtimes every suite covers. */
export const runtimes = ["bun", "node", "deno"] as const

/** @internal */
export type Runtime = typeof runtimes[number]

// ---------------------------------------------------------------------------------------------------
// Process table
// ---------------------------------------------------------------------------------------------------

interface ProcStat {
  readonly pid: number
  readonly state: string
  readonly ppid: number
  readonly pgrp: number
}

const readStat = (pid: number): ProcStat | undefined => {
  let raw: string
  try {
    raw = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const rest = raw.slice(raw.lastIndexOf(")") + 2).split(" ")
  return { pid, state: rest[0] ?? "?", ppid: Number(rest[1]), pgrp: Number(rest[2]) }
}

const allPids = (): Array<number> => fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number)

/** True while `pid` is a live process (a zombie or a vanished pid counts as dead). */
export const isAlive = (pid: number): boolean => {
  const stat = readStat(pid)
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X"
}

/**
 * True when `pid` can run no more code: gone, a zombie, stopped ("T"), or with SIGSTOP or SIGKILL
 * pending (a signalled process that has not been scheduled since is still "R" in `/proc`, but it acts on
 * the signal before it next returns to user code).
 */
export const isFrozenOrGone = (pid: number): boolean => {
  const stat = readStat(pid)
  if (stat === undefined || stat.state === "Z" || stat.state === "X" || stat.state === "T") return true
  let status: string
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  } catch {
    return true
  }
  const pending = (field: string) =>
    BigInt("0x" + (new RegExp(`^${field}:\\s*([0-9a-f]+)`, "m").exec(status)?.[1] ?? "0"))
  const mask = pending("ShdPnd") | pending("SigPnd")
  const bit = (signal: number) => 1n << BigInt(signal - 1)
  return (mask & (bit(19) | bit(9))) !== 0n
}

/** True while `pid` exists in the process table at all, zombies included. */
export const isInProcessTable = (pid: number): boolean => readStat(pid) !== undefined

/** Live processes whose command line mentions `marker`. */
export const processesMentioning = (marker: string): Array<number> =>
  allPids().filter((pid) => {
    if (pid === process.pid) return false
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) && isAlive(pid)
    } catch {
      return false
    }
  })

/**
 * Direct children of `ppid` (this test process by default), zombies included: a zombie child means
 * the runtime never reaped its worker.
 */
export const childProcesses = (ppid: number = process.pid): Array<{ pid: number; state: string; cmdline: string }> =>
  allPids().flatMap((pid) => {
    const stat = readStat(pid)
    if (stat === undefined || stat.ppid !== ppid) return []
    let cmdline = ""
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
    } catch {
      // vanished meanwhile
    }
    return [{ pid, state: stat.state, cmdline }]
  })

/**
 * Waits (real clock, bounded) until every pid is dead. Signal delivery and reaping by init are
 * asynchronous, so a process killed with SIGKILL may still be listed for a few milliseconds, and for
 * seconds on a loaded machine: the bounds of these waits are a safety net, not what makes them pass (they
 * return as soon as the condition holds). Returns the pids still alive after `within`.
 */
export const awaitDead = (
  pids: ReadonlyArray<number>,
  within: Duration.DurationInput = "15 seconds"
): Effect.Effect<Array<number>> => pollUntilEmpty(() => pids.filter(isAlive), within)

/** Like {@link awaitDead} for "no live process mentions `marker`". Returns the survivors. */
export const awaitNoProcessMentioning = (
  marker: string,
  within: Duration.DurationInput = "15 seconds"
): Effect.Effect<Array<number>> => pollUntilEmpty(() => processesMentioning(marker), within)

const pollUntilEmpty = <A>(
  probe: () => Array<A>,
  within: Duration.DurationInput
): Effect.Effect<Array<A>> =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(within)
    let still = probe()
    while (still.length > 0 && (yield* Clock.currentTimeMillis) < deadline) {
      yield* Effect.sleep("25 millis")
      still = probe()
    }
    return still
  })

/**
 * Waits (real clock, bounded) until this process has no child at all, zombies included. A single-use
 * worker's whole tree is stopped (SIGSTOP) before `execute` returns; killing and reaping it (and removing
 * its scratch directory) finish in the background, in the layer's scope. Returns the children still there.
 */
export const awaitNoChildren = (
  within: Duration.DurationInput = "15 seconds"
): Effect.Effect<Array<{ pid: number; state: string; cmdline: string }>> =>
  TestServices.provideLive(pollUntilEmpty(() => childProcesses(), within))

/** Waits (real clock, bounded) until `file` is gone; true when it is. */
export const awaitGone = (file: string, within: Duration.DurationInput = "15 seconds"): Effect.Effect<boolean> =>
  TestServices.provideLive(pollUntilEmpty(() => (fs.existsSync(file) ? [file] : []), within)).pipe(
    Effect.map((left) => left.length === 0)
  )

/** Waits (real clock, bounded) until `probe` returns a value other than `undefined`. */
export const awaitDefined = <A>(
  probe: () => A | undefined,
  within: Duration.DurationInput = "10 seconds"
): Effect.Effect<A | undefined> =>
  pollUntilEmpty(() => (probe() === undefined ? [true] : []), within).pipe(Effect.map(() => probe()))

/** Kills leftovers a failing test may have left behind, so one failure does not cascade. */
export const killQuietly = (pids: ReadonlyArray<number>): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Pid namespaces: under the OS sandbox a tool reports pids of its own pid namespace
// ---------------------------------------------------------------------------------------------------

const ownPidNamespace = fs.readlinkSync("/proc/self/ns/pid")

const namespaceOf = (pid: number): string | undefined => {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`)
  } catch {
    return undefined
  }
}

/** True when `pidns` (as a tool reported it) is a pid namespace other than this process's. */
export const isForeignNamespace = (pidns: string | null | undefined): pidns is string =>
  typeof pidns === "string" && pidns !== ownPidNamespace

/** Live host processes in pid namespace `pidns` (empty once the namespace is gone). */
export const processesInNamespace = (pidns: string): Array<number> =>
  allPids().filter((pid) => namespaceOf(pid) === pidns && isAlive(pid))

/**
 * The host pid of a process that reported `pid` from pid namespace `pidns`: `pid` itself when the
 * namespace is ours (or unknown), else the live host process numbered `pid` in that namespace, or -1
 * when there is none (it is dead).
 */
export const hostPid = (pid: number, pidns: string | null | undefined): number => {
  if (!isForeignNamespace(pidns)) return pid
  for (const candidate of processesInNamespace(pidns)) {
    try {
      const nspid = /NSpid:\s+([\d\s]+)/.exec(fs.readFileSync(`/proc/${candidate}/status`, "utf8"))?.[1]
      const innermost = nspid?.trim().split(/\s+/).at(-1)
      if (Number(innermost) === pid) return candidate
    } catch {
      // gone meanwhile
    }
  }
  return -1
}

/** A tool's report of where it runs, with `pid` resolved to a host pid (see {@link hostPid}). */
export const onHost = <A extends { readonly pid: number; readonly pidns?: string | null }>(info: A): A => ({
  ...info,
  pid: hostPid(info.pid, info.pidns)
})

/**
 * Reads the pid file a hostile tool writes before misbehaving (`{}` when it was never written), with
 * the pids resolved to host pids at the time of reading (-1 for a process already dead).
 */
export const readPidFile = (
  file: string
): {
  readonly worker?: number
  readonly grandchild?: number
  readonly tmpdir?: string | null
  readonly pidns?: string | null
} => {
  let raw: { worker?: number; grandchild?: number; tmpdir?: string | null; pidns?: string | null }
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"))
  } catch {
    return {}
  }
  return {
    ...raw,
    ...(raw.worker !== undefined ? { worker: hostPid(raw.worker, raw.pidns) } : {}),
    ...(raw.grandchild !== undefined ? { grandchild: hostPid(raw.grandchild, raw.pidns) } : {})
  }
}

// ---------------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------------

/** A fresh temp directory (realpath, so permission allow-lists match), removed with the scope. */
export const tempDir = (prefix = "es-sandbox-test-"): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** True when `p` no longer exists. */
export const isGone = (p: string): boolean => !fs.existsSync(p)

/**
 * The private paths a worker reported about itself (`whereami`): its script, HOME, TMPDIR, and the
 * directory holding its script. Only absolute paths outside the repository are returned: those are
 * the worker's own temporary files.
 */
export const workerPrivatePaths = (info: {
  readonly argv: ReadonlyArray<string>
  readonly tmpdir: string
  readonly home: string | null
  readonly tmpdirEnv: string | null
}): Array<string> => {
  const repo = path.resolve(here, "..", "..")
  const hostTmp = fs.realpathSync(os.tmpdir())
  const scripts = info.argv.slice(1).filter((a) => path.isAbsolute(a))
  // Every directory between the host temp dir and the worker script was created for the worker.
  const ancestors = scripts.flatMap((script) => {
    const out: Array<string> = []
    for (let dir = path.dirname(script); dir.startsWith(hostTmp + path.sep); dir = path.dirname(dir)) out.push(dir)
    return out
  })
  const candidates = [
    ...scripts,
    ...scripts.map((a) => path.dirname(a)),
    ...ancestors,
    info.tmpdir,
    info.home,
    info.tmpdirEnv
  ]
  return [...new Set(candidates)].filter((p): p is string =>
    typeof p === "string" && path.isAbsolute(p) && !p.startsWith(repo) && p !== hostTmp && p !== "/" &&
    p !== os.homedir() && p !== "/tmp"
  )
}

// ---------------------------------------------------------------------------------------------------
// Network and environment
// ---------------------------------------------------------------------------------------------------

/** A loopback TCP server on an ephemeral port that counts accepted connections; closed with the scope. */
export const tcpServer: Effect.Effect<
  { readonly port: number; readonly connections: () => number },
  never,
  Scope.Scope
> = Effect.acquireRelease(
  Effect.async<{ server: net.Server; port: number; count: { n: number } }>((resume) => {
    const count = { n: 0 }
    const server = net.createServer((socket) => {
      count.n++
      socket.on("error", () => {})
      socket.end()
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed({ server, port: typeof address === "object" && address ? address.port : 0, count }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ count, port }) => ({ port, connections: () => count.n })))

/** Sets a host environment variable for the scope (restored afterwards). */
export const hostEnv = (name: string, value: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const previous = process.env[name]
      process.env[name] = value
      return previous
    }),
    (previous) =>
      Effect.sync(() => {
        if (previous === undefined) delete process.env[name]
        else process.env[name] = previous
      })
  ).pipe(Effect.asVoid)

/** A unique marker for process-table checks. */
export const uniqueMarker = (label: string): string =>
  `es-hostile-${label}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/** Gives up after `duration` with a defect; guards a test against a sandbox that hangs forever. */
export const guard = (duration: Duration.DurationInput) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.timeoutTo({
      duration,
      onSuccess: Effect.succeed<A>,
      onTimeout: () =>
        Effect.die(new Error(`the sandbox did not answer within ${Duration.format(Duration.decode(duration))}`))
    }),
    Effect.flatten
  )

/**
 * The isolation the shared suites run under: `ES_TEST_ISOLATION` (`os`, `runtime` or `auto`, the
 * default). CI runs every suite once with the default (bubblewrap where it works), then the suites
 * that read this (hostile, escapes, permissions, prespawn) again with `runtime`.
 */
export const testIsolation: RuntimeConfig.Isolation = ((): RuntimeConfig.Isolation => {
  const raw = process.env.ES_TEST_ISOLATION
  return raw === "os" || raw === "runtime" ? raw : "auto"
})()

/** Whether the OS sandbox (bubblewrap) is what `testIsolation` resolves to on this machine. */
export const osIsolated: boolean = testIsolation !== "runtime" &&
  Sandbox.bubblewrap().probe()._tag === "Available"

/** Waits (real clock, bounded) until no live process is left in pid namespace `pidns`. */
export const awaitNamespaceEmpty = (
  pidns: string,
  within: Duration.DurationInput = "15 seconds"
): Effect.Effect<Array<number>> => pollUntilEmpty(() => processesInNamespace(pidns), within)

/**
 * A ToolRuntime over the hostile fixture module. The timeout is generous so start-up under load never
 * passes for a timeout; the cases that must time out set their own per call.
 */
export const hostileRuntime = (runtime: Runtime) =>
  ToolRuntime.layer.pipe(
    Layer.provide(
      RuntimeConfig.layer(
        runtime,
        RuntimeConfig.withEntrypointPath(hostileEntrypoint),
        RuntimeConfig.withToolExecutionTimeout("20 seconds"),
        RuntimeConfig.withIsolation(testIsolation),
        // These suites assert that no worker outlives its call (no child of this process at all), so
        // no worker is started ahead; prespawn.test.ts runs the hostile cases through pre-started ones.
        RuntimeConfig.withPrespawn(0)
      )
    ),
    Layer.orDie
  )

/** `execute` on the ToolRuntime in context, guarded against a sandbox that never answers. */
export const execute = (request: ToolRuntime.ExecuteRequest) =>
  Effect.flatMap(ToolRuntime.ToolRuntime, (runtime) => runtime.execute(request)).pipe(guard("30 seconds"))

/**
 * Everything but `kind`, plus `entries`, so only that restriction decides a case's outcome. Under
 * runtime isolation a restricted Node or Deno tool may not also hold a door only bubblewrap closes
 * (subprocesses, write access to the sandbox's private directory, read access to it or to /proc:
 * refused up front), so those grants are left out there; Bun, which enforces no file or process limit
 * at all, keeps them (its restriction is refused either way).
 */
export const allBut = (
  runtime: Runtime,
  kind: "read" | "write" | "net" | "run" | "env",
  ...entries: ReadonlyArray<string>
): Array<string> => [
  ...(["read", "write", "net", "run", "env"] as const)
    .filter((k) =>
      k !== kind &&
      (osIsolated || runtime === "bun" || !(k === "run" || k === "write" || k === "read"))
    )
    .map((k) => `--allow-${k}`),
  ...entries
]

/** Every kind granted one by one (not `--allow-all`): restricts nothing. */
export const everything: ReadonlyArray<string> = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-run",
  "--allow-env"
]
