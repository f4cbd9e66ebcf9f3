/**
 * The resource envelope (apiVersion, kind, metadata) and the field schemas every kind shares.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as ObjectRef from "../../ObjectRef.js"
import * as IssueMessage from "../issueMessage.js"

/** @since 0.1.0 */
export const isRecord = IssueMessage.isRecord
/** @since 0.1.0 */
export const show = IssueMessage.show

// ---------------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------------

/**
 * The resource kinds.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind =
  | "Model"
  | "Tool"
  | "McpServer"
  | "Extension"
  | "Agent"
  | "Swarm"
  | "Connector"
  | "Connection"
  | "Package"

/**
 * @since 0.1.0
 * @category constants
 */
export const kinds: ReadonlyArray<Kind> = [
  "Package",
  "Model",
  "Tool",
  "McpServer",
  "Extension",
  "Agent",
  "Swarm",
  "Connector",
  "Connection"
]

/**
 * Whether a string is a known kind.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.isKind("Tool") // true
 * Resource.isKind("Secret") // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isKind = (u: unknown): u is Kind => typeof u === "string" && (kinds as ReadonlyArray<string>).includes(u)

/**
 * The accepted apiVersions; `effect-swarm/v1` is ours, `goondan.ai/v1` is accepted unchanged.
 *
 * @since 0.1.0
 * @category models
 */
export type ApiVersion = "effect-swarm/v1" | "goondan.ai/v1"

/**
 * @since 0.1.0
 * @category constants
 */
export const apiVersions: ReadonlyArray<ApiVersion> = ["effect-swarm/v1", "goondan.ai/v1"]

/**
 * A schema failure carrying an issue code and a suggestion.
 *
 * @since 0.1.0
 */
export const fail = (ast: AST.AST, input: unknown, message: string, options?: {
  readonly code?: string | undefined
  readonly suggestion?: string | undefined
}) => ParseResult.fail(new ParseResult.Type(ast, input, IssueMessage.encode(message, options)))

/**
 * @since 0.1.0
 * @category schemas
 */
export const ApiVersionSchema: Schema.Schema<ApiVersion, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Literal(...apiVersions),
  {
    strict: true,
    decode: (input, _, ast) =>
      typeof input === "string" && (apiVersions as ReadonlyArray<string>).includes(input) ?
        ParseResult.succeed(input as ApiVersion) :
        fail(ast, input, `unsupported apiVersion ${show(input)}`, {
          code: "E_CONFIG_UNSUPPORTED_API_VERSION",
          suggestion: `use apiVersion: effect-swarm/v1 (goondan.ai/v1 is accepted too)`
        }),
    encode: ParseResult.succeed
  }
)

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/

/**
 * Turns any text into the nearest valid resource name (for suggestions).
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.slugify("My_Tool") // "my-tool"
 * ```
 *
 * @since 0.1.0
 * @category names
 */
export const slugify = (s: string): string =>
  s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "")

/**
 * The message for an invalid resource name, or `undefined` when the name is a lowercase DNS label of at
 * most 63 characters.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.checkName("web-search") // undefined
 * Resource.checkName("Web_Search") // "name \"Web_Search\" must be a lowercase DNS label: ..."
 * ```
 *
 * @since 0.1.0
 * @category names
 */
export const checkName = (name: string): string | undefined => {
  if (name.length === 0) return "metadata.name must not be empty"
  if (name.length > 63) return `name ${show(name)} is ${name.length} characters long; the limit is 63`
  if (!dnsLabel.test(name)) {
    return `name ${show(name)} must be a lowercase DNS label: a-z, 0-9 and "-", starting and ending with a ` +
      `letter or digit`
  }
  return undefined
}

const packageName = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/

/**
 * The message for an invalid package name (npm rules: lowercase, optional `@scope/`, at most 214
 * characters), or `undefined`.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.checkPackageName("@acme/bots") // undefined
 * ```
 *
 * @since 0.1.0
 * @category names
 */
export const checkPackageName = (name: string): string | undefined =>
  name.length > 0 && name.length <= 214 && packageName.test(name) ?
    undefined :
    `package name ${show(name)} is not a valid package name (lowercase, optional @scope/, e.g. "@acme/bots")`

const NameSchema = (kind: Kind) =>
  Schema.transformOrFail(Schema.Unknown, Schema.String, {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input !== "string") {
        return fail(ast, input, `metadata.name must be a string, got ${show(input)}`, {
          code: "E_CONFIG_INVALID_NAME"
        })
      }
      const problem = kind === "Package" ? checkPackageName(input) : checkName(input)
      if (problem === undefined) return ParseResult.succeed(input)
      const slug = slugify(input)
      return fail(ast, input, problem, {
        code: "E_CONFIG_INVALID_NAME",
        suggestion: kind !== "Package" && slug.length > 0 && slug !== input ? `use ${show(slug)}` : undefined
      })
    },
    encode: ParseResult.succeed
  })

const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * `metadata` of a resource.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata = (kind: Kind) =>
  Schema.Struct({
    name: NameSchema(kind),
    labels: Schema.optional(StringMap),
    annotations: Schema.optional(StringMap)
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface Metadata {
  readonly name: string
  readonly labels?: { readonly [key: string]: string }
  readonly annotations?: { readonly [key: string]: string }
}

// ---------------------------------------------------------------------------------------------------
// Shared field schemas
// ---------------------------------------------------------------------------------------------------

/**
 * A string that is not blank.
 *
 * @since 0.1.0
 */
export const NonEmptyString = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0 || "must be a non-empty string")
)

/**
 * An integer > 0.
 *
 * @since 0.1.0
 */
export const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => (Number.isSafeInteger(n) && n > 0) || `must be a positive integer, got ${n}`)
)

/**
 * A finite number >= 0.
 *
 * @since 0.1.0
 */
export const NonNegativeNumber = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n >= 0) || `must be a number >= 0, got ${n}`)
)

/**
 * An integer >= 0.
 *
 * @since 0.1.0
 */
export const NonNegativeInt = Schema.Number.pipe(
  Schema.filter((n) => (Number.isSafeInteger(n) && n >= 0) || `must be an integer >= 0, got ${n}`)
)

/**
 * A JSON object (any values).
 *
 * @since 0.1.0
 */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The message for a path in the bundle (an `entry` or a `systemRef`) that is absolute or climbs out
 * of the bundle root, or `undefined` when it stays inside.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.checkRelativePath("./tools/a.ts") // undefined
 * Resource.checkRelativePath("../../etc/passwd") // "path \"../../etc/passwd\" escapes the bundle root"
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const checkRelativePath = (p: string): string | undefined => {
  if (p.includes("\u0000")) return `path ${show(p)} contains a NUL character`
  if (p.startsWith("/") || p.startsWith("\\") || /^[A-Za-z]:/.test(p) || p.startsWith("~")) {
    return `path ${show(p)} is absolute; paths are relative to the bundle root`
  }
  let depth = 0
  for (const part of p.split(/[\\/]+/)) {
    if (part === "" || part === ".") continue
    if (part === "..") {
      depth--
      if (depth < 0) return `path ${show(p)} escapes the bundle root`
    } else depth++
  }
  return undefined
}

/**
 * A path relative to the bundle root that does not escape it.
 *
 * @since 0.1.0
 */
export const RelativePath = (field: string) =>
  Schema.transformOrFail(Schema.Unknown, Schema.String, {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input !== "string" || input.trim().length === 0) {
        return fail(ast, input, `${field} must be a non-empty relative path, got ${show(input)}`)
      }
      const problem = checkRelativePath(input.trim())
      return problem === undefined ?
        ParseResult.succeed(input.trim()) :
        fail(ast, input, problem, {
          code: "E_CONFIG_ENTRY_OUTSIDE_ROOT",
          suggestion: "keep the file inside the bundle directory and reference it as ./path/to/file"
        })
    },
    encode: ParseResult.succeed
  })

/**
 * A reference to a resource of `kind`.
 *
 * @since 0.1.0
 */
export const ref = (kind: Kind | undefined) => ObjectRef.schema(kind)

/**
 * An unknown field, with the nearest known one as a suggestion.
 *
 * @since 0.1.0
 */
export const unexpected = (key: string, value: unknown, known: ReadonlyArray<string>): ParseResult.Unexpected => {
  const near = IssueMessage.nearest(key, known)
  return new ParseResult.Unexpected(
    value,
    IssueMessage.encode(`unknown field ${show(key)}`, {
      suggestion: near === undefined ? `known fields: ${known.join(", ")}` : `did you mean "${near}"?`
    })
  )
}

/**
 * The envelope of a kind around its spec schema.
 *
 * @since 0.1.0
 */
export const resource = <K extends Kind, S extends Schema.Schema.Any>(kind: K, spec: S) =>
  Schema.Struct({
    apiVersion: ApiVersionSchema,
    kind: Schema.Literal(kind),
    metadata: Metadata(kind),
    spec
  })

/**
 * The envelope of a kind whose spec may be omitted.
 *
 * @since 0.1.0
 */
export const specOptional = <K extends Kind, S extends Schema.Schema.Any>(kind: K, spec: S) =>
  Schema.Struct({
    apiVersion: ApiVersionSchema,
    kind: Schema.Literal(kind),
    metadata: Metadata(kind),
    spec: Schema.optional(spec)
  })
