/**
 * The McpServer kind: an MCP server whose tools an Agent may use (`tools: [McpServer/<name>]`), reached
 * over stdio (a supervised child process) or Streamable HTTP.
 *
 * ```yaml
 * kind: McpServer
 * metadata: { name: files }
 * spec:
 *   stdio:
 *     command: node
 *     args: [./servers/files.mjs]
 *     cwd: ./servers
 *     env:
 *       API_TOKEN: { valueFrom: { env: FILES_TOKEN } }
 *   sandbox: { read: [./data], write: [], network: false }
 *   timeout: 30 seconds
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as ValueSource from "../../ValueSource.js"
import * as IssueMessage from "../issueMessage.js"
import { DurationField } from "./duration.js"
import { NonEmptyString, RelativePath, resource } from "./envelope.js"

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * `spec.stdio`: the server runs as a child process speaking MCP on its stdin/stdout. `cwd` is relative
 * to the bundle root (default: the root) and must stay inside it. Its environment is `PATH`, a private
 * `HOME`/`TMPDIR` and exactly the variables of `env`: nothing else of the host's environment.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpStdio = Schema.Struct({
  command: NonEmptyString,
  args: Schema.optional(Schema.Array(Schema.String)),
  cwd: Schema.optional(RelativePath("cwd")),
  env: Schema.optional(
    Schema.Record({ key: Schema.String, value: ValueSource.ValueSource }).pipe(
      Schema.filter((env) => {
        const bad = Object.keys(env).find((k) => !envName.test(k))
        return bad === undefined ||
          IssueMessage.encode(`env name ${JSON.stringify(bad)} is not an environment variable name`, {
            suggestion: "use letters, digits and _, starting with a letter or _"
          })
      })
    )
  )
})

/**
 * `spec.http`: a Streamable HTTP endpoint (`http:` or `https:`), with headers from value sources.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpHttp = Schema.Struct({
  url: NonEmptyString.pipe(
    Schema.filter((u) => {
      let parsed: URL
      try {
        parsed = new URL(u)
      } catch {
        return IssueMessage.encode(`url ${JSON.stringify(u)} is not a URL`, {
          suggestion: "e.g. http://127.0.0.1:3000/mcp"
        })
      }
      return parsed.protocol === "http:" || parsed.protocol === "https:" ||
        IssueMessage.encode(`url ${JSON.stringify(u)} must use http: or https:`)
    })
  ),
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: ValueSource.ValueSource }))
})

/**
 * `spec.sandbox` (stdio only): run the server under the OS sandbox (bubblewrap). `read`: `all` or paths
 * (relative to the bundle root) it may read besides the system directories and its `cwd`; `write`: paths
 * it may write; `network`: whether it keeps the host's network (default `false`: no network at all).
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpSandbox = Schema.Struct({
  read: Schema.optional(Schema.Union(Schema.Literal("all"), Schema.Array(NonEmptyString))),
  write: Schema.optional(Schema.Array(NonEmptyString)),
  network: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const McpServerSpec = Schema.Struct({
  stdio: Schema.optional(McpStdio),
  http: Schema.optional(McpHttp),
  sandbox: Schema.optional(McpSandbox),
  /** The per-call timeout of this server's tools (default: the executor's, 60 s). */
  timeout: Schema.optional(DurationField("timeout")),
  /** Error messages of this server's tools are truncated to this many characters. */
  errorMessageLimit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive()))
}).pipe(
  Schema.filter((s) => {
    if ((s.stdio === undefined) === (s.http === undefined)) {
      return IssueMessage.encode("an McpServer needs exactly one of stdio or http", {
        suggestion: "stdio: { command, args } for a local server, http: { url } for a remote one"
      })
    }
    if (s.sandbox !== undefined && s.stdio === undefined) {
      return {
        path: ["sandbox"],
        message: IssueMessage.encode("sandbox applies to stdio servers only", {
          suggestion: "remove sandbox, or run the server over stdio"
        })
      }
    }
    return true
  })
)

/** @since 0.1.0 @category schemas */
export const McpServer = resource("McpServer", McpServerSpec)
/** @since 0.1.0 @category models */
export type McpServerResource = typeof McpServer.Type
