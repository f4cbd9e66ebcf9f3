/**
 * The Agent kind: model configuration, prompt, tools and extensions.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ObjectRef from "../../ObjectRef.js"
import * as IssueMessage from "../issueMessage.js"
import { ContextSpec } from "./context.js"
import {
  fail,
  isRecord,
  JsonObject,
  NonEmptyString,
  PositiveInt,
  ref,
  RelativePath,
  resource,
  show
} from "./envelope.js"
import { ExtensionUseSchema } from "./extension.js"
import { AgentPolicy } from "./policy.js"

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
 * One entry of an Agent's `spec.tools`: a Tool, or an McpServer optionally narrowed to some of its tools
 * (`allow` lists the server's own tool names).
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolRef extends ObjectRef.ObjectRef {
  readonly allow?: ReadonlyArray<string> | undefined
}

const toolKinds = ["Tool", "McpServer"]

/**
 * The schema of a `spec.tools` entry: `"Tool/<name>"`, `"McpServer/<name>"`, the object forms, or
 * `{ ref: "McpServer/<name>", allow: [tool, ...] }`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Resource } from "effect-swarm"
 * Schema.decodeUnknownSync(Resource.ToolRefSchema)({ ref: "McpServer/files", allow: ["read_file"] })
 * // { kind: "McpServer", name: "files", allow: ["read_file"] }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolRefSchema: Schema.Schema<ToolRef, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ToolRef>,
  {
    strict: true,
    decode: (input, _, ast) => {
      let allow: ReadonlyArray<string> | undefined
      let target = input
      if (isRecord(input) && "allow" in input) {
        const raw = input.allow
        if (!Array.isArray(raw) || raw.some((t) => typeof t !== "string" || t.length === 0)) {
          return fail(ast, input, `allow must be a list of the server's tool names, got ${show(raw)}`)
        }
        allow = raw as ReadonlyArray<string>
        const { allow: _allow, ...rest } = input
        target = rest
      }
      const parsed = ObjectRef.parse(target, "Tool")
      if (Either.isLeft(parsed)) return fail(ast, input, parsed.left.message, parsed.left)
      const ref = parsed.right
      if (!toolKinds.includes(ref.kind)) {
        return fail(ast, input, `expected a reference to a Tool or an McpServer, got ${ObjectRef.format(ref)}`, {
          code: "E_CONFIG_REF_KIND_MISMATCH",
          suggestion: `e.g. "Tool/${ref.name}" or "McpServer/${ref.name}"`
        })
      }
      if (allow !== undefined && ref.kind !== "McpServer") {
        return fail(ast, input, `allow applies to McpServer references only, not ${ObjectRef.format(ref)}`, {
          suggestion: "list a Tool's exports in the Tool resource instead"
        })
      }
      return ParseResult.succeed(allow === undefined ? ref : { ...ref, allow })
    },
    encode: (ref) => ParseResult.succeed(ref)
  }
).annotations({ identifier: "ToolRef", [IssueMessage.CodeAnnotationId]: "E_CONFIG_INVALID_REF" })

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
  tools: Schema.optional(Schema.Array(ToolRefSchema)),
  extensions: Schema.optional(Schema.Array(ExtensionUseSchema)),
  requiredTools: Schema.optional(Schema.Array(NonEmptyString)),
  policy: Schema.optional(AgentPolicy),
  context: Schema.optional(ContextSpec),
  /**
   * The agents of its swarm this agent may call (request, send, spawn), by name; `"*"` allows every
   * other agent of the swarm. Absent or empty: it calls no one and gets no `agents` tool. The Swarm's
   * `spec.callableAgents` entry for this agent, when present, replaces it.
   */
  callableAgents: Schema.optional(Schema.Array(NonEmptyString))
})

/** @since 0.1.0 @category schemas */
export const Agent = resource("Agent", AgentSpec)
/** @since 0.1.0 @category models */
export type AgentResource = typeof Agent.Type
