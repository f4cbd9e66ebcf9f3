/**
 * Which model each agent of a `run` gets: its own Model, or, when that Model's API key is not in the
 * environment (the one case a `ValueSource` cannot resolve) and `--fallback-model` names a Model of the
 * bundle, that Model instead (a scripted one, for offline demos). Every fallback is reported, so nobody
 * mistakes the scripted model for the real provider.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Model from "../../model/Model.js"
import * as Bundle from "../../resource/Bundle.js"
import type * as Resource from "../../resource/Resource.js"
import * as ValueSource from "../../resource/ValueSource.js"
import { MissingModelKey, UnknownFallbackModel } from "../CliError.js"

/** @internal */
export interface Choice {
  readonly agentName: string
  /** The agent's own Model (`Model/<name>`, provider and id). */
  readonly own: string
  /** Set when the fallback replaces it: the variables that were tried, and the fallback's name. */
  readonly fallback?: { readonly tried: ReadonlyArray<string>; readonly model: string } | undefined
}

const describe = (entry: Bundle.Entry<Resource.ModelResource>) => {
  const spec = entry.resource.spec
  return `Model/${entry.resource.metadata.name} (${spec.provider}${spec.model === undefined ? "" : ` ${spec.model}`})`
}

/** The variables the Model's key comes from, when none of them is set; `undefined` when it resolves. */
const missingKey = (model: Resource.ModelResource) => {
  const source = model.spec.apiKey
  if (source === undefined) return Effect.succeed(undefined)
  return ValueSource.resolve(source, "apiKey").pipe(
    Effect.as(undefined),
    Effect.catchTag("ValueSourceError", (e) => Effect.succeed(e.tried))
  )
}

/**
 * The models to hand `Orchestrator.make` (only the agents that get the fallback) and what to report for
 * every agent of the Swarm.
 *
 * @internal
 */
export const choose = (
  bundle: Bundle.Bundle,
  agents: ReadonlyArray<Bundle.Entry<Resource.AgentResource>>,
  fallbackName: string | undefined
) =>
  Effect.gen(function*() {
    const fallback = fallbackName === undefined ? undefined : Bundle.find(bundle, "Model", fallbackName)
    if (fallbackName !== undefined && fallback === undefined) {
      return yield* new UnknownFallbackModel({
        model: fallbackName,
        known: Bundle.entriesOf(bundle, "Model").map((e) => e.resource.metadata.name)
      })
    }
    const models: Record<string, Model.Service> = {}
    const choices: Array<Choice> = []
    for (const agent of agents) {
      const agentName = agent.resource.metadata.name
      const own = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
      // A dangling ref was refused when the bundle loaded; `fromBundle` reports anything else.
      if (own?.resource.kind !== "Model") continue
      const ownEntry = own as Bundle.Entry<Resource.ModelResource>
      const tried = yield* missingKey(ownEntry.resource)
      if (tried === undefined) {
        choices.push({ agentName, own: describe(ownEntry) })
        continue
      }
      if (fallback === undefined) {
        return yield* new MissingModelKey({ agent: agentName, model: describe(ownEntry), tried })
      }
      models[agentName] = yield* Model.make(
        fallback.resource,
        fallback.script === undefined ? {} : { script: fallback.script }
      )
      choices.push({ agentName, own: describe(ownEntry), fallback: { tried, model: describe(fallback) } })
    }
    return { models, choices }
  })
