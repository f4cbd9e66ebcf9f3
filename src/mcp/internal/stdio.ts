/**
 * A stdio MCP server as a child process under a scope: its own process group (killed whole on close:
 * TERM, a grace period, KILL), an allow-listed environment, optionally wrapped in the OS sandbox, and an
 * SDK `Transport` over its stdin/stdout (newline-delimited JSON-RPC).
 *
 * @internal
 */
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as InheritedFds from "../../sandbox/internal/inheritedFds.js"
import * as Limits from "../../sandbox/Limits.js"
import * as Sandbox from "../../sandbox/Sandbox.js"
import { McpConnectError } from "../McpError.js"

/**
 * What the OS sandbox grants a stdio server.
 *
 * @internal
 */
export interface SandboxGrants {
  readonly read: "all" | ReadonlyArray<string>
  readonly write: ReadonlyArray<string>
  readonly network: boolean
}

/**
 * @internal
 */
export interface StdioOptions {
  readonly server: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Absolute working directory. */
  readonly cwd: string
  /** The resolved variables of `spec.stdio.env`: the only ones besides PATH, HOME and TMPDIR. */
  readonly env: Readonly<Record<string, string>>
  readonly sandbox?: SandboxGrants | undefined
  /** The strategy used when `sandbox` is set (default: bubblewrap). */
  readonly strategy?: Sandbox.Service | undefined
  /** Between TERM and KILL on close. Default 2 seconds. */
  readonly killGrace?: Duration.DurationInput | undefined
}

/**
 * A started server process.
 *
 * @internal
 */
export interface StdioProcess {
  readonly transport: Transport
  readonly pid: number
  /** The end of its stderr (at most 4 KiB), for error messages. */
  readonly stderrTail: () => string
  /** How it exited, once it has. */
  readonly exit: () => string | undefined
  /** How it broke the protocol, when it did (the connection was closed for it). */
  readonly violation: () => string | undefined
}

const stderrLimit = 4096

/**
 * The longest line a server may write on stdout (one JSON-RPC message): a longer one closes the connection.
 *
 * @internal
 */
export const maxLineBytes = 10 * 1024 * 1024

class ChildTransport implements Transport {
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined
  onmessage?: ((message: JSONRPCMessage) => void) | undefined
  private readonly buffer = new ReadBuffer({ maxBufferSize: maxLineBytes })
  private closed = false
  /** Why the connection was closed on the server (a line too long), if it was. */
  violation: string | undefined
  constructor(private readonly child: ChildProcess.ChildProcess) {}

  start(): Promise<void> {
    const stdout = this.child.stdout!
    const onData = (chunk: Buffer) => {
      try {
        this.buffer.append(chunk)
      } catch {
        // An unterminated or huge line (the SDK's buffer throws past its size, from inside this event handler:
        // an uncaught exception in the host). Nothing after it can be framed: the connection is closed and the
        // supervisor restarts the server.
        this.violation = `it wrote a line of more than ${maxLineBytes / 1024 / 1024} MiB on stdout (an MCP ` +
          "message is one JSON line; a server that writes anything else to stdout breaks the protocol)"
        stdout.off("data", onData)
        stdout.resume()
        this.finish()
        return
      }
      for (;;) {
        let message: JSONRPCMessage | null
        try {
          message = this.buffer.readMessage()
        } catch (error) {
          this.onerror?.(error instanceof Error ? error : new Error(String(error)))
          continue
        }
        if (message === null || this.closed) break
        this.onmessage?.(message)
      }
    }
    stdout.on("data", onData)
    this.child.stdin!.on("error", (error) => this.onerror?.(error))
    this.child.once("close", () => this.finish())
    return Promise.resolve()
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child.stdin
      if (this.closed || stdin === null || stdin.destroyed) {
        reject(new Error("the server process has exited"))
        return
      }
      if (stdin.write(serializeMessage(message))) resolve()
      else stdin.once("drain", () => resolve())
    })
  }

  close(): Promise<void> {
    this.child.stdin?.end()
    this.finish()
    return Promise.resolve()
  }

  private finish(): void {
    if (this.closed) return
    this.closed = true
    this.buffer.clear()
    this.onclose?.()
  }
}

const killGroup = (child: ChildProcess.ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

const exited = (child: ChildProcess.ChildProcess): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const done = () => resume(Effect.void)
    child.once("exit", done)
    return Effect.sync(() => child.off("exit", done))
  })

/**
 * The command line that starts the server: as is, or wrapped by the OS sandbox.
 */
const commandLine = (options: StdioOptions, env: Record<string, string>, scratchDir: string) =>
  Effect.gen(function*() {
    const { server } = options
    if (options.sandbox === undefined) return { command: options.command, args: options.args }
    const strategy = options.strategy ?? Sandbox.bubblewrap()
    const probe = strategy.probe()
    if (probe._tag === "Unavailable") {
      return yield* new McpConnectError({
        server,
        reason: `spec.sandbox is set but the OS sandbox is unavailable: ${probe.reason}`,
        suggestion: probe.suggestion
      })
    }
    const binary = Sandbox.findOnPath(options.command, { searchPath: env.PATH ?? "", cwd: options.cwd })
    const real = binary === undefined ? undefined : yield* Effect.sync(() => {
      try {
        return fs.realpathSync(binary)
      } catch {
        return undefined
      }
    })
    if (real === undefined) {
      return yield* new McpConnectError({
        server,
        reason: `command ${JSON.stringify(options.command)} was not found on PATH`,
        suggestion: "install it, or give its path in spec.stdio.command"
      })
    }
    const grants = options.sandbox
    const wrapped = strategy.wrap(real, options.args, {
      binary: real,
      workerPath: options.cwd,
      read: grants.read === "all" ? "all" : grants.read.length === 0 ? "none" : grants.read,
      write: grants.write.length === 0 ? "none" : grants.write,
      implicitRead: [options.cwd],
      network: grants.network,
      scratchDir,
      scratchBytes: 64 * 1024 * 1024,
      hide: []
    })
    // The server runs in its own cwd, not in the scratch directory the strategy chose: the last
    // --chdir before the command wins.
    const separator = wrapped.args.indexOf("--")
    const args = strategy.strategy === "bubblewrap" && separator >= 0
      ? [...wrapped.args.slice(0, separator), "--chdir", options.cwd, ...wrapped.args.slice(separator)]
      : wrapped.args
    return { command: wrapped.command, args }
  })

/**
 * Starts the server process in the current scope; closing the scope kills its whole process group and
 * waits for it to exit (KILL after the grace period).
 *
 * @internal
 */
export const spawn = (options: StdioOptions): Effect.Effect<StdioProcess, McpConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const { server } = options
    const scratchDir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-mcp-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const refused = Limits.validateCallEnv({ ...options.env })
    if (refused !== undefined) {
      return yield* new McpConnectError({ server, reason: `spec.stdio.env: ${refused.message}` })
    }
    // The host's environment never reaches the server: PATH, a private HOME/TMPDIR and spec.stdio.env.
    const env = Limits.childEnv({
      hostEnv: { PATH: process.env.PATH },
      envGrant: "none",
      scratchDir,
      callEnv: { ...options.env },
      extra: {}
    })
    const line = yield* commandLine(options, env, scratchDir)
    const grace = Duration.decode(options.killGrace ?? "2 seconds")
    const child = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          // Without the fds this process inherited (a supervisor's pipe): see `inheritedFds.ts`.
          InheritedFds.spawnShielded(["pipe", "pipe", "pipe"], (stdio) =>
            ChildProcess.spawn(line.command, [...line.args], { cwd: options.cwd, env, detached: true, stdio })),
        catch: (cause) => new McpConnectError({ server, reason: `could not start ${options.command}`, cause })
      }),
      (child) =>
        Effect.gen(function*() {
          killGroup(child, "SIGTERM")
          const done = yield* exited(child).pipe(Effect.timeout(grace), Effect.option)
          if (done._tag === "None") {
            killGroup(child, "SIGKILL")
            yield* exited(child)
          }
          // A descendant that left the group is still killed by KILL on the group id.
          killGroup(child, "SIGKILL")
        }).pipe(Effect.interruptible)
    )
    let tail = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-stderrLimit)
    })
    let exit: string | undefined
    child.once("exit", (code, signal) => {
      exit = signal === null ? `exit code ${code}` : `signal ${signal}`
    })
    const started = yield* Effect.async<number, McpConnectError>((resume) => {
      if (child.pid !== undefined) return resume(Effect.succeed(child.pid))
      child.once("spawn", () => resume(Effect.succeed(child.pid!)))
      child.once(
        "error",
        (error) =>
          resume(
            Effect.fail(new McpConnectError({ server, reason: `could not start ${options.command}: ${error.message}` }))
          )
      )
    })
    const transport = new ChildTransport(child)
    return {
      transport,
      pid: started,
      stderrTail: () => tail.trim(),
      exit: () => exit,
      violation: () => transport.violation
    }
  })
