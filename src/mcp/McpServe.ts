/**
 * A swarm served as an MCP server: one tool per agent of the Swarm (`input` text in, the agent's reply
 * text out), over stdio or Streamable HTTP, with the official `@modelcontextprotocol/sdk` server.
 *
 * Each call runs one turn (`Turn.run`) on the instance `agent@instanceKey` (the call's `instanceKey`
 * argument, default `mcp`), opened once from the bundle with `AgentInstance.fromBundle` and kept for
 * the life of the server (its conversation is durable under the state root, like any instance). A call
 * that carries a progress token gets a `notifications/progress` per step and per tool call of the turn.
 * Turns of one instance run one after the other; different instances run concurrently. A cancelled
 * request interrupts its turn. A turn that fails, ends in `error` or waits for an approval is a tool
 * result with `isError: true` saying so.
 *
 * @since 0.1.0
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { CallToolResult, ServerNotification } from "@modelcontextprotocol/sdk/types.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as AgentInstance from "../agent/AgentInstance.js"
import * as Turn from "../agent/Turn.js"
import * as BrowserGuard from "../connector/internal/browserGuard.js"
import * as Message from "../conversation/Message.js"
import { EventBus } from "../event/EventBus.js"
import type * as Model from "../model/Model.js"
import * as Bundle from "../resource/Bundle.js"
import type * as Resource from "../resource/Resource.js"
import { version } from "../version.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly bundle: Bundle.Bundle
  /** The Swarm to serve (default: `Bundle.selectSwarm`'s choice). */
  readonly swarm?: string | undefined
  /** The instance key of calls that give none. Default `mcp`. */
  readonly instanceKey?: string | undefined
  /** Replaces every agent's model (tests and demos). */
  readonly model?: Model.Service | undefined
}

/**
 * The swarm could not be served: no such Swarm, or an agent of it does not open.
 *
 * @since 0.1.0
 * @category errors
 */
export class McpServeError extends Schema.TaggedError<McpServeError>("effect-swarm/McpServeError")("McpServeError", {
  reason: Schema.String,
  suggestion: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `${this.reason}${this.suggestion === undefined ? "" : ` (${this.suggestion})`}`
  }
}

/**
 * What the served tools need: what `AgentInstance.fromBundle` needs (provide `McpServers.layer` as
 * well when the swarm's agents use MCP servers themselves).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = AgentInstance.FromBundleRequirements

const inputSchema = {
  type: "object",
  properties: {
    input: { type: "string", description: "The message to the agent" },
    instanceKey: {
      type: "string",
      description: "Which conversation of the agent (default: the server's); the same key continues it"
    }
  },
  required: ["input"],
  additionalProperties: false
} as const

const errorResult = (text: string): CallToolResult => ({ content: [{ type: "text", text }], isError: true })

/**
 * A factory of SDK servers (one per connection, or per request over stateless HTTP) sharing the
 * swarm's instances, which live as long as the scope.
 *
 * @example
 * ```ts
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
 * import { Effect } from "effect"
 * import { McpServe } from "effect-swarm/mcp/McpServe"
 * import type { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const servers = yield* McpServe.make({ bundle, swarm: "default" })
 *   yield* Effect.promise(() => servers.create().connect(new StdioServerTransport()))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  { readonly create: () => Server; readonly swarm: string; readonly agents: ReadonlyArray<string> },
  McpServeError,
  Requirements | Scope.Scope
> =>
  Effect.gen(function*() {
    const { bundle } = options
    const selected = Bundle.selectSwarm(bundle, options.swarm)
    if (Either.isLeft(selected)) {
      return yield* new McpServeError({ reason: selected.left, suggestion: "pass --swarm <name>" })
    }
    const swarm = selected.right
    const agents = swarm.resource.spec.agents.flatMap((ref) => {
      const entry = Bundle.resolve(bundle, ref, swarm)
      return entry?.resource.kind === "Agent" ? [entry as Bundle.Entry<Resource.AgentResource>] : []
    })
    const context = yield* Effect.context<Requirements | Scope.Scope>()
    const runPromise = yield* FiberSet.makeRuntimePromise<never>()
    const bus = yield* EventBus
    const defaultKey = options.instanceKey ?? "mcp"
    const lock = yield* Effect.makeSemaphore(1)
    const instances = new Map<string, Effect.Effect<AgentInstance.AgentInstance, string>>()

    const instance = (agent: Bundle.Entry<Resource.AgentResource>, instanceKey: string) =>
      Effect.flatten(
        lock.withPermits(1)(Effect.gen(function*() {
          const key = `${agent.resource.metadata.name}@${instanceKey}`
          const known = instances.get(key)
          if (known !== undefined) return known
          const opened = yield* Effect.cached(
            AgentInstance.fromBundle(bundle, {
              agent,
              instanceKey,
              swarm,
              ...(options.model === undefined ? {} : { model: options.model })
            }).pipe(
              Effect.provide(context),
              Effect.mapError((e) => `${key} could not be opened: ${e.message}`),
              Effect.tapError(() => Effect.sync(() => instances.delete(key)))
            )
          )
          instances.set(key, opened)
          return opened
        }))
      )

    /** Forwards the turn's step and tool events as progress notifications while `body` runs. */
    const withProgress = <A, E>(
      body: Effect.Effect<A, E>,
      ref: { readonly agentName: string; readonly instanceKey: string },
      notify: ((progress: number, message: string) => Promise<void>) | undefined
    ) =>
      notify === undefined ? body : Effect.scoped(Effect.gen(function*() {
        const events = yield* bus.subscribe
        let n = 0
        const forward = yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
          const event = yield* Queue.take(events)
          if (event.agentName !== ref.agentName || event.instanceKey !== ref.instanceKey) return
          const message = event.type === "step.started"
            ? `step ${event.stepIndex + 1} started`
            : event.type === "tool.called"
            ? `calling ${event.toolName}`
            : event.type === "tool.completed"
            ? `${event.toolName} done`
            : undefined
          if (message === undefined) return
          n++
          yield* Effect.promise(() => notify(n, message).catch(() => undefined))
        })))
        const result = yield* body
        yield* Fiber.interrupt(forward)
        return result
      }))

    const call = (
      agent: Bundle.Entry<Resource.AgentResource>,
      input: string,
      instanceKey: string,
      notify: ((progress: number, message: string) => Promise<void>) | undefined
    ): Effect.Effect<CallToolResult> =>
      Effect.gen(function*() {
        const opened = yield* instance(agent, instanceKey)
        const result = yield* withProgress(
          Turn.run(opened, input),
          { agentName: agent.resource.metadata.name, instanceKey },
          notify
        )
        const text = result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data)
        if (result.finishReason === "error") {
          return errorResult(`the turn failed: ${result.error?.message ?? "no reply"}`)
        }
        const note = result.finishReason === "text_response" ? "" : ` [turn ended: ${result.finishReason}]`
        return { content: [{ type: "text", text: `${text}${note}` }] } satisfies CallToolResult
      }).pipe(
        Effect.catchTags({
          AwaitingApproval: (e) =>
            Effect.succeed(errorResult(`${e.message} (decide with: effect-swarm approve / deny)`))
        }),
        Effect.catchAll((e) => Effect.succeed(errorResult(typeof e === "string" ? e : e.message)))
      )

    const create = () => {
      const server = new Server({ name: `effect-swarm/${swarm.resource.metadata.name}`, version }, {
        capabilities: { tools: {} }
      })
      server.setRequestHandler(ListToolsRequestSchema, () =>
        Promise.resolve({
          tools: agents.map((agent) => ({
            name: agent.resource.metadata.name,
            description: agent.resource.metadata.annotations?.description ??
              `Agent ${agent.resource.metadata.name} of swarm ${swarm.resource.metadata.name}: send it a message, ` +
                "get its reply",
            inputSchema
          }))
        }))
      server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
        const agent = agents.find((a) => a.resource.metadata.name === request.params.name)
        if (agent === undefined) {
          return Promise.resolve(errorResult(
            `no agent ${JSON.stringify(request.params.name)} in this swarm; agents: ${
              agents.map((a) => a.resource.metadata.name).join(", ")
            }`
          ))
        }
        const args = request.params.arguments ?? {}
        const input = args.input
        const key = args.instanceKey ?? defaultKey
        if (typeof input !== "string" || typeof key !== "string" || key.length === 0) {
          return Promise.resolve(errorResult("arguments: input (string) is required; instanceKey must be a string"))
        }
        const token = request.params._meta?.progressToken
        const notify = token === undefined ? undefined : (progress: number, message: string) =>
          extra.sendNotification(
            {
              method: "notifications/progress",
              params: { progressToken: token, progress, message }
            } as ServerNotification
          )
        const run = call(agent, input, key, notify)
        // A cancelled request interrupts its turn.
        const cancellable = Effect.raceFirst(
          run,
          Effect.async<CallToolResult>((resume) => {
            const onAbort = () => resume(Effect.succeed(errorResult("cancelled")))
            if (extra.signal.aborted) onAbort()
            else extra.signal.addEventListener("abort", onAbort, { once: true })
            return Effect.sync(() => extra.signal.removeEventListener("abort", onAbort))
          })
        )
        return runPromise(cancellable)
      })
      return server
    }

    return {
      create,
      swarm: swarm.resource.metadata.name,
      agents: agents.map((a) => a.resource.metadata.name)
    }
  })

/**
 * Serves over stdio (this process's stdin and stdout) until the client closes stdin. Nothing else may
 * write to stdout meanwhile: log to stderr.
 *
 * @since 0.1.0
 * @category transports
 */
export const serveStdio = (create: () => Server): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { StdioServerTransport } = yield* Effect.promise(() => import("@modelcontextprotocol/sdk/server/stdio.js"))
    const server = create()
    const transport = new StdioServerTransport()
    const closed = yield* Effect.async<void>((resume) => {
      server.onclose = () => resume(Effect.void)
      process.stdin.once("end", () => resume(Effect.void))
    }).pipe(Effect.fork)
    yield* Effect.promise(() => server.connect(transport))
    yield* Fiber.join(closed).pipe(Effect.ensuring(Effect.promise(() => server.close().catch(() => undefined))))
  })

/**
 * Serves Streamable HTTP on `host:port` (`port` 0 picks a free one) at `/mcp`, stateless (a fresh SDK
 * server per request over the shared instances); the listener closes with the scope. Requests from web
 * pages are refused with 403: an `Origin` header other than the server's own address, and, on a loopback
 * `host`, a `Host` that is no loopback name or one of `allowedHosts` (DNS rebinding).
 *
 * @since 0.1.0
 * @category transports
 */
export const listenHttp = (
  create: () => Server,
  options: {
    readonly port: number
    readonly host?: string | undefined
    /** More `Host` names (lower case, no port) a loopback-bound server answers to, e.g. a local proxy's. */
    readonly allowedHosts?: ReadonlyArray<string> | undefined
  }
): Effect.Effect<{ readonly url: string }, McpServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const http = yield* Effect.promise(() => import("node:http"))
    const { StreamableHTTPServerTransport } = yield* Effect.promise(() =>
      import("@modelcontextprotocol/sdk/server/streamableHttp.js")
    )
    const host = options.host ?? "127.0.0.1"
    const listener = http.createServer((req, res) => {
      // A web page must not call the agents: no cross-origin requests, no DNS rebinding (the SDK's own
      // check is off by default).
      const refused = BrowserGuard.check(
        { host: req.headers.host, origin: req.headers.origin },
        host,
        options.allowedHosts
      )
      if (refused !== undefined) {
        res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({
          jsonrpc: "2.0",
          error: { code: -32000, message: `${refused.error}: ${refused.message}` },
          id: null
        }))
        return
      }
      if (new URL(req.url ?? "/", "http://localhost").pathname !== "/mcp") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: the MCP endpoint is /mcp\n")
        return
      }
      if (req.method !== "POST") {
        // Stateless: no server-initiated stream and no session to delete.
        res.writeHead(405, { allow: "POST" }).end()
        return
      }
      const server = create()
      const transport = new StreamableHTTPServerTransport({})
      res.on("close", () => {
        void transport.close()
        void server.close()
      })
      server.connect(transport).then(() => transport.handleRequest(req, res)).catch(() => {
        if (!res.headersSent) res.writeHead(500).end()
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number, McpServeError>((resume) => {
        listener.once("error", (e) =>
          resume(Effect.fail(new McpServeError({ reason: `cannot listen on ${host}:${options.port}: ${e.message}` }))))
        listener.listen(options.port, host, () => {
          const address = listener.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : options.port))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          listener.closeAllConnections()
          listener.close(() =>
            resume(Effect.void)
          )
        })
    )
    return { url: `http://${host}:${port}/mcp` }
  })
