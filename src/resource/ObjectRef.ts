/**
 * References between resources: `"Kind/name"` strings, `{ kind, name, package? }` objects and
 * `{ ref: ... }` wrappers, parsed in one place and used by validation and by every later area.
 *
 * Unlike the reference runtime, a malformed reference is an error (never silently dropped), and a
 * reference in a field that expects one kind (`modelRef`, `tools[]`, ...) must name that kind.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as IssueMessage from "./internal/issueMessage.js"

const { isRecord, show } = IssueMessage

/**
 * A parsed reference. `package` is set when the reference names a package explicitly; otherwise the
 * reference resolves in the referring resource's own package scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectRef {
  readonly kind: string
  readonly name: string
  readonly package?: string | undefined
}

/**
 * A reference could not be parsed: `message` says why, `suggestion` how to write it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefProblem {
  readonly message: string
  readonly suggestion?: string | undefined
}

/**
 * Parses a `"Kind/name"` string. The kind and the name must be non-empty and the name must not
 * contain another `/`.
 *
 * @example
 * ```ts
 * import { ObjectRef } from "effect-swarm"
 * ObjectRef.parseString("Tool/echo") // Either.right({ kind: "Tool", name: "echo" })
 * ObjectRef.parseString("Tool-echo") // Either.left({ message: ..., suggestion: ... })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseString = (input: string, expectedKind?: string): Either.Either<ObjectRef, RefProblem> => {
  const s = input.trim()
  const slash = s.indexOf("/")
  if (slash <= 0 || slash === s.length - 1) {
    return Either.left({
      message: `invalid reference ${show(input)}: expected "Kind/name"`,
      suggestion: slash === -1 && s.length > 0 && expectedKind !== undefined ?
        `write "${expectedKind}/${s}"` :
        `write the reference as "Kind/name", e.g. "${expectedKind ?? "Tool"}/my-tool"`
    })
  }
  if (s.indexOf("/", slash + 1) !== -1) {
    return Either.left({
      message: `invalid reference ${show(input)}: the name must not contain "/"`,
      suggestion: `to name a resource of another package use { kind, name, package }`
    })
  }
  return Either.right({ kind: s.slice(0, slash), name: s.slice(slash + 1) })
}

const objectKeys = new Set(["kind", "name", "package", "apiVersion"])

/**
 * Parses anything a bundle may use as a reference: a string, an object `{ kind, name, package? }`
 * (an optional `apiVersion` is tolerated) or a `{ ref: <string | object> }` wrapper.
 *
 * @example
 * ```ts
 * import { ObjectRef } from "effect-swarm"
 * ObjectRef.parse({ ref: { kind: "Tool", name: "agents", package: "@goondan/base" } })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: unknown, expectedKind?: string): Either.Either<ObjectRef, RefProblem> => {
  if (typeof input === "string") return parseString(input, expectedKind)
  if (!isRecord(input)) {
    return Either.left({
      message: `invalid reference ${show(input)}: expected "Kind/name" or { kind, name }`
    })
  }
  if ("ref" in input) {
    const extra = Object.keys(input).find((k) => k !== "ref")
    if (extra !== undefined) return Either.left({ message: `unknown field ${show(extra)} next to "ref"` })
    return parse(input.ref, expectedKind)
  }
  const { kind, name } = input
  const pkg = input.package
  if (typeof kind !== "string" || kind.trim().length === 0) {
    return Either.left({ message: `invalid reference ${show(input)}: "kind" must be a non-empty string` })
  }
  if (typeof name !== "string" || name.trim().length === 0) {
    return Either.left({ message: `invalid reference ${show(input)}: "name" must be a non-empty string` })
  }
  if (pkg !== undefined && (typeof pkg !== "string" || pkg.trim().length === 0)) {
    return Either.left({ message: `invalid reference ${show(input)}: "package" must be a non-empty string` })
  }
  for (const key of Object.keys(input)) {
    if (!objectKeys.has(key)) {
      return Either.left({ message: `invalid reference ${show(input)}: unknown field ${show(key)}` })
    }
  }
  return Either.right(
    pkg === undefined ? { kind: kind.trim(), name: name.trim() } : {
      kind: kind.trim(),
      name: name.trim(),
      package: (pkg as string).trim()
    }
  )
}

/**
 * Formats a reference as `Kind/name`, with `@package` appended when it names one.
 *
 * @example
 * ```ts
 * import { ObjectRef } from "effect-swarm"
 * ObjectRef.format({ kind: "Tool", name: "bash", package: "@goondan/base" }) // "Tool/bash (package @goondan/base)"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (ref: ObjectRef): string =>
  ref.package === undefined ? `${ref.kind}/${ref.name}` : `${ref.kind}/${ref.name} (package ${ref.package})`

/**
 * The scope key of the local bundle (resources without a package).
 *
 * @since 0.1.0
 * @category constants
 */
export const localScope = "<local>"

/**
 * The identity of a resource within a package scope: `"<scope>|Kind/name"`.
 *
 * @example
 * ```ts
 * import { ObjectRef } from "effect-swarm"
 * ObjectRef.identity("@acme/app", "Tool", "echo") // "@acme/app|Tool/echo"
 * ```
 *
 * @since 0.1.0
 * @category identity
 */
export const identity = (scope: string | undefined, kind: string, name: string): string =>
  `${scope ?? localScope}|${kind}/${name}`

/**
 * Whether two references name the same resource (the package only counts when both sides give one,
 * as in the reference runtime).
 *
 * @example
 * ```ts
 * import { ObjectRef } from "effect-swarm"
 * ObjectRef.sameTarget({ kind: "Agent", name: "a" }, { kind: "Agent", name: "a", package: "p" }) // true
 * ```
 *
 * @since 0.1.0
 * @category identity
 */
export const sameTarget = (a: ObjectRef, b: ObjectRef): boolean =>
  a.kind === b.kind && a.name === b.name &&
  (a.package === undefined || b.package === undefined || a.package === b.package)

const article = (word: string): string => (/^[AEIOU]/.test(word) ? "an" : "a")

/**
 * A schema for a reference field. With `expectedKind` the reference must name that kind; the
 * decoded value is always the normal object form.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ObjectRef } from "effect-swarm"
 * Schema.decodeUnknownSync(ObjectRef.schema("Model"))("Model/default") // { kind: "Model", name: "default" }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema = (expectedKind?: string): Schema.Schema<ObjectRef, unknown> =>
  Schema.transformOrFail(Schema.Unknown, Schema.Unknown as Schema.Schema<ObjectRef>, {
    strict: true,
    decode: (input, _, ast) => {
      const parsed = parse(input, expectedKind)
      if (Either.isLeft(parsed)) {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, IssueMessage.encode(parsed.left.message, parsed.left))
        )
      }
      const ref = parsed.right
      if (expectedKind !== undefined && ref.kind !== expectedKind) {
        return ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            IssueMessage.encode(
              `expected a reference to ${article(expectedKind)} ${expectedKind}, got ${format(ref)}`,
              {
                code: "E_CONFIG_REF_KIND_MISMATCH",
                suggestion: `reference ${
                  article(expectedKind)
                } ${expectedKind} here, e.g. "${expectedKind}/${ref.name}"`
              }
            )
          )
        )
      }
      return ParseResult.succeed(ref)
    },
    encode: (ref) => ParseResult.succeed(ref)
  }).annotations({
    identifier: expectedKind ? `${expectedKind}Ref` : "ObjectRef",
    [IssueMessage.CodeAnnotationId]: "E_CONFIG_INVALID_REF"
  })
