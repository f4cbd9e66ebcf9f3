/**
 * Errors of the MCP client, and the tool error codes MCP tools report to the model.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Codes of MCP tool errors (beside the executor's `E_TOOL_*` codes, which MCP tools share).
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  /** The server answered the call with `isError: true`; the message is the server's. */
  toolError: "E_MCP_TOOL_ERROR",
  /** The server process exited or the connection closed while the call ran. */
  serverCrashed: "E_MCP_SERVER_CRASHED",
  /** The server is being (re)started and did not come up within the call's time. */
  unavailable: "E_MCP_UNAVAILABLE",
  /** The server refused the request (a JSON-RPC error: unknown tool, invalid params, ...). */
  protocol: "E_MCP_PROTOCOL"
} as const

/**
 * A server could not be started or connected to (spawn failed, the MCP handshake failed, the sandbox is
 * unavailable, a value source is missing).
 *
 * @since 0.1.0
 * @category errors
 */
export class McpConnectError extends Schema.TaggedError<McpConnectError>("effect-swarm/McpConnectError")(
  "McpConnectError",
  {
    server: Schema.String,
    reason: Schema.String,
    suggestion: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `McpServer/${this.server}: ${this.reason}${this.suggestion === undefined ? "" : ` (${this.suggestion})`}`
  }
}

/**
 * A call to a server failed before it produced a result: `code` is one of {@link codes} or
 * `E_TOOL_TIMEOUT`.
 *
 * @since 0.1.0
 * @category errors
 */
export class McpCallError extends Schema.TaggedError<McpCallError>("effect-swarm/McpCallError")("McpCallError", {
  server: Schema.String,
  tool: Schema.String,
  code: Schema.String,
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `McpServer/${this.server} tool ${JSON.stringify(this.tool)}: ${this.reason}`
  }
}
