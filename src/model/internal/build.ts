/**
 * Building the service of a Model resource: the scripted provider from its script, the HTTP providers from
 * their endpoint, model id, options and key. Every problem is a `ModelConfigError` naming the field.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { LayerOptions, ModelResource, Service } from "../Model.js"
import type { ModelConfigError } from "../ModelError.js"
import * as Anthropic from "../providers/Anthropic.js"
import * as OpenAi from "../providers/OpenAi.js"
import * as OpenAiCompatible from "../providers/OpenAiCompatible.js"
import * as Scripted from "../providers/Scripted.js"
import { configError, defaultEndpoints, knownProviders, readOptions, resolveKey } from "./config.js"
import * as Http from "./http.js"
import { secretsOf } from "./scrub.js"
import { guard } from "./usage.js"

/**
 * What is wrong with an endpoint, without repeating it when it carries credentials (fetch refuses such a URL
 * with a message quoting it, which reached errors and retry logs).
 */
const endpointProblem = (endpoint: string): { detail: string; suggestion: string } | undefined => {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    url = new URL("invalid:")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return {
      detail: url.username !== "" || url.password !== "" ?
        "expected an http(s) URL (the value is not repeated: it carries credentials)" :
        `expected an http(s) URL, got ${JSON.stringify(endpoint)}`,
      suggestion: "write the server's base URL with its scheme, e.g. http://localhost:11434/v1"
    }
  }
  if (url.username !== "" || url.password !== "") {
    return {
      detail: `the URL carries credentials (user:password@${url.host}); they are not repeated here and never sent`,
      suggestion: "remove them from the URL and put the key in spec.apiKey, or a header in spec.options.headers"
    }
  }
  return undefined
}

export const buildService = (
  resource: ModelResource,
  options?: LayerOptions
): Effect.Effect<Service, ModelConfigError> =>
  Effect.gen(function*() {
    const spec = resource.spec
    const name = resource.metadata.name
    switch (spec.provider) {
      case "scripted": {
        const script = options?.script ?? (typeof spec.script === "string" ? undefined : spec.script)
        if (script === undefined) {
          return yield* configError(
            resource,
            "spec.script",
            spec.script === undefined
              ? "provider scripted needs a script"
              : `the script file ${spec.script} is not loaded`,
            spec.script === undefined ?
              "add script: [{ text: \"Hello\" }] or pass { script } to Model.layer" :
              "load the bundle and use Model.layerFromBundle(bundle, name), which reads the file"
          )
        }
        return guard(yield* Scripted.make(script, { model: spec.model ?? "script", name }))
      }
      case "openai-compatible":
      case "openai":
      case "anthropic":
        break
      default:
        return yield* configError(
          resource,
          "spec.provider",
          `unknown provider ${JSON.stringify(spec.provider)}`,
          `use one of ${knownProviders.filter((p) => p !== "effect-ai").join(", ")} (effect-ai: EffectAi.layer)`
        )
    }
    const endpoint = spec.endpoint ?? defaultEndpoints[spec.provider]
    if (endpoint === undefined) {
      return yield* configError(
        resource,
        "spec.endpoint",
        `provider ${spec.provider} needs an endpoint`,
        "set the server's base URL, e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp)"
      )
    }
    const problem = endpointProblem(endpoint)
    if (problem !== undefined) return yield* configError(resource, "spec.endpoint", problem.detail, problem.suggestion)
    if (spec.model === undefined) {
      return yield* configError(resource, "spec.model", `provider ${spec.provider} needs a model id`, "set spec.model")
    }
    const maxResponseBytes = options?.maxResponseBytes
    if (maxResponseBytes !== undefined && !(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0)) {
      return yield* configError(
        resource,
        "maxResponseBytes",
        `Model.make's maxResponseBytes must be a positive integer, got ${maxResponseBytes}`,
        "leave it out for 64 MiB"
      )
    }
    const opts = yield* readOptions(resource)
    const { hint, key } = yield* resolveKey(resource)
    const client = options?.httpClient ?? Option.getOrUndefined(yield* Effect.serviceOption(HttpClient.HttpClient)) ??
      (yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer))
    const config: Http.ProviderConfig = {
      model: spec.model,
      baseUrl: endpoint.replace(/\/+$/, ""),
      apiKey: key,
      headers: opts.headers,
      transport: {
        client,
        settings: {
          provider: spec.provider,
          maxRetries: opts.maxRetries,
          timeout: opts.timeout,
          totalTimeout: opts.totalTimeout,
          baseDelay: Http.defaults.baseDelay,
          maxRetryWait: Http.defaults.maxRetryWait,
          keyHint: hint,
          maxResponseBytes: options?.maxResponseBytes,
          secrets: secretsOf(key, opts.headers)
        }
      }
    }
    return guard(
      spec.provider === "openai" ?
        OpenAi.make(config) :
        spec.provider === "anthropic" ?
        Anthropic.make(config) :
        OpenAiCompatible.make(config)
    )
  })
