/**
 * The Agent kind: model configuration, prompt, tools and extensions.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as IssueMessage from "../issueMessage.js"
import { JsonObject, NonEmptyString, PositiveInt, ref, RelativePath, resource } from "./envelope.js"
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
  requiredTools: Schema.optional(Schema.Array(NonEmptyString)),
  policy: Schema.optional(AgentPolicy)
})

/** @since 0.1.0 @category schemas */
export const Agent = resource("Agent", AgentSpec)
/** @since 0.1.0 @category models */
export type AgentResource = typeof Agent.Type
