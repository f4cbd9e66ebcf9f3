/**
 * The reversible mapping between an MCP server's tool names and our tool names.
 *
 * An MCP tool joins the catalog as `{resource}__{tool}` where `{resource}` is the McpServer's name.
 * MCP names may hold characters models refuse in a function name (`.`, `/`, spaces, non-ASCII) and `__`,
 * which separates our two halves. The rule (`encode`):
 *
 * - `A-Z a-z 0-9 -` are kept;
 * - `_` is kept when the next character is kept and is not `x` (so the result never holds `__`, and `_x`
 *   always starts an escape);
 * - every other UTF-16 code unit (including any other `_`) becomes `_x` and four lowercase hex digits.
 *
 * `decode` reverses it exactly: `read.file` <-> `read_x002efile`, `a__b` <-> `a_x005fb`, `get_weather`
 * stays `get_weather`. A name longer than {@link maxToolNameLength} once mapped is refused (models accept
 * at most 64 characters), never truncated.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ToolName from "../tool/ToolName.js"

const kept = /^[A-Za-z0-9-]$/

/**
 * The longest tool name models accept.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxToolNameLength = 64

const escape = (unit: number): string => `_x${unit.toString(16).padStart(4, "0")}`

/**
 * Maps an MCP tool name to the export half of our tool name.
 *
 * @example
 * ```ts
 * import { McpName } from "effect-swarm/mcp/McpName"
 * McpName.encode("read.file") // "read_x002efile"
 * McpName.encode("get_weather") // "get_weather"
 * ```
 *
 * @since 0.1.0
 * @category mapping
 */
export const encode = (name: string): string => {
  let out = ""
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!
    if (kept.test(c)) {
      out += c
      continue
    }
    const next = name[i + 1]
    if (c === "_" && next !== undefined && next !== "x" && kept.test(next)) out += c
    else out += escape(name.charCodeAt(i))
  }
  return out
}

/**
 * Reverses {@link encode}.
 *
 * @example
 * ```ts
 * import { McpName } from "effect-swarm/mcp/McpName"
 * McpName.decode("read_x002efile") // "read.file"
 * ```
 *
 * @since 0.1.0
 * @category mapping
 */
export const decode = (encoded: string): string => {
  let out = ""
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded.slice(i + 2, i + 6)
    if (encoded[i] === "_" && encoded[i + 1] === "x" && /^[0-9a-f]{4}$/.test(hex)) {
      out += String.fromCharCode(parseInt(hex, 16))
      i += 5
    } else out += encoded[i]
  }
  return out
}

/**
 * Our tool name of a server's tool: `{resource}__{encode(tool)}`, or the reason it cannot be one.
 *
 * @example
 * ```ts
 * import { McpName } from "effect-swarm/mcp/McpName"
 * McpName.toolName("files", "read.file") // Either.right("files__read_x002efile")
 * ```
 *
 * @since 0.1.0
 * @category mapping
 */
export const toolName = (resourceName: string, mcpName: string): Either.Either<string, string> => {
  if (mcpName.length === 0) return Either.left("the server listed a tool without a name")
  const made = ToolName.make(resourceName, encode(mcpName))
  if (Either.isLeft(made)) return Either.left(made.left.message)
  if (made.right.length > maxToolNameLength) {
    return Either.left(
      `tool name ${JSON.stringify(made.right)} (for the server's ${JSON.stringify(mcpName)}) is ${made.right.length} ` +
        `characters; models accept at most ${maxToolNameLength}`
    )
  }
  return Either.right(made.right)
}
