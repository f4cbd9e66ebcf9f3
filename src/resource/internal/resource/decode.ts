/**
 * Any resource, the schema of a kind, and decoding a document into a typed resource or every issue.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import * as Yaml from "../../Yaml.js"
import * as IssueMessage from "../issueMessage.js"
import { Agent, type AgentResource } from "./agent.js"
import { Connection, type ConnectionResource } from "./connection.js"
import { Connector, type ConnectorResource } from "./connector.js"
import { isKind, isRecord, type Kind, kinds, show } from "./envelope.js"
import { Extension, type ExtensionResource } from "./extension.js"
import { McpServer, type McpServerResource } from "./mcpServer.js"
import { Model, type ModelResource } from "./model.js"
import { Package, type PackageResource } from "./package.js"
import { type ScriptStep, ScriptSteps } from "./script.js"
import { Swarm, type SwarmResource } from "./swarm.js"
import { Tool, type ToolResource } from "./tool.js"

/**
 * Any decoded resource; narrow on `kind`.
 *
 * @since 0.1.0
 * @category models
 */
export type Resource =
  | ModelResource
  | ToolResource
  | McpServerResource
  | ExtensionResource
  | AgentResource
  | SwarmResource
  | ConnectorResource
  | ConnectionResource
  | PackageResource

/**
 * The resource type of a kind.
 *
 * @since 0.1.0
 * @category models
 */
export type OfKind<K extends Kind> = Extract<Resource, { readonly kind: K }>

const schemas: { readonly [K in Kind]: Schema.Schema<OfKind<K>, any> } = {
  Model,
  Tool,
  McpServer,
  Extension,
  Agent,
  Swarm,
  Connector,
  Connection,
  Package
}

/**
 * The schema of a kind.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * import { Schema } from "effect"
 * const decodeTool = Schema.decodeUnknownEither(Resource.schemaOf("Tool"), { errors: "all", onExcessProperty: "error" })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemaOf = <K extends Kind>(kind: K): Schema.Schema<OfKind<K>, any> => schemas[kind]

// ---------------------------------------------------------------------------------------------------
// Decoding into issues
// ---------------------------------------------------------------------------------------------------

/**
 * One problem with a document, at a field path.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly code: string
  readonly path: ReadonlyArray<string | number>
  readonly message: string
  readonly suggestion?: string | undefined
}

const describeAst = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "TupleType":
      return "a list"
    case "TypeLiteral":
      return ast.indexSignatures.length > 0 && ast.propertySignatures.length === 0 ? "a mapping" : "an object"
    case "Literal":
      return show(ast.literal)
    case "Union":
      return ast.types.map(describeAst).join(" or ")
    case "Refinement":
    case "Transformation":
      return describeAst(ast._tag === "Refinement" ? ast.from : ast.to)
    default:
      return Option.getOrElse(AST.getIdentifierAnnotation(ast), () => String(ast))
  }
}

const fieldsOf = (ast: AST.AST): ReadonlyArray<string> | undefined => {
  if (ast._tag === "TypeLiteral") return ast.propertySignatures.map((p) => String(p.name))
  if (ast._tag === "Refinement") return fieldsOf(ast.from)
  if (ast._tag === "Transformation") return fieldsOf(ast.from)
  return undefined
}

const codeOf = (ast: AST.AST): string | undefined => {
  const value = ast.annotations[IssueMessage.CodeAnnotationId]
  return typeof value === "string" ? value : undefined
}

const collect = (
  issue: ParseResult.ParseIssue,
  path: Array<string | number>,
  code: string | undefined,
  fields: ReadonlyArray<string> | undefined,
  out: Array<Issue>
): void => {
  switch (issue._tag) {
    case "Pointer": {
      const keys = Array.isArray(issue.path) ? issue.path : [issue.path]
      collect(issue.issue, [...path, ...keys.map((k) => (typeof k === "number" ? k : String(k)))], code, fields, out)
      return
    }
    case "Composite": {
      const subs = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      // A value that is none of a list of literals is one issue naming them all, not one per literal.
      const literals = subs.filter((sub) => sub._tag === "Type" && sub.ast._tag === "Literal")
      if (
        issue.ast._tag === "Union" && literals.length > 1 &&
        subs.every((sub) => sub._tag === "Type" && (sub.ast._tag === "Literal" || sub.ast._tag === "UndefinedKeyword"))
      ) {
        out.push({
          code: codeOf(issue.ast) ?? code ?? "E_CONFIG_SCHEMA_INVALID",
          path,
          message: `expected ${literals.map((sub) => describeAst(sub.ast)).join(" or ")}, got ${
            issue.actual === null ? "null" : show(issue.actual)
          }`
        })
        return
      }
      const nextFields = fieldsOf(issue.ast) ?? fields
      for (const sub of subs) collect(sub, path, codeOf(issue.ast) ?? code, nextFields, out)
      return
    }
    case "Refinement":
    case "Transformation":
      collect(issue.issue, path, codeOf(issue.ast) ?? code, fieldsOf(issue.ast) ?? fields, out)
      return
    case "Missing":
      out.push({ code: "E_CONFIG_SCHEMA_INVALID", path, message: "required field is missing" })
      return
    case "Unexpected": {
      const field = String(path[path.length - 1])
      if (issue.message !== undefined && !issue.message.startsWith("is unexpected")) {
        const parts = IssueMessage.decode(issue.message)
        out.push({ code: "E_CONFIG_UNKNOWN_FIELD", path, message: parts.message, suggestion: parts.suggestion })
        return
      }
      const near = fields === undefined ? undefined : IssueMessage.nearest(field, fields)
      out.push({
        code: "E_CONFIG_UNKNOWN_FIELD",
        path,
        message: `unknown field ${show(field)}`,
        suggestion: near !== undefined ?
          `did you mean "${near}"?` :
          fields !== undefined && fields.length > 0 ?
          `known fields: ${fields.join(", ")}` :
          undefined
      })
      return
    }
    case "Type":
    case "Forbidden": {
      // An optional field is a union with undefined: that branch failing says nothing useful.
      if (issue.ast._tag === "UndefinedKeyword") return
      const raw = issue.message ??
        `expected ${describeAst(issue.ast)}, got ${issue.actual === null ? "null" : show(issue.actual)}`
      const parts = IssueMessage.decode(raw)
      out.push({
        code: parts.code ?? codeOf(issue.ast) ?? code ?? "E_CONFIG_SCHEMA_INVALID",
        path,
        message: parts.message,
        suggestion: parts.suggestion
      })
      return
    }
  }
}

/**
 * Flattens a schema failure into issues with codes, paths and suggestions.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * import { Either, Schema } from "effect"
 * const result = Schema.decodeUnknownEither(Resource.Model, { errors: "all" })({ kind: "Model" })
 * if (Either.isLeft(result)) Resource.issuesOf(result.left) // [{ code, path, message, suggestion }]
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const issuesOf = (error: ParseResult.ParseError): Array<Issue> => {
  const out: Array<Issue> = []
  collect(error.issue, [], undefined, undefined, out)
  return out
}

const decodeSteps = Schema.decodeUnknownEither(ScriptSteps, { errors: "all", onExcessProperty: "error" })

/**
 * Decodes the content of a script file (a list of {@link ScriptStep}s), or every issue found, with
 * paths from the list (`[1].toolCalls[0].name`).
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.decodeScript([{ match: "hello", text: "Hi!" }]) // Either.right([...])
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeScript = (value: unknown): Either.Either<ReadonlyArray<ScriptStep>, ReadonlyArray<Issue>> => {
  if (!Array.isArray(value)) {
    return Either.left([{
      code: "E_CONFIG_SCHEMA_INVALID",
      path: [],
      message: `a script file holds a list of steps, got ${show(value)}`,
      suggestion: `write one step per item: - { match: hello, text: "Hi!" }`
    }])
  }
  const result = decodeSteps(value)
  return Either.isRight(result) ? Either.right(result.right) : Either.left(issuesOf(result.left))
}

const decoders = Object.fromEntries(
  kinds.map((kind) => [
    kind,
    Schema.decodeUnknownEither(schemas[kind] as Schema.Schema<Resource, any>, {
      errors: "all",
      onExcessProperty: "error"
    })
  ])
) as Record<Kind, (u: unknown) => Either.Either<Resource, ParseResult.ParseError>>

const envelopeKeys = ["apiVersion", "kind", "metadata", "spec"]

const setAt = (root: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown => {
  if (path.length === 0) return value
  const [head, ...rest] = path
  if (Array.isArray(root)) {
    const copy = [...root]
    copy[head as number] = setAt(copy[head as number], rest, value)
    return copy
  }
  if (isRecord(root)) return { ...root, [head!]: setAt(root[head!], rest, value) }
  return root
}

const getAt = (root: unknown, path: ReadonlyArray<string | number>): unknown => {
  let v = root
  for (const k of path) v = isRecord(v) || Array.isArray(v) ? (v as any)[k] : undefined
  return v
}

/**
 * Decodes one document into a typed resource, or every issue found. YAML numbers in fields that want
 * a string become their source text (`version: 1.0` is `"1.0"`), using the document's number sources.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * const result = Resource.decode({ apiVersion: "effect-swarm/v1", kind: "Model", metadata: { name: "m" }, spec: { provider: "openai", model: "gpt-4.1" } })
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (
  value: unknown,
  numberSources?: ReadonlyMap<string, string>
): Either.Either<Resource, ReadonlyArray<Issue>> => {
  if (!isRecord(value)) {
    return Either.left([{
      code: "E_CONFIG_SCHEMA_INVALID",
      path: [],
      message: `a resource must be a mapping with apiVersion, kind, metadata and spec, got ${show(value)}`
    }])
  }
  const kind = value.kind
  if (kind === undefined) {
    return Either.left([{
      code: "E_CONFIG_SCHEMA_INVALID",
      path: ["kind"],
      message: "required field is missing",
      suggestion: `one of ${kinds.join(", ")}`
    }])
  }
  if (!isKind(kind)) {
    const near = typeof kind === "string" ? IssueMessage.nearest(kind, kinds) : undefined
    const issues: Array<Issue> = [{
      code: "E_CONFIG_UNKNOWN_KIND",
      path: ["kind"],
      message: `unknown kind ${show(kind)}`,
      suggestion: near !== undefined ? `did you mean "${near}"?` : `use one of ${kinds.join(", ")}`
    }]
    return Either.left(issues)
  }
  let input: unknown = value
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = decoders[kind](input)
    if (Either.isRight(result)) return Either.right(result.right)
    const issues = issuesOf(result.left)
    // A number where a string is wanted: retry once with the YAML source text.
    const wantString = attempt === 0 ?
      issues.flatMap((i) => {
        if (i.code !== "E_CONFIG_SCHEMA_INVALID" || !i.message.startsWith("expected a string")) return []
        const at = getAt(input, i.path)
        if (typeof at === "number") return [i.path]
        // A value source reports its own path; the number is its `value`.
        const inner = [...i.path, "value"]
        return typeof at === "object" && at !== null && typeof getAt(input, inner) === "number" ? [inner] : []
      }) :
      []
    if (wantString.length === 0) {
      for (const issue of issues) {
        if (issue.code === "E_CONFIG_UNKNOWN_FIELD" && issue.path.length === 1) {
          const near = IssueMessage.nearest(String(issue.path[0]), envelopeKeys)
          ;(issue as { suggestion?: string | undefined }).suggestion = near === undefined ?
            "a resource has only apiVersion, kind, metadata and spec" :
            `did you mean "${near}"?`
        }
      }
      return Either.left(issues)
    }
    for (const path of wantString) {
      const n = getAt(input, path) as number
      input = setAt(input, path, numberSources?.get(Yaml.pathKey(path)) ?? String(n))
    }
  }
  return Either.left([])
}
