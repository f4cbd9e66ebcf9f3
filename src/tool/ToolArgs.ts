/**
 * Tool argument validation against the export's JSON Schema, with ajv: full JSON Schema (nested
 * `required` and `additionalProperties`, numeric and string constraints, `enum`, `oneOf`, `$ref`, ...),
 * where the reference checked a small subset and silently ignored the rest.
 *
 * Each schema is compiled once and cached (by object identity, then by content, so a catalog rebuilt
 * every step does not recompile). Issues come out in the reference's format (`args.path: message`,
 * with its wording for the checks it had) and order (missing properties, then unexpected properties,
 * then the rest); the message shows at most five, then `+N more issues`.
 *
 * @since 0.1.0
 */
import { Ajv } from "ajv"
import type { ErrorObject, ValidateFunction } from "ajv"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { JsonSchema } from "./ToolCatalog.js"

/**
 * One argument problem: where (`args.items[1].name`) and what.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly path: string
  readonly message: string
}

/**
 * A schema that ajv cannot compile (a configuration error in the Tool resource, not a model error).
 *
 * @since 0.1.0
 * @category errors
 */
export class SchemaError extends Schema.TaggedError<SchemaError>("effect-swarm/ToolArgs/SchemaError")(
  "SchemaError",
  { message: Schema.String }
) {}

/**
 * A compiled validator: returns the issues found, an empty array when the arguments are valid.
 *
 * @since 0.1.0
 * @category models
 */
export type Validator = (args: unknown) => ReadonlyArray<Issue>

/**
 * The most issues shown in a message.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxIssuesShown = 5

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, allowUnionTypes: true })

const byIdentity = new WeakMap<object, Either.Either<Validator, SchemaError>>()
const byContent = new Map<string, Either.Either<Validator, SchemaError>>()
// Bounds the content cache: schemas are few in practice, but generated ones must not leak.
const maxContentEntries = 1024

const actualType = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "array"
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number"
  return typeof value
}

const pathOf = (root: string, instancePath: string, data: unknown): { path: string; value: unknown } => {
  if (instancePath === "") return { path: root, value: data }
  let path = root
  let value: unknown = data
  for (const raw of instancePath.slice(1).split("/")) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    if (Array.isArray(value)) {
      path += `[${segment}]`
      value = value[Number(segment)]
    } else {
      path += `.${segment}`
      value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[segment] : undefined
    }
  }
  return { path, value }
}

const rank = (error: ErrorObject): number =>
  error.keyword === "required" ? 0 : error.keyword === "additionalProperties" ? 1 : 2

const toIssue = (error: ErrorObject, data: unknown): Issue => {
  const at = pathOf("args", error.instancePath, data)
  switch (error.keyword) {
    case "required":
      return { path: `${at.path}.${String(error.params.missingProperty)}`, message: "required property is missing" }
    case "additionalProperties":
      return { path: `${at.path}.${String(error.params.additionalProperty)}`, message: "unexpected property" }
    case "type": {
      const expected = Array.isArray(error.params.type) ? error.params.type.join("|") : String(error.params.type)
      return { path: at.path, message: `expected ${expected} but got ${actualType(at.value)}` }
    }
    case "enum":
      return {
        path: at.path,
        message: `value must be one of [${
          (error.params.allowedValues as ReadonlyArray<unknown>).map((v) => JSON.stringify(v)).join(", ")
        }]`
      }
    default:
      return { path: at.path, message: error.message ?? error.keyword }
  }
}

const issuesOf = (errors: ReadonlyArray<ErrorObject>, data: unknown): ReadonlyArray<Issue> => {
  // Branch errors under a failed oneOf/anyOf are noise once the combinator itself is reported.
  const combinators = errors.filter((e) => e.keyword === "oneOf" || e.keyword === "anyOf").map((e) =>
    e.schemaPath + "/"
  )
  const kept = combinators.length === 0
    ? errors
    : errors.filter((e) => !combinators.some((prefix) => e.schemaPath.startsWith(prefix)))
  const sorted = kept.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i)
  return sorted.map(({ e }) => toIssue(e, data))
}

const build = (schema: JsonSchema): Either.Either<Validator, SchemaError> => {
  let validate: ValidateFunction
  try {
    validate = ajv.compile(schema)
  } catch (e) {
    return Either.left(new SchemaError({ message: e instanceof Error ? e.message : String(e) }))
  }
  const empty: ReadonlyArray<Issue> = []
  return Either.right((args) => validate(args) ? empty : issuesOf(validate.errors ?? [], args))
}

/**
 * The validator of a schema, compiled on first use and cached.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { ToolArgs } from "effect-swarm"
 * const validate = Either.getOrThrow(ToolArgs.compile({
 *   type: "object", properties: { command: { type: "string" } }, required: ["command"], additionalProperties: false
 * }))
 * validate({}) // [{ path: "args.command", message: "required property is missing" }]
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (schema: JsonSchema): Either.Either<Validator, SchemaError> => {
  const cached = byIdentity.get(schema)
  if (cached !== undefined) return cached
  const key = JSON.stringify(schema)
  let compiled = byContent.get(key)
  if (compiled === undefined) {
    compiled = build(schema)
    if (byContent.size >= maxContentEntries) byContent.delete(byContent.keys().next().value!)
    byContent.set(key, compiled)
  }
  byIdentity.set(schema, compiled)
  return compiled
}

/**
 * The reference's message: `Invalid arguments for tool '<name>': <path>: <message>; ...`, at most
 * {@link maxIssuesShown} issues, then `; +N more issues`.
 *
 * @example
 * ```ts
 * import { ToolArgs } from "effect-swarm"
 * ToolArgs.formatIssues("bash__exec", [{ path: "args.command", message: "required property is missing" }])
 * // "Invalid arguments for tool 'bash__exec': args.command: required property is missing"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatIssues = (toolName: string, issues: ReadonlyArray<Issue>): string => {
  const shown = issues.slice(0, maxIssuesShown).map((i) => `${i.path}: ${i.message}`).join("; ")
  const more = issues.length > maxIssuesShown ? `; +${issues.length - maxIssuesShown} more issues` : ""
  return `Invalid arguments for tool '${toolName}': ${shown}${more}`
}

/**
 * The suggestion for invalid arguments: the schema's top-level required and allowed keys.
 *
 * @example
 * ```ts
 * import { ToolArgs } from "effect-swarm"
 * ToolArgs.suggestion({ type: "object", properties: { a: {}, b: {} }, required: ["a"] })
 * // "Check the input schema and rewrite the arguments. required=[a], allowed=[a, b]"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const suggestion = (schema: JsonSchema): string => {
  const required = Array.isArray(schema.required) ? schema.required.map(String) : []
  const properties = schema.properties
  const allowed = properties !== null && typeof properties === "object" && !Array.isArray(properties)
    ? Object.keys(properties)
    : []
  const list = (xs: ReadonlyArray<string>) => xs.length === 0 ? "(none)" : xs.join(", ")
  return `Check the input schema and rewrite the arguments. required=[${list(required)}], allowed=[${list(allowed)}]`
}
