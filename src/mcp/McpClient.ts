/**
 * A supervised connection to one MCP server, over the official `@modelcontextprotocol/sdk` client.
 *
 * - stdio: the server is a child process in its own process group , with
 *   an allow-listed environment (PATH, a private HOME/TMPDIR and its `env`) and, when `sandbox` is set,
 *   under the OS sandbox (bubblewrap); closing the scope kills the whole group.
 * - Streamable HTTP: `url` and `headers`.
 *
 * Tools are listed on connect and again on every `notifications/tools/list_changed`; listeners
 * ({@link Service.subscribe}) see every new list before a call that caused the change returns, so the
 * agent's next step offers the new catalog. A connection that closes (the process crashed or exited)
 * fails the calls in flight with `E_MCP_SERVER_CRASHED` and is restarted with exponential backoff
 * (100 ms doubling to 30 s, reset after a minute of health), every timer on `Clock`. A call that does not
 * finish within its timeout fails with `E_TOOL_TIMEOUT` (the SDK request is cancelled) and the server is
 * pinged: one that does not answer the ping within `pingTimeout` is restarted.
 *
 * @since 0.1.0
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import type * as Sandbox from "../sandbox/Sandbox.js"
import type { JsonSchema } from "../tool/ToolCatalog.js"
import * as Connection from "./internal/connection.js"
import type * as Stdio from "./internal/stdio.js"
import { codes, McpCallError, McpConnectError } from "./McpError.js"

/**
 * One tool a server lists.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpTool {
  readonly name: string
  readonly description?: string | undefined
  readonly inputSchema: JsonSchema
  readonly outputSchema?: JsonSchema | undefined
}

/**
 * How to reach a server.
 *
 * @since 0.1.0
 * @category models
 */
export type TransportOptions =
  | {
    readonly _tag: "stdio"
    readonly command: string
    readonly args?: ReadonlyArray<string> | undefined
    /** Absolute working directory. */
    readonly cwd: string
    /** The server's variables; nothing else of the host's environment but PATH reaches it. */
    readonly env?: Readonly<Record<string, string>> | undefined
    /** Run under the OS sandbox with these grants (absolute paths). */
    readonly sandbox?: Stdio.SandboxGrants | undefined
    /** The OS sandbox strategy (default: bubblewrap). */
    readonly strategy?: Sandbox.Service | undefined
  }
  | {
    readonly _tag: "http"
    readonly url: string
    readonly headers?: Readonly<Record<string, string>> | undefined
  }

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The McpServer resource's name (used in tool names and messages). */
  readonly name: string
  readonly transport: TransportOptions
  /** Default per-call timeout. Default 60 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** How long a ping may take before the server counts as unresponsive. Default 5 seconds. */
  readonly pingTimeout?: Duration.DurationInput | undefined
  /** First restart delay; doubles per consecutive crash. Default 100 ms. */
  readonly restartInitialDelay?: Duration.DurationInput | undefined
  /** Longest restart delay. Default 30 seconds. */
  readonly restartMaxDelay?: Duration.DurationInput | undefined
}

/**
 * Progress a server reports during a call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly progress: number
  readonly total?: number | undefined
  readonly message?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface McpClient {
  readonly name: string
  /** The default per-call timeout. */
  readonly timeout: Duration.Duration
  /** The tools of the latest list. */
  readonly tools: Effect.Effect<ReadonlyArray<McpTool>>
  /** Calls a tool. `timeout` overrides the client's. */
  readonly call: (
    tool: string,
    args: Readonly<Record<string, unknown>>,
    options?: {
      readonly timeout?: Duration.DurationInput | undefined
      readonly onProgress?: ((progress: Progress) => void) | undefined
    }
  ) => Effect.Effect<CallToolResult, McpCallError>
  /** Runs `listener` with the current list now and with every new list, as long as the scope lives. */
  readonly subscribe: (
    listener: (tools: ReadonlyArray<McpTool>) => Effect.Effect<void>
  ) => Effect.Effect<void, never, Scope.Scope>
  /** Lists the tools again now. */
  readonly refresh: Effect.Effect<void, McpCallError>
  /** How many times the server was restarted. */
  readonly restarts: Effect.Effect<number>
}

/**
 * Connects to a server and supervises it for the life of the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { McpClient } from "effect-swarm/mcp/McpClient"
 * const program = Effect.gen(function*() {
 *   const client = yield* McpClient.make({
 *     name: "files",
 *     transport: { _tag: "stdio", command: "node", args: ["server.mjs"], cwd: "/srv/mcp" }
 *   })
 *   return yield* client.call("read_file", { path: "README.md" })
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<McpClient, McpConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const server = options.name
    const callTimeout = Duration.decode(options.timeout ?? "60 seconds")
    const pingTimeout = Duration.decode(options.pingTimeout ?? "5 seconds")
    const initialDelay = Duration.toMillis(options.restartInitialDelay ?? "100 millis")
    const maxDelay = Duration.toMillis(options.restartMaxDelay ?? "30 seconds")
    const healthyAfter = 60_000
    const fibers = yield* FiberSet.make()
    const runFork = yield* FiberSet.runtime(fibers)<never>()
    const tools = yield* Ref.make<ReadonlyArray<McpTool>>([])
    const listeners = new Set<(tools: ReadonlyArray<McpTool>) => Effect.Effect<void>>()
    const restarts = yield* Ref.make(0)
    const refreshLock = yield* Effect.makeSemaphore(1)
    const swapLock = yield* Effect.makeSemaphore(1)
    let stale = false
    let shuttingDown = false

    // A flood of list_changed notifications forks one settling fiber at a time, not one each (50,000 fibers queued
    // on the refresh lock cost quadratic time: seconds of a blocked host); the queued one sees every change
    // announced before it takes the lock.
    let settleQueued = false
    const connect = Connection.open(options, {
      onListChanged: () => (stale = true),
      onNotified: () => {
        if (settleQueued) return
        settleQueued = true
        runFork(refreshLock.withPermits(1)(Effect.sync(() => (settleQueued = false))).pipe(Effect.zipRight(settle)))
      }
    })
    const list = (conn: Connection.Connection) => Connection.listTools(conn, server)
    // A listing after the start (a change announced, a restart, `refresh`) is bounded too: it holds the lock
    // every call takes to settle the catalog, so one that never finishes would hang every later call.
    const boundedList = (conn: Connection.Connection) =>
      list(conn).pipe(
        Effect.timeoutFail({
          duration: callTimeout,
          onTimeout: () =>
            new McpCallError({
              server,
              tool: "tools/list",
              code: "E_TOOL_TIMEOUT",
              reason: `no answer within ${Duration.format(callTimeout)}; the list was not changed (the McpServer's ` +
                "spec.timeout sets the wait)"
            })
        })
      )
    // A server that never answers the handshake or never finishes its tool list must not hold the agent's
    // start forever: every start (the first and each restart) gets the call timeout, on the Clock.
    const startTimeout = (what: string) =>
      Effect.timeoutFail({
        duration: callTimeout,
        onTimeout: () =>
          new McpConnectError({
            server,
            reason: `no answer to ${what} within ${Duration.format(callTimeout)}`,
            suggestion: "check that the command starts an MCP server on stdio (or the URL serves MCP) and writes " +
              "nothing but protocol messages to stdout; the McpServer's spec.timeout (e.g. \"30 seconds\") sets the wait"
          })
      })

    const current = yield* Ref.make(yield* Deferred.make<Connection.Connection>())
    const first = yield* connect.pipe(startTimeout("the MCP handshake (initialize)"))
    yield* Deferred.succeed(yield* Ref.get(current), first)
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.get(current), (d) =>
        Effect.flatMap(Deferred.poll(d), (polled) =>
          Option.isSome(polled)
            ? Effect.flatMap(polled.value, (conn) => Scope.close(conn.scope, Exit.void))
            : Effect.void))
    )

    const connection = Effect.flatMap(Ref.get(current), Deferred.await)

    const publish = (next: ReadonlyArray<McpTool>) =>
      Effect.gen(function*() {
        yield* Ref.set(tools, next)
        for (const listener of listeners) yield* listener(next)
      })

    /** Lists again when a change was announced (or `force`), then tells the listeners; serialised. */
    const refreshWith = (force: boolean): Effect.Effect<void, McpCallError> =>
      refreshLock.withPermits(1)(Effect.suspend(() => {
        if (!force && !stale) return Effect.void
        stale = false
        return Effect.flatMap(connection, (conn) => Effect.flatMap(boundedList(conn), publish))
      }))
    const settle = refreshWith(false).pipe(
      Effect.catchAll((e) => Effect.logWarning(`McpServer/${server}: listing its tools again failed: ${e.message}`))
    )

    yield* publish(
      yield* list(first).pipe(
        Effect.mapError((e) => new McpConnectError({ server, reason: `listing its tools failed: ${e.reason}` })),
        startTimeout("tools/list")
      )
    )

    /** Restarts the connection `conn` (once, whoever asks first) after a backoff. */
    let consecutive = 0
    /** Why the latest restart attempt failed (until one succeeds): calls that wait in vain say it. */
    let restartFailure: string | undefined
    const restart = (conn: Connection.Connection) =>
      Effect.gen(function*() {
        // Whoever asks first (the supervisor, a failed ping) swaps in the slot of the next connection.
        const next = yield* swapLock.withPermits(1)(Effect.gen(function*() {
          const polled = yield* Deferred.poll(yield* Ref.get(current))
          if (Option.isNone(polled) || shuttingDown) return undefined
          if ((yield* polled.value) !== conn) return undefined
          const slot = yield* Deferred.make<Connection.Connection>()
          yield* Ref.set(current, slot)
          return slot
        }))
        if (next === undefined) return
        yield* Scope.close(conn.scope, Exit.void)
        const now = yield* Clock.currentTimeMillis
        if (now - conn.startedAt >= healthyAfter) consecutive = 0
        for (;;) {
          const delay = Math.min(maxDelay, initialDelay * 2 ** Math.min(consecutive, 30))
          consecutive++
          yield* Effect.logWarning(`McpServer/${server}: ${conn.describeExit()}; restarting in ${delay} ms`)
          yield* Effect.sleep(Duration.millis(delay))
          const attempt = yield* Effect.either(connect.pipe(startTimeout("the MCP handshake (initialize)")))
          if (attempt._tag === "Right") {
            restartFailure = undefined
            yield* Ref.update(restarts, (n) => n + 1)
            yield* Deferred.succeed(next, attempt.right)
            stale = true
            yield* settle
            return
          }
          restartFailure = attempt.left.message
          yield* Effect.logWarning(`McpServer/${server}: restart failed: ${attempt.left.message}`)
        }
      })

    // The supervisor: waits for the live connection to close, then restarts it.
    yield* FiberSet.run(
      fibers,
      Effect.forever(Effect.gen(function*() {
        const conn = yield* connection
        yield* Deferred.await(conn.closed)
        if (shuttingDown) return yield* Effect.never
        yield* restart(conn)
      }))
    )

    // Added last, so it runs first when the scope closes: closing the connection is no crash.
    yield* Effect.addFinalizer(() => Effect.sync(() => (shuttingDown = true)))

    /** Pings the server; one that does not answer in time is restarted. */
    const checkAlive = Effect.gen(function*() {
      const conn = yield* connection
      const answered = yield* Effect.tryPromise((signal) =>
        conn.client.ping({ signal, timeout: Connection.noSdkTimeout })
      ).pipe(
        Effect.timeout(pingTimeout),
        Effect.isSuccess
      )
      if (!answered) {
        yield* Effect.logWarning(`McpServer/${server}: no answer to a ping within ${Duration.format(pingTimeout)}`)
        yield* restart(conn)
      }
    })

    const call: McpClient["call"] = (tool, args, callOptions) => {
      const timeout = callOptions?.timeout === undefined ? callTimeout : Duration.decode(callOptions.timeout)
      const onProgress = callOptions?.onProgress
      return Effect.gen(function*() {
        const conn = yield* connection.pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new McpCallError({
                server,
                tool,
                code: codes.unavailable,
                reason: `the server did not come back up within ${Duration.format(timeout)}` +
                  (restartFailure === undefined ? "" : `; the last restart failed: ${restartFailure}`)
              })
          })
        )
        const result = yield* Effect.tryPromise({
          try: (signal) =>
            conn.client.callTool({ name: tool, arguments: { ...args } }, undefined, {
              signal,
              timeout: Connection.noSdkTimeout,
              ...(onProgress === undefined ? {} : { onprogress: (p) => onProgress(p) })
            }),
          catch: (cause) => Connection.callError(server, tool, cause, conn)
        }).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new McpCallError({
                server,
                tool,
                code: "E_TOOL_TIMEOUT",
                reason: `no result within ${Duration.format(timeout)}; the call was cancelled`
              })
          }),
          Effect.tapError((e) => e.code === "E_TOOL_TIMEOUT" ? FiberSet.run(fibers, checkAlive) : Effect.void)
        )
        // A change the call announced is in the catalog before the call returns.
        yield* settle
        return result as CallToolResult
      })
    }

    const subscribe: McpClient["subscribe"] = (listener) =>
      Effect.acquireRelease(
        Effect.gen(function*() {
          yield* refreshLock.withPermits(1)(Effect.gen(function*() {
            listeners.add(listener)
            yield* listener(yield* Ref.get(tools))
          }))
        }),
        () => Effect.sync(() => listeners.delete(listener))
      )

    return {
      name: server,
      timeout: callTimeout,
      tools: Ref.get(tools),
      call,
      subscribe,
      refresh: refreshWith(true),
      restarts: Ref.get(restarts)
    }
  })
