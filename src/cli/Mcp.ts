/**
 * `effect-swarm mcp [dir] --swarm <name> [--http <port>]`: serves a swarm's agents as MCP tools, one
 * tool per agent (`input` text in, the agent's reply out), over stdio (default) or Streamable HTTP on
 * `127.0.0.1:<port>/mcp` (`--http 0` picks a free port and prints the URL on stderr). Instances live under
 * the state root (`EFFECT_SWARM_HOME`, else `~/.effect-swarm`) as for every command; logs go to stderr
 * (stdout belongs to the protocol in stdio mode). Stops on Ctrl-C, or when the stdio client closes stdin.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as McpServe from "../mcp/McpServe.js"
import * as McpServers from "../mcp/McpServers.js"
import * as Bundle from "../resource/Bundle.js"
import * as Host from "./internal/host.js"
import * as Root from "./internal/root.js"
import { logToStderr } from "./Output.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly swarm?: string | undefined
  /** Serve Streamable HTTP on this port instead of stdio. */
  readonly http?: number | undefined
  readonly host?: string | undefined
}

/**
 * Runs the server until it is stopped.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Mcp } from "effect-swarm/cli/Mcp"
 * Mcp.mcp("examples/bundles/multi-agent", { swarm: "team", http: 3000 }).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const mcp = Effect.fn("Mcp.mcp")(function*(dir: string, options: Options) {
  const bundle = yield* Bundle.load(dir)
  const root = yield* Root.resolve(undefined)
  const stores = Layer.merge(Host.layer(root), McpServers.layer)
  const serve = Effect.gen(function*() {
    const served = yield* McpServe.make({ bundle, swarm: options.swarm })
    const tools = `${served.agents.join(", ")} (swarm ${served.swarm})`
    if (options.http === undefined) {
      yield* Effect.logInfo(`serving ${tools} over stdio`)
      return yield* McpServe.serveStdio(served.create)
    }
    const { url } = yield* McpServe.listenHttp(served.create, { port: options.http, host: options.host })
    yield* Effect.logInfo(`serving ${tools} at ${url}`)
    return yield* Effect.never
  })
  return yield* serve.pipe(
    Effect.scoped,
    Effect.provide(stores),
    // stdout is the protocol's in stdio mode: every log line goes to stderr.
    Effect.provide(logToStderr)
  )
})
