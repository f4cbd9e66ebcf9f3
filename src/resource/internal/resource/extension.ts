/**
 * The Extension kind and an Agent's use of one.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ObjectRef from "../../ObjectRef.js"
import * as IssueMessage from "../issueMessage.js"
import { fail, isRecord, JsonObject, RelativePath, resource, show, unexpected } from "./envelope.js"

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

/**
 * An entry of an Agent's `extensions`: a reference, or `{ ref, config }`.
 *
 * @since 0.1.0
 */
export const ExtensionUseSchema: Schema.Schema<ExtensionUse, unknown> = Schema.transformOrFail(
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

/** @since 0.1.0 @category schemas */
export const Extension = resource("Extension", ExtensionSpec)
/** @since 0.1.0 @category models */
export type ExtensionResource = typeof Extension.Type
