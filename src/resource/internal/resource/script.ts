/**
 * The script of a `scripted` Model: the steps it replies with, each a text and/or tool calls,
 * optionally matched on the last user message.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as IssueMessage from "../issueMessage.js"
import { checkRelativePath, fail, isRecord, NonEmptyString, NonNegativeInt, show } from "./envelope.js"

const regexForm = /^\/(.+)\/([a-z]*)$/s

const regexProblem = (match: string): string | undefined => {
  const form = regexForm.exec(match)
  if (form === null) return undefined
  try {
    new RegExp(form[1]!, form[2])
    return undefined
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}

/**
 * The test a step's `match` stands for: a case-insensitive substring of the text, or, for a string of
 * the form `"/pattern/flags"`, that regular expression (its flags as written; `g` and `y` are dropped so
 * the test has no state). A blank or absent match applies to any text.
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * Resource.scriptMatcher("weather")("What is the WEATHER like?") // true
 * Resource.scriptMatcher("/^hi\\b/i")("Hi there") // true
 * ```
 *
 * @since 0.1.0
 * @category script
 */
export const scriptMatcher = (match: string | undefined): (text: string) => boolean => {
  if (match === undefined || match.length === 0) return () => true
  const form = regexForm.exec(match)
  if (form !== null && regexProblem(match) === undefined) {
    const re = new RegExp(form[1]!, form[2]!.replace(/[gy]/g, ""))
    return (text) => re.test(text)
  }
  const needle = match.toLowerCase()
  return (text) => text.toLowerCase().includes(needle)
}

const ScriptMatch = Schema.String.pipe(
  Schema.filter((m) => {
    if (m.length === 0) {
      return IssueMessage.encode("match must not be empty", {
        suggestion: "omit match to apply the step to any message"
      })
    }
    const problem = regexProblem(m)
    return problem === undefined ? true : IssueMessage.encode(
      `match ${show(m)} is not a valid regular expression: ${problem}`,
      { suggestion: "fix the pattern, or write plain text to match it as a case-insensitive substring" }
    )
  })
)

const ToolCallArguments: Schema.Schema<{ readonly [key: string]: unknown } | string, unknown> = Schema
  .transformOrFail(
    Schema.Unknown,
    Schema.Unknown as Schema.Schema<{ readonly [key: string]: unknown } | string>,
    {
      strict: true,
      decode: (input, _, ast) =>
        typeof input === "string" || isRecord(input) ?
          ParseResult.succeed(input) :
          fail(ast, input, `arguments must be an object or a raw string, got ${show(input)}`, {
            suggestion: "write the arguments as a mapping ({ city: Paris }); a string is sent to the model as is"
          }),
      encode: ParseResult.succeed
    }
  ).annotations({ identifier: "ScriptToolCallArguments" })

/**
 * A tool call a script step makes. `arguments` is an object, or a raw string kept as is (to show how
 * the turn loop answers invalid arguments).
 *
 * @since 0.1.0
 * @category script
 */
export const ScriptToolCall = Schema.Struct({
  name: NonEmptyString,
  id: Schema.optional(NonEmptyString),
  arguments: Schema.optional(ToolCallArguments)
})

/**
 * One step of a script: what the scripted model replies for one model call.
 *
 * - `match`: the step applies when the last user message contains it (case-insensitive); `"/re/flags"`
 *   is a regular expression.
 * - `text` and/or `toolCalls` (at least one of them).
 * - `finishReason`: `stop | length | tool-calls | content-filter`.
 * - `usage`: `{ inputTokens?, outputTokens? }` reported for the step.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Resource } from "effect-swarm"
 * Schema.decodeUnknownSync(Resource.ScriptStep)({ match: "weather", toolCalls: [{ name: "weather__now", arguments: { city: "Paris" } }] })
 * ```
 *
 * @since 0.1.0
 * @category script
 */
export const ScriptStep = Schema.Struct({
  match: Schema.optional(ScriptMatch),
  text: Schema.optional(Schema.String),
  toolCalls: Schema.optional(Schema.Array(ScriptToolCall)),
  finishReason: Schema.optional(Schema.Literal("stop", "length", "tool-calls", "content-filter")),
  usage: Schema.optional(Schema.Struct({
    inputTokens: Schema.optional(NonNegativeInt),
    outputTokens: Schema.optional(NonNegativeInt)
  }))
}).pipe(
  Schema.filter((step) =>
    step.text !== undefined || step.toolCalls !== undefined ?
      true :
      IssueMessage.encode("a script step needs text or toolCalls (or both)", {
        suggestion: `add text: "..." or toolCalls: [{ name: tool__export, arguments: {...} }]`
      })
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type ScriptStep = typeof ScriptStep.Type

/**
 * @since 0.1.0
 * @category models
 */
export type ScriptToolCall = typeof ScriptToolCall.Type

/**
 * A list of script steps (at least one).
 *
 * @since 0.1.0
 * @category script
 */
export const ScriptSteps = Schema.Array(ScriptStep).pipe(
  Schema.filter((steps) =>
    steps.length > 0 ||
    IssueMessage.encode("a script needs at least one step", { suggestion: `add a step such as - text: "Hello"` })
  )
)

const scriptFileExtension = /\.(ya?ml|json)$/i

/**
 * A Model's `spec.script` as written: the relative path of a `.yaml`/`.yml`/`.json` file in the bundle,
 * or the steps inline.
 *
 * @since 0.1.0
 * @category models
 */
export type ModelScript = string | ReadonlyArray<ScriptStep>

/**
 * The schema of `spec.script`: a path (relative, inside the bundle, with a YAML or JSON extension;
 * the file itself is read and validated by `Bundle.load`) or a list of {@link ScriptStep}s.
 *
 * @since 0.1.0
 * @category script
 */
export const ModelScriptSchema: Schema.Schema<ModelScript, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ModelScript>,
  {
    strict: true,
    decode: (input, options, ast) => {
      if (Array.isArray(input)) return ParseResult.decodeUnknown(ScriptSteps)(input, options)
      if (typeof input === "string" && input.trim().length > 0) {
        const p = input.trim()
        const problem = checkRelativePath(p)
        if (problem !== undefined) {
          return fail(ast, input, problem, {
            code: "E_CONFIG_ENTRY_OUTSIDE_ROOT",
            suggestion: "keep the script inside the bundle directory and reference it as ./path/to/script.yaml"
          })
        }
        if (!scriptFileExtension.test(p)) {
          return fail(ast, input, `script file ${show(p)} must be a .yaml, .yml or .json file`, {
            suggestion: "write the steps as a YAML or JSON list, or inline them under script:"
          })
        }
        return ParseResult.succeed(p)
      }
      return fail(
        ast,
        input,
        `script must be the path of a .yaml/.yml/.json file in the bundle or a list of steps, got ${show(input)}`,
        { suggestion: `script: ./scripts/demo.yaml, or script: [{ text: "Hello" }]` }
      )
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "ModelScript" })
