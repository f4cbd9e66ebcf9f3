/**
 * The Model kind: which provider serves the model, how to reach it, its options, and (for the
 * `scripted` provider) its script.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as ValueSource from "../../ValueSource.js"
import * as IssueMessage from "../issueMessage.js"
import { parseDuration } from "./duration.js"
import { fail, isRecord, NonEmptyString, resource, show } from "./envelope.js"
import { ModelScriptSchema } from "./script.js"

/**
 * The model providers, chosen by a Model's `spec.provider`: `openai-compatible` (Chat Completions at
 * `endpoint`: llama.cpp, Ollama, vLLM, OpenRouter, ...), `openai` (Responses API), `anthropic`
 * (Messages API), `effect-ai` (a bridge from an `@effect/ai` LanguageModel layer) and `scripted`
 * (replies from `spec.script`, for tests and demos).
 *
 * @since 0.1.0
 * @category constants
 */
export const providers = ["openai-compatible", "openai", "anthropic", "effect-ai", "scripted"] as const

/**
 * @since 0.1.0
 * @category models
 */
export type Provider = (typeof providers)[number]

const compatibleServers = new Set([
  "ollama",
  "llama.cpp",
  "llamacpp",
  "llama-cpp",
  "vllm",
  "lmstudio",
  "lm-studio",
  "openrouter",
  "groq",
  "together",
  "togetherai",
  "mistral",
  "deepseek",
  "azure",
  "xai",
  "fireworks"
])
const effectAiProviders = new Set(["google", "gemini", "vertex", "bedrock", "amazon-bedrock", "aws"])

const providerSuggestion = (input: string): string => {
  const known = `known providers: ${providers.join(", ")}`
  const lower = input.trim().toLowerCase()
  if (compatibleServers.has(lower)) {
    return `${input} speaks the OpenAI Chat Completions API: use provider: openai-compatible with endpoint: ` +
      `<its base URL> (${known})`
  }
  if (effectAiProviders.has(lower)) {
    return `use provider: effect-ai and provide an @effect/ai LanguageModel layer for ${input} (${known})`
  }
  const near = IssueMessage.nearest(input, providers)
  return near === undefined ? known : `did you mean "${near}"? ${known}`
}

const ProviderSchema: Schema.Schema<Provider, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Literal(...providers),
  {
    strict: true,
    decode: (input, _, ast) =>
      typeof input === "string" && (providers as ReadonlyArray<string>).includes(input) ?
        ParseResult.succeed(input as Provider) :
        fail(
          ast,
          input,
          typeof input === "string"
            ? `unknown provider ${show(input)}`
            : `provider must be a string, got ${show(input)}`,
          {
            code: typeof input === "string" ? "E_CONFIG_UNKNOWN_PROVIDER" : undefined,
            suggestion: typeof input === "string" ? providerSuggestion(input) : `one of ${providers.join(", ")}`
          }
        ),
    encode: ParseResult.succeed
  }
).annotations({ identifier: "Provider" })

/**
 * The `spec.options` keys a Model's provider layer reads; other keys are kept for the provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelOptions {
  /** Retries of a busy or failing server (429, 408, 5xx, 529, connection reset); default 2. */
  readonly maxRetries: number | undefined
  /** The per-call timeout. */
  readonly timeout: Duration.Duration | undefined
  /** The model's context window, in tokens. */
  readonly contextWindow: number | undefined
}

const optionProblems = (options: { readonly [key: string]: unknown }): Array<readonly [string, string, string]> => {
  const out: Array<readonly [string, string, string]> = []
  const { contextWindow, maxRetries, timeout } = options
  if (
    maxRetries !== undefined && !(typeof maxRetries === "number" && Number.isSafeInteger(maxRetries) && maxRetries >= 0)
  ) {
    out.push(["maxRetries", `maxRetries must be an integer >= 0, got ${show(maxRetries)}`, "maxRetries: 2"])
  }
  if (timeout !== undefined && parseDuration(timeout) === undefined) {
    out.push([
      "timeout",
      `timeout is not a positive duration: ${show(timeout)}`,
      `use milliseconds or a string such as "30 seconds" or "30s"`
    ])
  }
  if (
    contextWindow !== undefined &&
    !(typeof contextWindow === "number" && Number.isSafeInteger(contextWindow) && contextWindow > 0)
  ) {
    out.push([
      "contextWindow",
      `contextWindow must be a positive integer (tokens), got ${show(contextWindow)}`,
      "contextWindow: 128000"
    ])
  }
  return out
}

const ModelOptionsSchema: Schema.Schema<{ readonly [key: string]: unknown }, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<{ readonly [key: string]: unknown }>,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (!isRecord(input)) {
        return fail(ast, input, `options must be a mapping such as { maxRetries: 2, timeout: 30s }, got ${show(input)}`)
      }
      const problems = optionProblems(input)
      if (problems.length === 0) return ParseResult.succeed(input)
      return problemsAt(ast, input, problems)
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "ModelOptions" })

/** One issue per offending key, each pointing at its key, with the message and suggestion of the problem. */
const problemsAt = (
  ast: AST.AST,
  input: { readonly [key: string]: unknown },
  problems: ReadonlyArray<readonly [string, string, string]>
) =>
  ParseResult.fail(
    new ParseResult.Composite(
      ast,
      input,
      problems.map(([key, message, suggestion]) =>
        new ParseResult.Pointer(
          key,
          input,
          new ParseResult.Type(ast, input[key], IssueMessage.encode(message, { suggestion }))
        )
      ) as [ParseResult.ParseIssue]
    )
  )

/**
 * A Model's `spec.price`: what the provider charges, per million tokens, in `currency` (only `USD`). The
 * observability layer turns a model call's usage into its cost with it (`effect_swarm.cost.usd`).
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * declare const model: Resource.ModelResource
 * const price: Resource.ModelPrice | undefined = model.spec.price
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelPrice {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
  readonly currency?: "USD" | undefined
}

const priceKeys = ["inputPerMillion", "outputPerMillion", "currency"] as const

const priceProblems = (price: { readonly [key: string]: unknown }): Array<readonly [string, string, string]> => {
  const out: Array<readonly [string, string, string]> = []
  for (const key of ["inputPerMillion", "outputPerMillion"] as const) {
    const value = price[key]
    if (value === undefined) {
      out.push([key, `${key} is required`, `${key}: 0.4 (US dollars per million tokens)`])
    } else if (!(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
      out.push([
        key,
        `${key} must be a number >= 0 (US dollars per million tokens), got ${
          typeof value === "number" ? String(value) : show(value)
        }`,
        `${key}: 0.4`
      ])
    }
  }
  if (price.currency !== undefined && price.currency !== "USD") {
    out.push(["currency", `currency must be "USD", got ${show(price.currency)}`, "currency: USD, or leave it out"])
  }
  for (const key of Object.keys(price)) {
    if (!(priceKeys as ReadonlyArray<string>).includes(key)) {
      const near = IssueMessage.nearest(key, priceKeys)
      out.push([
        key,
        `unknown price field ${show(key)}`,
        near === undefined ? `known fields: ${priceKeys.join(", ")}` : `did you mean "${near}"?`
      ])
    }
  }
  return out
}

const ModelPriceSchema: Schema.Schema<ModelPrice, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Unknown as Schema.Schema<ModelPrice>,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (!isRecord(input)) {
        return fail(
          ast,
          input,
          `price must be a mapping such as { inputPerMillion: 0.4, outputPerMillion: 1.6 }, got ${show(input)}`
        )
      }
      const problems = priceProblems(input)
      if (problems.length === 0) return ParseResult.succeed(input as unknown as ModelPrice)
      return problemsAt(ast, input, problems)
    },
    encode: ParseResult.succeed
  }
).annotations({ identifier: "ModelPrice" })

/**
 * A Model's `spec`. `model` may be omitted only for `provider: scripted`; `script` is required for
 * `scripted` and refused for every other provider.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelSpec = Schema.Struct({
  provider: ProviderSchema,
  model: Schema.optional(NonEmptyString),
  apiKey: Schema.optional(ValueSource.ValueSource),
  endpoint: Schema.optional(
    Schema.String.pipe(Schema.filter((s) => /^https?:\/\/[^\s]+$/.test(s) || "must be an http(s) URL"))
  ),
  options: Schema.optional(ModelOptionsSchema),
  capabilities: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Boolean })),
  /** What the provider charges per million tokens; the observability layer's cost comes from it. */
  price: Schema.optional(ModelPriceSchema),
  script: Schema.optional(ModelScriptSchema)
}).pipe(
  Schema.filter((spec) => {
    const issues: Array<Schema.FilterIssue> = []
    if (spec.model === undefined && spec.provider !== "scripted") {
      issues.push({
        path: ["model"],
        message: IssueMessage.encode("required field is missing", {
          suggestion: `the ${spec.provider} model id, e.g. model: ${
            spec.provider === "anthropic" ? "claude-sonnet-4-5" : "gpt-4.1-mini"
          } (only provider scripted may omit it)`
        })
      })
    }
    if (spec.provider === "scripted" && spec.script === undefined) {
      issues.push({
        path: ["script"],
        message: IssueMessage.encode("provider scripted needs a script", {
          suggestion: `add script: ./scripts/demo.yaml (a list of steps) or script: [{ text: "Hello" }]`
        })
      })
    }
    if (spec.provider !== "scripted" && spec.script !== undefined) {
      issues.push({
        path: ["script"],
        message: IssueMessage.encode(`script is only used by provider scripted; this Model uses ${spec.provider}`, {
          suggestion: "remove script, or set provider: scripted"
        })
      })
    }
    return issues.length === 0 ? true : issues
  })
)

/**
 * The typed view of a Model's `spec.options` known keys (validated when the bundle loaded).
 *
 * @example
 * ```ts
 * import { Resource } from "effect-swarm"
 * declare const model: Resource.ModelResource
 * const { maxRetries = 2, timeout } = Resource.modelOptions(model)
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const modelOptions = (
  model: { readonly spec: { readonly options?: { readonly [key: string]: unknown } | undefined } }
): ModelOptions => {
  const options = model.spec.options ?? {}
  const { contextWindow, maxRetries, timeout } = options
  return {
    maxRetries: typeof maxRetries === "number" ? maxRetries : undefined,
    timeout: parseDuration(timeout),
    contextWindow: typeof contextWindow === "number" ? contextWindow : undefined
  }
}

/** @since 0.1.0 @category schemas */
export const Model = resource("Model", ModelSpec)
/** @since 0.1.0 @category models */
export type ModelResource = typeof Model.Type
