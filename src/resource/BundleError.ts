/**
 * Every problem found in a bundle, each with its code, the file and document it is in, the field path,
 * a message and (where we can tell) a suggestion. `Bundle.load` fails with one {@link BundleError}
 * listing all of them, never only the first.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The issue codes, with what triggers them. The `E_CONFIG_*` names of the reference runtime are kept;
 * the ones it never checked are added.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes = {
  E_CONFIG_BUNDLE_NOT_FOUND: "the bundle directory does not exist or is not a directory",
  E_CONFIG_PARSE_ERROR: "a file is not valid YAML (syntax, duplicate keys, binary data, nesting too deep)",
  E_CONFIG_FILE_TOO_LARGE: "a YAML file is larger than the limit (1 MiB by default)",
  E_CONFIG_TOO_MANY_DOCUMENTS: "a YAML file has more documents than the limit (100 by default)",
  E_CONFIG_ALIAS_LIMIT: "YAML aliases expand beyond the limit (billion-laughs protection)",
  E_CONFIG_FILE_OUTSIDE_ROOT: "a bundle file is a symlink to a file outside the bundle root",
  E_CONFIG_FILE_IGNORED:
    "(warning) a YAML file at the bundle root is not loaded because of its name, or a symlinked directory is not scanned",
  E_CONFIG_UNSUPPORTED_API_VERSION: "apiVersion is neither effect-swarm/v1 nor goondan.ai/v1",
  E_CONFIG_UNKNOWN_KIND: "kind is not one of the eight resource kinds",
  E_CONFIG_INVALID_NAME: "metadata.name is not a lowercase DNS label of at most 63 characters",
  E_CONFIG_UNKNOWN_FIELD: "a field that the kind does not have (with the nearest known field)",
  E_CONFIG_SCHEMA_INVALID: "a field has the wrong type or value, or a rule between fields is broken",
  E_CONFIG_DUPLICATE_NAME: "two resources of the same kind and name in one package scope",
  E_CONFIG_INVALID_REF: "a reference is not \"Kind/name\", { kind, name, package? } or { ref: ... }",
  E_CONFIG_REF_KIND_MISMATCH: "a reference names another kind than the field expects",
  E_CONFIG_REF_NOT_FOUND: "a reference names a resource that does not exist",
  E_CONFIG_UNKNOWN_PROVIDER:
    "a Model's provider is not one of openai-compatible, openai, anthropic, effect-ai, scripted",
  E_CONFIG_ENTRY_OUTSIDE_ROOT:
    "an entry, systemRef or script path is absolute or leaves the bundle root (also via symlink)",
  E_CONFIG_ENTRY_NOT_FOUND: "an entry, systemRef or script file does not exist",
  E_CONFIG_ENTRY_UNSUPPORTED:
    "warning: a node tool's TypeScript entry cannot run on this Node (no type stripping before 22.6)",
  E_CONFIG_REQUIRED_TOOL_MISSING: "an Agent's requiredTools names a tool that is not in its tool catalog",
  E_CONFIG_INGRESS_EVENT_UNKNOWN: "an ingress rule matches an event (or property) its Connector does not declare",
  E_CONFIG_INGRESS_AGENT_NOT_IN_SWARM: "an ingress rule routes to an agent that is not in the Connection's Swarm",
  E_CONFIG_PACKAGE_DOC_POSITION: "the Package document is not the first document of the bundle manifest",
  E_CONFIG_PACKAGE_DOC_DUPLICATED: "more than one Package document",
  E_CONFIG_PACKAGE_LOCK_MISSING: "a dependency's version cannot be confirmed from the lockfile",
  E_CONFIG_PACKAGE_VERSION_MISMATCH: "no locked version of a dependency satisfies its declared range",
  E_CONFIG_PACKAGE_VERSION_CONFLICT: "two different versions of one package are required",
  E_CONFIG_PACKAGE_NOT_INSTALLED: "a dependency is not installed under <home>/packages",
  E_CONFIG_PACKAGE_MANIFEST_MISSING:
    "an installed dependency has no manifest (dist/effect-swarm.yaml, goondan.yaml, ...)",
  E_CONFIG_PACKAGE_CYCLE: "package dependencies form a cycle",
  E_CONFIG_PACKAGE_IDENTITY_MISMATCH:
    "an installed dependency's Package document declares another name or version than it was installed as"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Code = keyof typeof codes

/**
 * One problem. `file` is relative to the bundle root (dependency files read `<package>/<file>`),
 * `document` is the 0-based document index in the file (absent for problems with a whole file), `path`
 * the field path inside the document (`spec.exports[0].name`, empty for the whole document).
 *
 * @since 0.1.0
 * @category models
 */
export const BundleIssue = Schema.Struct({
  code: Schema.String,
  severity: Schema.Literal("error", "warning"),
  file: Schema.String,
  document: Schema.optional(Schema.Number),
  line: Schema.optional(Schema.Number),
  path: Schema.String,
  message: Schema.String,
  suggestion: Schema.optional(Schema.String)
}).annotations({ identifier: "BundleIssue" })

/**
 * @since 0.1.0
 * @category models
 */
export type BundleIssue = typeof BundleIssue.Type

/**
 * Formats a field path: `["spec", "exports", 0, "name"]` becomes `spec.exports[0].name`.
 *
 * @example
 * ```ts
 * import { BundleError } from "effect-swarm"
 * BundleError.formatPath(["spec", "exports", 0, "name"]) // "spec.exports[0].name"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath = (path: ReadonlyArray<string | number>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out.length === 0 ? key : `.${key}`
  }
  return out
}

/**
 * Where an issue is: `file:document path (line N)`, with the document index (from 0), the field path and
 * the line of that field; parts that do not apply are left out (`file` alone for a whole file).
 *
 * @example
 * ```ts
 * import { BundleError } from "effect-swarm"
 * BundleError.location({ code: "E_CONFIG_REF_NOT_FOUND", severity: "error", file: "agents.yaml", document: 1, line: 14, path: "spec.tools[0]", message: "" })
 * // "agents.yaml:1 spec.tools[0] (line 14)"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const location = (issue: BundleIssue): string =>
  `${issue.file}${issue.document === undefined ? "" : `:${issue.document}`}${
    issue.path.length === 0 ? "" : ` ${issue.path}`
  }${issue.line === undefined ? "" : ` (line ${issue.line})`}`

/**
 * One line per issue, `file:document path (line N)  CODE  message` (N: the line of the field itself), and
 * the suggestion on the next line.
 *
 * @example
 * ```ts
 * import { BundleError } from "effect-swarm"
 * BundleError.formatIssue({
 *   code: "E_CONFIG_UNKNOWN_FIELD", severity: "error", file: "tools.yaml", document: 0,
 *   path: "spec.exprots", message: "unknown field \"exprots\"", suggestion: "did you mean \"exports\"?"
 * })
 * // tools.yaml:0 spec.exprots  E_CONFIG_UNKNOWN_FIELD  unknown field "exprots"
 * //     suggestion: did you mean "exports"?
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatIssue = (issue: BundleIssue): string =>
  `${location(issue)}  ${issue.code}  ${issue.severity === "warning" ? "warning: " : ""}${issue.message}${
    issue.suggestion === undefined ? "" : `\n    suggestion: ${issue.suggestion}`
  }`

/**
 * A bundle could not be loaded. `issues` holds every problem found (errors, and the warnings found
 * along the way).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle } from "effect-swarm"
 * const program = Bundle.load("./bundle").pipe(
 *   Effect.catchTag("BundleError", (e) => Effect.succeed(e.issues.map((i) => i.code)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BundleError extends Schema.TaggedError<BundleError>("effect-swarm/BundleError")("BundleError", {
  root: Schema.String,
  issues: Schema.Array(BundleIssue)
}) {
  /** Only the issues that are errors. */
  get errors(): ReadonlyArray<BundleIssue> {
    return this.issues.filter((i) => i.severity === "error")
  }

  override get message(): string {
    const errors = this.errors
    const head = `bundle ${this.root} has ${errors.length} error${errors.length === 1 ? "" : "s"}`
    return [head, ...errors.map((i) => "  " + formatIssue(i).replace(/\n/g, "\n  "))].join("\n")
  }
}
