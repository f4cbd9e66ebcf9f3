/**
 * The McpServer resources of a bundle as supervised clients: one connection per resource for the life of
 * the layer's scope (started on first use, shared by every agent instance that uses it), and the seam
 * that gives an agent instance the tools of the servers its `spec.tools` names.
 *
 * ```yaml
 * kind: Agent
 * spec:
 *   tools:
 *     - Tool/notes
 *     - McpServer/files                                   # every tool of the server
 *     - { ref: McpServer/github, allow: [create_issue] }  # only these
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as path from "node:path"
import * as Bundle from "../resource/Bundle.js"
import type * as Resource from "../resource/Resource.js"
import * as ValueSource from "../resource/ValueSource.js"
import { Sandbox, type Service as SandboxService } from "../sandbox/Sandbox.js"
import type { ToolRegistry } from "../tool/ToolRegistry.js"
import { type Service as ToolSourceService, ToolSourceError, ToolSources } from "../tool/ToolSource.js"
import * as McpClient from "./McpClient.js"
import { McpConnectError } from "./McpError.js"
import * as McpTools from "./McpTools.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The client of a resource, connected on first use. */
  readonly client: (
    entry: Bundle.Entry<Resource.McpServerResource>
  ) => Effect.Effect<McpClient.McpClient, McpConnectError>
  /**
   * Registers the tools of every McpServer the agent's `spec.tools` names (with its allow-list) in
   * `registry`, kept in step with the servers while the scope lives.
   */
  readonly attachAgent: (
    bundle: Bundle.Bundle,
    agent: Bundle.Entry<Resource.AgentResource>,
    registry: ToolRegistry["Type"],
    options?: Pick<McpTools.AttachOptions, "onProgress">
  ) => Effect.Effect<void, McpConnectError, Scope.Scope>
}

/**
 * The MCP servers of a bundle.
 *
 * @since 0.1.0
 * @category tags
 */
export class McpServers extends Context.Tag("effect-swarm/McpServers")<McpServers, Service>() {}

const resolveAll = (
  server: string,
  field: string,
  sources: { readonly [key: string]: ValueSource.ValueSource } | undefined
) =>
  Effect.gen(function*() {
    const out: Record<string, string> = {}
    for (const [key, source] of Object.entries(sources ?? {})) {
      const value = yield* ValueSource.resolve(source, `McpServer/${server}.${field}.${key}`).pipe(
        Effect.mapError((e) =>
          new McpConnectError({ server, reason: e.message, suggestion: `set it, or change spec.${field}.${key}` })
        )
      )
      if (Option.isSome(value)) out[key] = value.value
    }
    return out
  })

/**
 * The client options of an McpServer resource: value sources resolved (through effect `Config`), `cwd`
 * and sandbox paths resolved against the bundle root.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { McpServers } from "effect-swarm/mcp/McpServers"
 * import { McpClient } from "effect-swarm/mcp/McpClient"
 * import type { Bundle, Resource } from "effect-swarm"
 * declare const entry: Bundle.Entry<Resource.McpServerResource>
 * const client = Effect.flatMap(McpServers.optionsOf(entry), (options) => McpClient.make(options))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const optionsOf = (
  entry: Bundle.Entry<Resource.McpServerResource>,
  strategy?: SandboxService | undefined
): Effect.Effect<McpClient.Options, McpConnectError> =>
  Effect.gen(function*() {
    const { metadata, spec } = entry.resource
    const server = metadata.name
    const inBundle = (p: string) => path.resolve(entry.rootDir, p)
    const common = {
      name: server,
      ...(spec.timeout === undefined ? {} : { timeout: spec.timeout })
    }
    if (spec.http !== undefined) {
      return {
        ...common,
        transport: {
          _tag: "http",
          url: spec.http.url,
          headers: yield* resolveAll(server, "http.headers", spec.http.headers)
        }
      }
    }
    const stdio = spec.stdio!
    const sandbox = spec.sandbox
    return {
      ...common,
      transport: {
        _tag: "stdio",
        command: stdio.command,
        args: stdio.args ?? [],
        cwd: inBundle(stdio.cwd ?? "."),
        env: yield* resolveAll(server, "stdio.env", stdio.env),
        ...(sandbox === undefined ? {} : {
          sandbox: {
            read: sandbox.read === "all" ? "all" : (sandbox.read ?? []).map(inBundle),
            write: (sandbox.write ?? []).map(inBundle),
            network: sandbox.network ?? false
          },
          strategy
        })
      }
    }
  })

/**
 * Builds the service; clients live as long as the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const strategy = Option.getOrUndefined(yield* Effect.serviceOption(Sandbox))
  const clients = new Map<string, Effect.Effect<McpClient.McpClient, McpConnectError>>()
  const lock = yield* Effect.makeSemaphore(1)

  const client: Service["client"] = (entry) =>
    Effect.flatten(
      lock.withPermits(1)(Effect.gen(function*() {
        const key = `${entry.package ?? ""}|${entry.resource.metadata.name}`
        const known = clients.get(key)
        if (known !== undefined) return known
        // A failed start is not cached: the next use tries again.
        const started = yield* Effect.cached(
          Effect.flatMap(optionsOf(entry, strategy), (options) => McpClient.make(options)).pipe(
            Scope.extend(scope),
            Effect.tapError(() => Effect.sync(() => clients.delete(key)))
          )
        )
        clients.set(key, started)
        return started
      }))
    )

  const attachAgent: Service["attachAgent"] = (bundle, agent, registry, options) =>
    Effect.gen(function*() {
      for (const ref of agent.resource.spec.tools ?? []) {
        if (ref.kind !== "McpServer") continue
        const entry = Bundle.resolve(bundle, ref, agent) as Bundle.Entry<Resource.McpServerResource> | undefined
        if (entry === undefined) continue
        const connected = yield* client(entry)
        yield* McpTools.attach(connected, registry, {
          allow: ref.allow,
          timeout: entry.resource.spec.timeout,
          errorMessageLimit: entry.resource.spec.errorMessageLimit,
          ...options
        })
      }
    })

  return McpServers.of({ client, attachAgent })
})

/**
 * The service as the `ToolSources` of `McpServer/<name>` tools.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toolSource = (service: Service): ToolSourceService =>
  ToolSources.of({
    kinds: ["McpServer"],
    attach: (bundle, agent, registry) =>
      service.attachAgent(bundle, agent, registry).pipe(
        Effect.mapError((e) =>
          new ToolSourceError({
            source: `McpServer/${e.server}`,
            reason: e.reason,
            ...(e.suggestion === undefined ? {} : { suggestion: e.suggestion }),
            cause: e
          })
        )
      )
  })

/**
 * The service as a layer, also as the `ToolSources` `AgentInstance.fromBundle` attaches `McpServer/<name>`
 * tools from; its clients close (process groups killed) with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<McpServers | ToolSources> = Layer.scopedContext(
  Effect.map(make, (service) => Context.make(McpServers, service).pipe(Context.add(ToolSources, toolSource(service))))
)
