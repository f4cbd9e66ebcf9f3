/**
 * An MCP server's tools in a {@link ToolRegistry}: each listed tool (optionally only those of an
 * allow-list) is registered as `{resource}__{tool}` (names mapped by {@link McpName}) with its input
 * schema as the catalog item's `parameters`, so MCP tools go through the same catalog guard, ajv
 * argument validation, timeouts, approvals, budgets, middlewares and runtime events as every other
 * tool. The registry follows the server's list (tools added, changed, removed) for as long as the scope
 * lives.
 *
 * Results: the text content (joined by newlines) is the output; when the server also returns structured
 * content or non-text content the output is `{ text, structuredContent?, content? }` (images and audio as
 * their MIME type and size, never the data). `isError: true` becomes a tool error (`E_MCP_TOOL_ERROR`)
 * whose message is the server's text.
 *
 * @since 0.1.0
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as ToolArgs from "../tool/ToolArgs.js"
import type { JsonValue } from "../tool/ToolCatalog.js"
import * as ToolError from "../tool/ToolError.js"
import type { ToolHandler, ToolRegistry } from "../tool/ToolRegistry.js"
import type { McpClient, McpTool, Progress } from "./McpClient.js"
import { codes, type McpCallError } from "./McpError.js"
import * as McpName from "./McpName.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface AttachOptions {
  /** Register only these tools (the server's own names). */
  readonly allow?: ReadonlyArray<string> | undefined
  /** The per-call timeout (default: the client's). */
  readonly timeout?: Duration.DurationInput | undefined
  readonly errorMessageLimit?: number | undefined
  /** Progress the server reports during a call, with the tool name and call id. */
  readonly onProgress?:
    | ((progress: Progress & { readonly toolName: string; readonly toolCallId: string }) => void)
    | undefined
}

/**
 * The output of a successful MCP call.
 *
 * @example
 * ```ts
 * import { McpTools } from "effect-swarm/mcp/McpTools"
 * McpTools.toOutput({ content: [{ type: "text", text: "42" }] }) // "42"
 * McpTools.toOutput({ content: [{ type: "text", text: "{}" }], structuredContent: { n: 42 } })
 * // { text: "{}", structuredContent: { n: 42 } }
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toOutput = (result: CallToolResult): JsonValue => {
  const texts: Array<string> = []
  const other: Array<JsonValue> = []
  for (const part of result.content ?? []) {
    switch (part.type) {
      case "text":
        texts.push(part.text)
        break
      case "image":
      case "audio":
        other.push({ type: part.type, mimeType: part.mimeType, bytes: Math.floor(part.data.length * 3 / 4) })
        break
      case "resource_link":
        other.push({ type: part.type, uri: part.uri, name: part.name })
        break
      case "resource": {
        const r = part.resource
        other.push("text" in r ? { type: "resource", uri: r.uri, text: r.text } : { type: "resource", uri: r.uri })
        break
      }
    }
  }
  const text = texts.join("\n")
  if (result.structuredContent === undefined && other.length === 0) return text
  const out: { [key: string]: JsonValue } = { text }
  if (result.structuredContent !== undefined) out.structuredContent = result.structuredContent as JsonValue
  if (other.length > 0) out.content = other
  return out
}

/**
 * The tool failure of a call that produced no result (crash, timeout, protocol error).
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromCallError = (error: McpCallError): ToolError.ToolFailure =>
  new ToolError.ToolFailure({
    name: error._tag,
    message: error.message,
    code: error.code,
    ...(error.code === codes.protocol ? {} : { suggestion: "retry the call; the server is supervised and restarted" }),
    cause: error
  })

/**
 * The tool failure of a result with `isError: true`: the server's text is the message.
 *
 * @example
 * ```ts
 * import { McpTools } from "effect-swarm/mcp/McpTools"
 * McpTools.fromErrorResult("files", "read", { content: [{ type: "text", text: "no such file" }], isError: true }).message
 * // "no such file"
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromErrorResult = (server: string, tool: string, result: CallToolResult): ToolError.ToolFailure => {
  const text = (result.content ?? []).flatMap((p) => p.type === "text" ? [p.text] : []).join("\n")
  return new ToolError.ToolFailure({
    name: "McpToolError",
    message: text.length > 0 ? text : `McpServer/${server} tool ${JSON.stringify(tool)} reported an error`,
    code: codes.toolError
  })
}

/**
 * The tool failure of a tool whose listed input schema does not compile: it names the server and the tool
 * (the executor's own message would blame a bundle the user cannot fix).
 */
const badSchema = (server: string, tool: string, reason: string): ToolError.ToolFailure =>
  new ToolError.ToolFailure({
    name: "ToolSchemaError",
    code: ToolError.codes.invalidSchema,
    message: `McpServer/${server} tool ${JSON.stringify(tool)} lists an input schema that is not valid JSON Schema ` +
      `(${reason}); the tool cannot be called`,
    suggestion:
      `the MCP server ${JSON.stringify(server)} must fix the inputSchema of its tool ${JSON.stringify(tool)}; ` +
      `until then leave the tool out with an allow-list in the Agent's spec.tools ({ ref: McpServer/${server}, ` +
      "allow: [...] })"
  })

const handlerOf = (client: McpClient, tool: string, options: AttachOptions): ToolHandler => (args, context) => {
  const report = options.onProgress
  return client.call(tool, args, {
    timeout: options.timeout,
    onProgress: report === undefined ?
      undefined :
      (p) => report({ ...p, toolName: context.toolName, toolCallId: context.toolCallId })
  }).pipe(
    Effect.mapError((e) => fromCallError(e)),
    Effect.flatMap((result) =>
      result.isError === true ?
        Effect.fail(fromErrorResult(client.name, tool, result)) :
        usable(client.name, tool, toOutput(result))
    )
  )
}

// A result the rest of the run cannot serialise (structured content nested deeper than the stack: recursive
// serialisers throw a RangeError, a defect that killed the turn) is the server's error, not ours.
const usable = (server: string, tool: string, output: JsonValue): Effect.Effect<JsonValue, ToolError.ToolFailure> => {
  try {
    JSON.stringify(output)
    return Effect.succeed(output)
  } catch (error) {
    return Effect.fail(
      new ToolError.ToolFailure({
        name: "McpCallError",
        code: codes.protocol,
        message: `McpServer/${server} tool ${JSON.stringify(tool)} returned a result that cannot be serialised (${
          error instanceof Error ? error.message : String(error)
        }); it was not used`,
        suggestion: "the server's result (its structuredContent) must be plain JSON of reasonable depth"
      })
    )
  }
}

/**
 * Registers the client's tools in `registry` and keeps them in step with the server's list while the
 * scope lives; closing the scope unregisters them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { McpTools } from "effect-swarm/mcp/McpTools"
 * import type { McpClient } from "effect-swarm/mcp/McpClient"
 * import type { ToolRegistry } from "effect-swarm"
 * declare const client: McpClient.McpClient
 * declare const registry: ToolRegistry.Service
 * const attached = McpTools.attach(client, registry, { allow: ["read_file"] })
 * ```
 *
 * @since 0.1.0
 * @category registration
 */
export const attach = (
  client: McpClient,
  registry: ToolRegistry["Type"],
  options: AttachOptions = {}
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const server = client.name
    const registered = new Map<string, string>()
    const allow = options.allow === undefined ? undefined : new Set(options.allow)
    // Our timer must fire before the executor's, which would report a plain timeout without the
    // server check: the registry entry gets one second more.
    const entryTimeout = Duration.sum(options.timeout ?? client.timeout, "1 second")
    let warnedMissing = false
    const sync = (tools: ReadonlyArray<McpTool>) =>
      Effect.gen(function*() {
        const wanted = new Map<string, { readonly tool: McpTool; readonly key: string }>()
        for (const tool of tools) {
          if (allow !== undefined && !allow.has(tool.name)) continue
          const name = McpName.toolName(server, tool.name)
          if (Either.isLeft(name)) {
            yield* Effect.logWarning(`McpServer/${server}: tool ${JSON.stringify(tool.name)} skipped: ${name.left}`)
            continue
          }
          wanted.set(name.right, { tool, key: JSON.stringify([tool.description, tool.inputSchema]) })
        }
        if (allow !== undefined && !warnedMissing) {
          warnedMissing = true
          const missing = [...allow].filter((n) => !tools.some((t) => t.name === n))
          if (missing.length > 0) {
            yield* Effect.logWarning(
              `McpServer/${server}: the allow-list names tools the server does not list: ${missing.join(", ")}`
            )
          }
        }
        for (const name of [...registered.keys()]) {
          if (!wanted.has(name)) {
            registered.delete(name)
            yield* registry.unregister(name)
          }
        }
        for (const [name, { key, tool }] of wanted) {
          if (registered.get(name) === key) continue
          if (registered.has(name)) yield* registry.unregister(name)
          registered.set(name, key)
          // A schema that does not compile is not offered to the model (a provider may refuse the whole request
          // for it): the tool takes any object and its calls fail with an error naming the server and tool.
          const compiled = ToolArgs.compile(tool.inputSchema)
          const refused = Either.isLeft(compiled) ? badSchema(server, tool.name, compiled.left.message) : undefined
          if (refused !== undefined) yield* Effect.logWarning(`${refused.message} (${refused.suggestion})`)
          yield* registry.register(
            {
              name,
              ...(tool.description === undefined ? {} : { description: tool.description }),
              parameters: refused === undefined ? tool.inputSchema : { type: "object" },
              source: { type: "mcp", name: server }
            },
            refused === undefined ? handlerOf(client, tool.name, options) : () => Effect.fail(refused),
            { timeout: entryTimeout, errorMessageLimit: options.errorMessageLimit }
          ).pipe(Effect.orDie)
        }
      })
    yield* client.subscribe(sync)
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...registered.keys()], (name) => registry.unregister(name), { discard: true })
    )
  })
