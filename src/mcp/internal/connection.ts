/**
 * One connection to an MCP server (a started process or an HTTP endpoint, and an SDK client on it),
 * in its own closeable scope; the supervision around it lives in `McpClient`.
 *
 * @internal
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { JsonSchema } from "../../tool/ToolCatalog.js"
import { version } from "../../version.js"
import type { McpTool, Options } from "../McpClient.js"
import { codes, McpCallError, McpConnectError } from "../McpError.js"
import { limitedFetch } from "./limitedFetch.js"
import * as Stdio from "./stdio.js"

/**
 * @internal
 */
export interface Connection {
  readonly client: Client
  readonly scope: Scope.CloseableScope
  /** Done when the connection closed (the process exited, the transport closed). */
  readonly closed: Deferred.Deferred<void>
  readonly describeExit: () => string
  readonly startedAt: number
}

/**
 * The longest delay `setTimeout` honours: the SDK's own request timer is disabled, ours applies.
 *
 * @internal
 */
export const noSdkTimeout = 2_147_483_647

const toolsOf = (listed: ReadonlyArray<{ readonly name: string; readonly [key: string]: unknown }>) =>
  listed.map((t): McpTool => {
    // ajv compiles draft-07 by default; the dialect keyword only names what the schema already is.
    const { $schema: _ignored, ...inputSchema } = (t.inputSchema ?? { type: "object" }) as Record<string, unknown>
    return {
      name: t.name,
      description: typeof t.description === "string" ? t.description : undefined,
      inputSchema: inputSchema as JsonSchema,
      outputSchema: t.outputSchema as JsonSchema | undefined
    }
  })

/** Wraps a transport to see list_changed notifications as they arrive (before the SDK's handlers). */
const observe = (inner: Transport, onListChanged: () => void): Transport => {
  const outer: Transport = {
    start: () => inner.start(),
    send: (message, options) => inner.send(message, options),
    close: () => inner.close()
  }
  inner.onclose = () => outer.onclose?.()
  inner.onerror = (error) => outer.onerror?.(error)
  inner.onmessage = (message: JSONRPCMessage, extra) => {
    if ("method" in message && message.method === "notifications/tools/list_changed") onListChanged()
    outer.onmessage?.(message, extra)
  }
  return outer
}

/**
 * The typed error of a failed request on `conn`: the connection closing is a crash.
 *
 * @internal
 */
export const callError = (server: string, tool: string, cause: unknown, conn: Connection): McpCallError => {
  const closed = cause instanceof McpError && cause.code === ErrorCode.ConnectionClosed
  if (closed) {
    return new McpCallError({
      server,
      tool,
      code: codes.serverCrashed,
      reason: `${conn.describeExit()}; the server is being restarted`,
      cause
    })
  }
  return new McpCallError({
    server,
    tool,
    code: codes.protocol,
    reason: cause instanceof Error ? cause.message : String(cause),
    cause
  })
}

/**
 * Starts the server (stdio) or reaches it (HTTP) and runs the MCP handshake. `onListChanged` runs
 * synchronously when a list_changed notification arrives; `onNotified` after the SDK dispatched it.
 *
 * @internal
 */
export const open = (
  options: Options,
  hooks: { readonly onListChanged: () => void; readonly onNotified: () => void }
): Effect.Effect<Connection, McpConnectError> =>
  Effect.gen(function*() {
    const server = options.name
    const scope = yield* Scope.make()
    const opened = Effect.gen(function*() {
      const closed = yield* Deferred.make<void>()
      let transport: Transport
      let describeExit = () => "the connection closed"
      if (options.transport._tag === "stdio") {
        const t = options.transport
        const proc = yield* Stdio.spawn({
          server,
          command: t.command,
          args: t.args ?? [],
          cwd: t.cwd,
          env: t.env ?? {},
          sandbox: t.sandbox,
          strategy: t.strategy
        }).pipe(Scope.extend(scope))
        transport = proc.transport
        describeExit = () => {
          const stderr = proc.stderrTail()
          const violation = proc.violation()
          return `${
            violation === undefined ?
              `the server process exited (${proc.exit() ?? "no status yet"})` :
              `the connection was closed: ${violation}`
          }${stderr.length === 0 ? "" : `; stderr: ${stderr.slice(-500)}`}`
        }
      } else {
        transport = new StreamableHTTPClientTransport(new URL(options.transport.url), {
          requestInit: { headers: { ...options.transport.headers } },
          fetch: limitedFetch()
        })
      }
      const client = new Client({ name: "effect-swarm", version }, { capabilities: {} })
      client.onclose = () => Deferred.unsafeDone(closed, Exit.void)
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => hooks.onNotified())
      yield* Scope.addFinalizer(scope, Effect.promise(() => client.close().catch(() => undefined)))
      yield* Effect.tryPromise({
        try: (signal) => client.connect(observe(transport, hooks.onListChanged), { signal, timeout: noSdkTimeout }),
        catch: (cause) =>
          new McpConnectError({
            server,
            reason: `the MCP handshake failed: ${
              cause instanceof Error ? cause.message : String(cause)
            }; ${describeExit()}`,
            cause
          })
      })
      const connection: Connection = { client, scope, closed, describeExit, startedAt: yield* Clock.currentTimeMillis }
      return connection
    })
    return yield* opened.pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
  })

/**
 * Every tool the server lists (all pages).
 *
 * @internal
 */
export const listTools = (conn: Connection, server: string): Effect.Effect<ReadonlyArray<McpTool>, McpCallError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const out: Array<{ readonly name: string; readonly [key: string]: unknown }> = []
      let cursor: string | undefined
      let pages = 0
      do {
        // A server that hands out cursors forever would keep this loop (and its memory) growing.
        if (++pages > maxListPages) throw new ListTooLong()
        const page = await conn.client.listTools(cursor === undefined ? {} : { cursor }, {
          signal,
          timeout: noSdkTimeout
        })
        // So does one that lists more tools than any catalog can offer a model.
        if (out.length + page.tools.length > maxListedTools) throw new ListTooLong()
        out.push(...page.tools)
        cursor = page.nextCursor
      } while (cursor !== undefined)
      return toolsOf(out)
    },
    catch: (cause) =>
      cause instanceof ListTooLong ?
        new McpCallError({
          server,
          tool: "tools/list",
          code: codes.protocol,
          reason: `the server's tool list went on for more than ${maxListPages} pages (a nextCursor on every page) ` +
            `or ${maxListedTools} tools; it was not used`
        }) :
        callError(server, "tools/list", cause, conn)
  })

/**
 * The most pages of `tools/list` read before the listing is refused.
 *
 * @internal
 */
export const maxListPages = 1000

/**
 * The most tools read from one server before the listing is refused (providers accept a few hundred tools per
 * request at most; a server listing millions would fill the host's memory and every catalog).
 *
 * @internal
 */
export const maxListedTools = 10_000

class ListTooLong extends Error {}
