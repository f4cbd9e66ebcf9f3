/**
 * The resource envelope and one schema per kind: Model, Tool, Extension, Agent, Swarm, Connector,
 * Connection and Package. Decoded resources are typed per kind (`ToolResource`, `AgentResource`, ...).
 *
 * Every resource is `{ apiVersion, kind, metadata: { name, labels?, annotations? }, spec }` with
 * apiVersion `effect-swarm/v1`, or `goondan.ai/v1` so goondan bundles load unchanged (the decoded
 * `apiVersion` records which one was used). Unknown fields are errors, with the nearest known field
 * as a suggestion.
 *
 * @since 0.1.0
 */
import { Ajv } from "ajv"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import * as RuntimeConfig from "../config/RuntimeConfig.js"
import * as IssueMessage from "./internal/issueMessage.js"
import * as ObjectRef from "./ObjectRef.js"
import * as ValueSource from "./ValueSource.js"
import * as Yaml from "./Yaml.js"

const { isRecord, show } = IssueMessage

// ---------------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------------

/**
 * The resource kinds.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "Model" | "Tool" | "Extension" | "Agent" | "Swarm" | "Connector" | "Connection" | "Package"

/**
 * @since 0.1.0
 * @category constants
 */
export const kinds: ReadonlyArray<Kind> = [
  "Package",
  "Model",
  "Tool",
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

const fail = (ast: AST.AST, input: unknown, message: string, options?: {
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

const NonEmptyString = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0 || "must be a non-empty string")
)

const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => (Number.isSafeInteger(n) && n > 0) || `must be a positive integer, got ${n}`)
)

const NonNegativeNumber = Schema.Number.pipe(
  Schema.filter((n) => (Number.isFinite(n) && n >= 0) || `must be a number >= 0, got ${n}`)
)

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

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

const RelativePath = (field: string) =>
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

const ref = (kind: Kind | undefined) => ObjectRef.schema(kind)

// ---------------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category schemas
 */
export const ModelSpec = Schema.Struct({
  provider: NonEmptyString,
  model: NonEmptyString,
  apiKey: Schema.optional(ValueSource.ValueSource),
  endpoint: Schema.optional(
    Schema.String.pipe(Schema.filter((s) => /^https?:\/\/[^\s]+$/.test(s) || "must be an http(s) URL"))
  ),
  options: Schema.optional(JsonObject),
  capabilities: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Boolean }))
})

// ---------------------------------------------------------------------------------------------------
// Tool (+ our sandbox runtime block)
// ---------------------------------------------------------------------------------------------------

/**
 * A warm worker pool for a sandboxed tool (opt-in).
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolPool {
  readonly size: number
  readonly maxCallsPerWorker: number | undefined
  readonly idleTimeout: Duration.Duration | undefined
}

/**
 * A Tool's `spec.runtime` block: present means the tool runs sandboxed in a subprocess of `type`,
 * with these fields applied over the layer's `RuntimeConfig`. Validated by the same rules (and with the
 * same messages) as `RuntimeConfig`; `permissions` are normalised.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolRuntime {
  readonly type: RuntimeConfig.RuntimeType
  readonly permissions: ReadonlyArray<string> | undefined
  readonly maxMemoryMB: number | undefined
  readonly timeout: Duration.Duration | undefined
  readonly pool: ToolPool | undefined
}

const unexpected = (key: string, value: unknown, known: ReadonlyArray<string>): ParseResult.Unexpected => {
  const near = IssueMessage.nearest(key, known)
  return new ParseResult.Unexpected(
    value,
    IssueMessage.encode(`unknown field ${show(key)}`, {
      suggestion: near === undefined ? `known fields: ${known.join(", ")}` : `did you mean "${near}"?`
    })
  )
}

const runtimeKeys = ["type", "permissions", "maxMemoryMB", "timeout", "pool"] as const
const poolKeys = ["size", "maxCallsPerWorker", "idleTimeout"] as const
const runtimeFieldOf: Record<string, string> = {
  runtimeType: "type",
  toolExecutionTimeout: "timeout",
  permissions: "permissions",
  maxMemoryMB: "maxMemoryMB"
}

const decodePool = (input: unknown, issues: Array<ParseResult.ParseIssue>, ast: AST.AST): ToolPool | undefined => {
  const at = (path: ReadonlyArray<string>, value: unknown, message: string, suggestion?: string) =>
    issues.push(
      new ParseResult.Pointer(
        ["pool", ...path],
        input,
        new ParseResult.Type(ast, value, IssueMessage.encode(message, { suggestion }))
      )
    )
  if (!isRecord(input)) {
    at([], input, `pool must be { size, maxCallsPerWorker?, idleTimeout? }, got ${show(input)}`)
    return undefined
  }
  for (const key of Object.keys(input)) {
    if (!(poolKeys as ReadonlyArray<string>).includes(key)) {
      issues.push(new ParseResult.Pointer(["pool", key], input, unexpected(key, input[key], poolKeys)))
    }
  }
  const positive = (key: string, unit: string): number | undefined => {
    const v = input[key]
    if (v === undefined) return undefined
    if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) return v
    at([key], v, `pool ${key} must be a positive integer (${unit}), got ${show(v)}`)
    return undefined
  }
  const size = positive("size", "workers")
  if (input.size === undefined) at(["size"], undefined, "pool size is required (workers)")
  const maxCallsPerWorker = positive("maxCallsPerWorker", "calls")
  let idleTimeout: Duration.Duration | undefined
  if (input.idleTimeout !== undefined) {
    const raw = input.idleTimeout
    const decoded = typeof raw === "number" || typeof raw === "string" ? Duration.decodeUnknown(raw) : Option.none()
    if (
      Option.isNone(decoded) || (typeof raw === "number" && !(raw > 0)) || !Duration.isFinite(decoded.value) ||
      Duration.lessThanOrEqualTo(decoded.value, Duration.zero)
    ) {
      at(
        ["idleTimeout"],
        raw,
        `pool idle timeout is not a positive duration: ${show(raw)}`,
        `use milliseconds or a string such as "30 seconds"`
      )
    } else idleTimeout = decoded.value
  }
  return size === undefined ? undefined : { size, maxCallsPerWorker, idleTimeout }
}

/**
 * The schema of a Tool's `spec.runtime`. It builds the `RuntimeConfig` input from the block and
 * validates it with `RuntimeConfig.decodeEither`, so a bundle and a `RuntimeConfig` reject the same
 * values with the same words.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Resource } from "effect-swarm"
 * Schema.decodeUnknownSync(Resource.ToolRuntimeSchema)({ type: "deno", permissions: ["--allow-net=api.example.com"], timeout: "5 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolRuntimeSchema: Schema.Schema<ToolRuntime, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ToolRuntime>,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (!isRecord(input)) {
        return fail(ast, input, `runtime must be an object such as { type: deno }, got ${show(input)}`)
      }
      const issues: Array<ParseResult.ParseIssue> = []
      for (const key of Object.keys(input)) {
        if (!(runtimeKeys as ReadonlyArray<string>).includes(key)) {
          issues.push(new ParseResult.Pointer(key, input, unexpected(key, input[key], runtimeKeys)))
        }
      }
      const configInput: Record<string, unknown> = { runtimeType: input.type ?? "" }
      if (input.permissions !== undefined) configInput.permissions = input.permissions
      if (input.maxMemoryMB !== undefined) configInput.maxMemoryMB = input.maxMemoryMB
      if (input.timeout !== undefined) configInput.toolExecutionTimeout = input.timeout
      const decoded = RuntimeConfig.decodeEither(configInput)
      if (Either.isLeft(decoded)) {
        for (const issue of decoded.left.errors) {
          const [head, ...rest] = issue.path
          const field = typeof head === "string" ? runtimeFieldOf[head] ?? head : head
          const path = field === undefined ? [] : [field, ...rest]
          const value = path.reduce<unknown>(
            (v, k) => (isRecord(v) || Array.isArray(v) ? (v as any)[k] : undefined),
            input
          )
          const leaf = new ParseResult.Type(ast, value, issue.message)
          issues.push(
            path.length === 0
              ? leaf
              : new ParseResult.Pointer(path as [PropertyKey, ...Array<PropertyKey>], input, leaf)
          )
        }
      }
      const pool = input.pool === undefined ? undefined : decodePool(input.pool, issues, ast)
      if (issues.length > 0 || Either.isLeft(decoded)) {
        return ParseResult.fail(new ParseResult.Composite(ast, input, issues as [ParseResult.ParseIssue]))
      }
      const config = decoded.right
      return ParseResult.succeed({
        type: config.runtimeType,
        permissions: input.permissions === undefined ? undefined : config.permissions,
        maxMemoryMB: input.maxMemoryMB === undefined ? undefined : config.maxMemoryMB,
        timeout: input.timeout === undefined ? undefined : config.toolExecutionTimeout,
        pool
      })
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "ToolRuntime" })

/**
 * The `RuntimeConfig` options a Tool's runtime block stands for, to apply over the layer's config
 * (`RuntimeConfig.update(base, ...runtimeOptions(tool.spec.runtime))`). `pool` is not a RuntimeConfig
 * field: the sandbox reads it from the block.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Resource, RuntimeConfig } from "effect-swarm"
 * declare const tool: Resource.ToolResource
 * const program = Effect.gen(function*() {
 *   const base = yield* RuntimeConfig.RuntimeConfig
 *   return tool.spec.runtime === undefined ? base : yield* RuntimeConfig.update(base, ...Resource.runtimeOptions(tool.spec.runtime))
 * })
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeOptions = (runtime: ToolRuntime): Array<RuntimeConfig.Option> => [
  RuntimeConfig.withRuntimeType(runtime.type),
  ...RuntimeConfig.optionsFromInput({
    ...(runtime.permissions === undefined ? {} : { permissions: runtime.permissions }),
    ...(runtime.maxMemoryMB === undefined ? {} : { maxMemoryMB: runtime.maxMemoryMB }),
    ...(runtime.timeout === undefined ? {} : { toolExecutionTimeout: runtime.timeout })
  })
]

let ajv: Ajv | undefined
const jsonSchemaProblem = (schema: Record<string, unknown>): string | undefined => {
  if (schema.type !== "object") {
    return `parameters must be a JSON Schema with type: object, got type ${show(schema.type)}`
  }
  ajv ??= new Ajv({ strict: false, allErrors: true, validateFormats: false })
  if (ajv.validateSchema(schema) === true) return undefined
  const first = ajv.errors?.[0]
  return first === undefined ?
    "parameters is not a valid JSON Schema" :
    `parameters is not a valid JSON Schema: ${first.instancePath || "/"} ${first.message ?? "is invalid"}`
}

const exportName = /^[A-Za-z0-9_-]+$/

/**
 * One function a Tool exposes to the model, as `<tool>__<name>`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolExport = Schema.Struct({
  name: NonEmptyString.pipe(
    Schema.filter((n) =>
      !exportName.test(n) ?
        `export name ${show(n)} may only contain letters, digits, "_" and "-"` :
        n.includes("__") ?
        `export name ${show(n)} must not contain "__" (it separates the tool and export names)` :
        true
    )
  ),
  description: NonEmptyString,
  parameters: JsonObject.pipe(Schema.filter((s) => jsonSchemaProblem(s) ?? true))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolSpec = Schema.Struct({
  entry: RelativePath("entry"),
  errorMessageLimit: Schema.optional(PositiveInt),
  exports: Schema.Array(ToolExport).pipe(
    Schema.filter((xs) => {
      if (xs.length === 0) return "a Tool must have at least one export"
      const seen = new Set<string>()
      for (let i = 0; i < xs.length; i++) {
        const name = xs[i]!.name
        if (seen.has(name)) return { path: [i, "name"], message: `duplicate export name ${show(name)}` }
        seen.add(name)
      }
      return true
    })
  ),
  runtime: Schema.optional(ToolRuntimeSchema)
})

// ---------------------------------------------------------------------------------------------------
// Extension, Agent, Swarm
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category schemas
 */
export const ExtensionSpec = Schema.Struct({
  entry: RelativePath("entry"),
  config: Schema.optional(JsonObject)
})

/**
 * The use of an Extension by an Agent: a reference, with an optional per-use `config` that is merged
 * over the Extension's own `config`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtensionUse {
  readonly ref: ObjectRef.ObjectRef
  readonly config: { readonly [key: string]: unknown } | undefined
}

const ExtensionUseSchema: Schema.Schema<ExtensionUse, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ExtensionUse>,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (isRecord(input) && "ref" in input) {
        const issues: Array<ParseResult.ParseIssue> = []
        const parsed = ObjectRef.parse(input.ref, "Extension")
        if (Either.isLeft(parsed)) {
          issues.push(
            new ParseResult.Pointer(
              "ref",
              input,
              new ParseResult.Type(
                ast,
                input.ref,
                IssueMessage.encode(parsed.left.message, {
                  code: "E_CONFIG_INVALID_REF",
                  suggestion: parsed.left.suggestion
                })
              )
            )
          )
        } else if (parsed.right.kind !== "Extension") {
          issues.push(
            new ParseResult.Pointer(
              "ref",
              input,
              new ParseResult.Type(
                ast,
                input.ref,
                IssueMessage.encode(`expected a reference to an Extension, got ${ObjectRef.format(parsed.right)}`, {
                  code: "E_CONFIG_REF_KIND_MISMATCH",
                  suggestion: `reference an Extension here, e.g. "Extension/${parsed.right.name}"`
                })
              )
            )
          )
        }
        for (const key of Object.keys(input)) {
          if (key !== "ref" && key !== "config") {
            issues.push(new ParseResult.Pointer(key, input, unexpected(key, input[key], ["ref", "config"])))
          }
        }
        const config = input.config
        if (config !== undefined && !isRecord(config)) {
          issues.push(
            new ParseResult.Pointer(
              "config",
              input,
              new ParseResult.Type(ast, config, `config must be an object, got ${show(config)}`)
            )
          )
        }
        if (issues.length > 0 || Either.isLeft(parsed)) {
          return ParseResult.fail(new ParseResult.Composite(ast, input, issues as [ParseResult.ParseIssue]))
        }
        return ParseResult.succeed({ ref: parsed.right, config: config as ExtensionUse["config"] })
      }
      const parsed = ObjectRef.parse(input, "Extension")
      if (Either.isLeft(parsed)) {
        return fail(ast, input, parsed.left.message, {
          code: "E_CONFIG_INVALID_REF",
          suggestion: parsed.left.suggestion
        })
      }
      if (parsed.right.kind !== "Extension") {
        return fail(ast, input, `expected a reference to an Extension, got ${ObjectRef.format(parsed.right)}`, {
          code: "E_CONFIG_REF_KIND_MISMATCH"
        })
      }
      return ParseResult.succeed({ ref: parsed.right, config: undefined })
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "ExtensionUse" })

/**
 * Model call parameters of an Agent.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelParams = Schema.Struct({
  temperature: Schema.optional(
    Schema.Number.pipe(Schema.filter((n) => (n >= 0 && n <= 2) || `temperature must be within 0..2, got ${n}`))
  ),
  maxTokens: Schema.optional(PositiveInt),
  topP: Schema.optional(
    Schema.Number.pipe(Schema.filter((n) => (n > 0 && n <= 1) || `topP must be within (0, 1], got ${n}`))
  ),
  topK: Schema.optional(PositiveInt),
  stop: Schema.optional(Schema.Array(Schema.String)),
  seed: Schema.optional(Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n) || "seed must be an integer"))),
  frequencyPenalty: Schema.optional(Schema.Number),
  presencePenalty: Schema.optional(Schema.Number),
  providerOptions: Schema.optional(JsonObject)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AgentSpec = Schema.Struct({
  modelConfig: Schema.Struct({
    modelRef: ref("Model"),
    params: Schema.optional(ModelParams)
  }),
  prompt: Schema.optional(
    Schema.Struct({
      system: Schema.optional(Schema.String),
      systemRef: Schema.optional(RelativePath("systemRef"))
    }).pipe(
      Schema.filter((p) =>
        p.system !== undefined && p.systemRef !== undefined ?
          IssueMessage.encode("prompt.system and prompt.systemRef cannot be used together", {
            suggestion: "declare only one of system or systemRef"
          }) :
          true
      )
    )
  ),
  tools: Schema.optional(Schema.Array(ref("Tool"))),
  extensions: Schema.optional(Schema.Array(ExtensionUseSchema)),
  requiredTools: Schema.optional(Schema.Array(NonEmptyString))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const SwarmPolicy = Schema.Struct({
  maxStepsPerTurn: Schema.optional(PositiveInt),
  lifecycle: Schema.optional(Schema.Struct({
    ttlSeconds: Schema.optional(NonNegativeNumber),
    gcGraceSeconds: Schema.optional(NonNegativeNumber)
  })),
  shutdown: Schema.optional(Schema.Struct({
    gracePeriodSeconds: Schema.optional(NonNegativeNumber)
  }))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const SwarmSpec = Schema.Struct({
  entryAgent: ref("Agent"),
  agents: Schema.Array(ref("Agent")).pipe(
    Schema.filter((xs) => xs.length > 0 || "a Swarm must list at least one agent")
  ),
  instanceKey: Schema.optional(NonEmptyString),
  policy: Schema.optional(SwarmPolicy)
}).pipe(
  Schema.filter((s) =>
    s.agents.some((a) => ObjectRef.sameTarget(a, s.entryAgent)) ?
      true :
      {
        path: ["entryAgent"],
        message: IssueMessage.encode(`entryAgent ${ObjectRef.format(s.entryAgent)} must be included in agents`, {
          suggestion: `add ${show(`Agent/${s.entryAgent.name}`)} to spec.agents`
        })
      }
  )
)

// ---------------------------------------------------------------------------------------------------
// Connector, Connection
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConnectorEvent = Schema.Struct({
  name: NonEmptyString,
  properties: Schema.optional(Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      type: Schema.Literal("string", "number", "boolean"),
      optional: Schema.optional(Schema.Boolean)
    })
  }))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConnectorSpec = Schema.Struct({
  entry: RelativePath("entry"),
  events: Schema.Array(ConnectorEvent).pipe(
    Schema.filter((xs) => {
      if (xs.length === 0) return "a Connector must declare at least one event"
      const seen = new Set<string>()
      for (let i = 0; i < xs.length; i++) {
        const name = xs[i]!.name
        if (seen.has(name)) return { path: [i, "name"], message: `duplicate event name ${show(name)}` }
        seen.add(name)
      }
      return true
    })
  )
})

/**
 * An ingress rule: the first rule whose `match` fits an event routes it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IngressRule = Schema.Struct({
  match: Schema.optional(Schema.Struct({
    event: Schema.optional(NonEmptyString),
    properties: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
    )
  })),
  route: Schema.Struct({
    agentRef: Schema.optional(ref("Agent")),
    instanceKey: Schema.optional(NonEmptyString),
    instanceKeyProperty: Schema.optional(NonEmptyString),
    instanceKeyPrefix: Schema.optional(Schema.String)
  }).pipe(
    Schema.filter((r) =>
      r.instanceKey !== undefined && r.instanceKeyProperty !== undefined ?
        IssueMessage.encode("route.instanceKey and route.instanceKeyProperty cannot be used together", {
          suggestion: "use a fixed instanceKey or take it from an event property, not both"
        }) :
        true
    )
  )
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConnectionSpec = Schema.Struct({
  connectorRef: ref("Connector"),
  swarmRef: Schema.optional(ref("Swarm")),
  config: Schema.optional(Schema.Record({ key: Schema.String, value: ValueSource.ValueSource })),
  secrets: Schema.optional(Schema.Record({ key: Schema.String, value: ValueSource.ValueSource })),
  verify: Schema.optional(Schema.Struct({
    webhook: Schema.optional(Schema.Struct({ signingSecret: ValueSource.ValueSource }))
  })),
  ingress: Schema.optional(Schema.Struct({
    rules: Schema.optional(Schema.Array(IngressRule))
  }))
})

// ---------------------------------------------------------------------------------------------------
// Package
// ---------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category schemas
 */
export const PackageDependency = Schema.Struct({
  name: Schema.String.pipe(Schema.filter((n) => checkPackageName(n) ?? true)),
  version: NonEmptyString
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const PackageSpec = Schema.Struct({
  version: Schema.optional(NonEmptyString),
  description: Schema.optional(Schema.String),
  access: Schema.optional(Schema.Literal("public", "restricted")),
  dependencies: Schema.optional(Schema.Array(PackageDependency)),
  registry: Schema.optional(Schema.Struct({ url: NonEmptyString }))
})

// ---------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------

const resource = <K extends Kind, S extends Schema.Schema.Any>(kind: K, spec: S) =>
  Schema.Struct({
    apiVersion: ApiVersionSchema,
    kind: Schema.Literal(kind),
    metadata: Metadata(kind),
    spec
  })

const specOptional = <K extends Kind, S extends Schema.Schema.Any>(kind: K, spec: S) =>
  Schema.Struct({
    apiVersion: ApiVersionSchema,
    kind: Schema.Literal(kind),
    metadata: Metadata(kind),
    spec: Schema.optional(spec)
  })

/** @since 0.1.0 @category schemas */
export const Model = resource("Model", ModelSpec)
/** @since 0.1.0 @category schemas */
export const Tool = resource("Tool", ToolSpec).pipe(
  Schema.filter((t) => {
    // A sandboxed entry becomes the RuntimeConfig entrypoint: the same rule applies.
    const entryProblem = t.spec.runtime === undefined ? undefined : RuntimeConfig.checkEntrypoint(t.spec.entry)
    if (entryProblem !== undefined) return { path: ["spec", "entry"], message: entryProblem }
    for (let i = 0; i < t.spec.exports.length; i++) {
      const full = `${t.metadata.name}__${t.spec.exports[i]!.name}`
      if (full.length > 64) {
        return {
          path: ["spec", "exports", i, "name"],
          message: `tool name ${show(full)} is ${full.length} characters; models accept at most 64`
        }
      }
    }
    return true
  })
)
/** @since 0.1.0 @category schemas */
export const Extension = resource("Extension", ExtensionSpec)
/** @since 0.1.0 @category schemas */
export const Agent = resource("Agent", AgentSpec)
/** @since 0.1.0 @category schemas */
export const Swarm = resource("Swarm", SwarmSpec)
/** @since 0.1.0 @category schemas */
export const Connector = resource("Connector", ConnectorSpec)
/** @since 0.1.0 @category schemas */
export const Connection = resource("Connection", ConnectionSpec)
/** @since 0.1.0 @category schemas */
export const Package = specOptional("Package", PackageSpec)

/** @since 0.1.0 @category models */
export type ModelResource = typeof Model.Type
/** @since 0.1.0 @category models */
export type ToolResource = typeof Tool.Type
/** @since 0.1.0 @category models */
export type ExtensionResource = typeof Extension.Type
/** @since 0.1.0 @category models */
export type AgentResource = typeof Agent.Type
/** @since 0.1.0 @category models */
export type SwarmResource = typeof Swarm.Type
/** @since 0.1.0 @category models */
export type ConnectorResource = typeof Connector.Type
/** @since 0.1.0 @category models */
export type ConnectionResource = typeof Connection.Type
/** @since 0.1.0 @category models */
export type PackageResource = typeof Package.Type
/** @since 0.1.0 @category models */
export type ToolExport = typeof ToolExport.Type
/** @since 0.1.0 @category models */
export type IngressRule = typeof IngressRule.Type

/**
 * Any decoded resource; narrow on `kind`.
 *
 * @since 0.1.0
 * @category models
 */
export type Resource =
  | ModelResource
  | ToolResource
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
