/**
 * Reading a loaded bundle: entries by kind, tool catalogs, extension uses, system prompts, swarm choice.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { BundleError } from "../../BundleError.js"
import * as ObjectRef from "../../ObjectRef.js"
import type * as Resource from "../../Resource.js"
import { resolve } from "./references.js"
import type { Bundle, Entry } from "./types.js"

/**
 * The entries of one kind.
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const agents = Bundle.entriesOf(bundle, "Agent") // ReadonlyArray<Bundle.Entry<Resource.AgentResource>>
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const entriesOf = <K extends Resource.Kind>(bundle: Bundle, kind: K): ReadonlyArray<Entry<Resource.OfKind<K>>> =>
  bundle.entries.filter((e): e is Entry<Resource.OfKind<K>> => e.resource.kind === kind)

/**
 * One entry by kind and name (in the local scope unless `scope` is given).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const base = Bundle.find(bundle, "Tool", "bash", "@goondan/base")
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const find = <K extends Resource.Kind>(
  bundle: Bundle,
  kind: K,
  name: string,
  scope?: string
): Entry<Resource.OfKind<K>> | undefined =>
  bundle.byIdentity.get(ObjectRef.identity(scope ?? bundle.package?.resource.metadata.name, kind, name)) as
    | Entry<Resource.OfKind<K>>
    | undefined

/**
 * One function of an agent's tool catalog: its model-facing name (`<tool>__<export>`) and source.
 *
 * @since 0.1.0
 * @category models
 */
export interface CatalogTool {
  readonly name: string
  readonly tool: Entry<Resource.ToolResource>
  readonly export: Resource.ToolExport
}

/**
 * The tool catalog an agent declares (its `tools`, each export as `<tool>__<export>`).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * for (const agent of Bundle.entriesOf(bundle, "Agent")) {
 *   Bundle.toolCatalog(bundle, agent).map((t) => t.name) // ["echo__say", ...]
 * }
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const toolCatalog = (bundle: Bundle, agent: Entry<Resource.AgentResource>): ReadonlyArray<CatalogTool> => {
  const out: Array<CatalogTool> = []
  for (const ref of agent.resource.spec.tools ?? []) {
    const tool = resolve(bundle, ref, agent)
    if (tool === undefined || tool.resource.kind !== "Tool") continue
    for (const exp of tool.resource.spec.exports) {
      out.push({
        name: `${tool.resource.metadata.name}__${exp.name}`,
        tool: tool as Entry<Resource.ToolResource>,
        export: exp
      })
    }
  }
  return out
}

/**
 * An Extension used by an agent, with its config merged: the Extension's own `spec.config`, then the
 * agent's per-use `config` over it (shallow, as in the reference runtime).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtensionUse {
  readonly extension: Entry<Resource.ExtensionResource>
  readonly config: { readonly [key: string]: unknown }
}

/**
 * The Extensions an agent uses, in declaration order, each with its merged config.
 *
 * @example
 * ```ts
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * for (const agent of Bundle.entriesOf(bundle, "Agent")) {
 *   Bundle.extensionUses(bundle, agent).map((u) => [u.extension.resource.metadata.name, u.config])
 * }
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const extensionUses = (bundle: Bundle, agent: Entry<Resource.AgentResource>): ReadonlyArray<ExtensionUse> => {
  const out: Array<ExtensionUse> = []
  for (const use of agent.resource.spec.extensions ?? []) {
    const extension = resolve(bundle, use.ref, agent)
    if (extension === undefined || extension.resource.kind !== "Extension") continue
    out.push({
      extension: extension as Entry<Resource.ExtensionResource>,
      config: { ...extension.resource.spec.config, ...use.config }
    })
  }
  return out
}

/**
 * An agent's system prompt: `prompt.system` when it is not blank, otherwise the `systemRef` file's
 * text (read now, so an edited file is picked up), otherwise `undefined` (also for a blank file).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const prompts = Effect.forEach(Bundle.entriesOf(bundle, "Agent"), (agent) => Bundle.systemPrompt(agent))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const systemPrompt = (
  agent: Entry<Resource.AgentResource>
): Effect.Effect<string | undefined, BundleError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const prompt = agent.resource.spec.prompt
    if (prompt?.system !== undefined && prompt.system.trim().length > 0) return prompt.system
    const file = agent.systemPromptFile
    if (file === undefined) return undefined
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError(() =>
        new BundleError({
          root: agent.rootDir,
          issues: [{
            code: "E_CONFIG_ENTRY_NOT_FOUND",
            severity: "error",
            file: agent.file,
            document: agent.document,
            path: "spec.prompt.systemRef",
            message: `Agent/${agent.resource.metadata.name} prompt.systemRef cannot be read: ${file}`
          }]
        })
      )
    )
    return text.trim().length > 0 ? text : undefined
  })

/**
 * Chooses the swarm to run, as the reference runtime does: the one named `name` when given, else the
 * local swarm named `default`, else the only local swarm. `Left` carries the reason and the candidates.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const swarm = Bundle.selectSwarm(bundle) // Either<Entry<SwarmResource>, string>
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const selectSwarm = (
  bundle: Bundle,
  name?: string
): Either.Either<Entry<Resource.SwarmResource>, string> => {
  const local = entriesOf(bundle, "Swarm").filter((s) => !s.dependency)
  const names = local.map((s) => s.resource.metadata.name)
  if (name !== undefined) {
    const found = local.find((s) => s.resource.metadata.name === name)
    return found !== undefined ?
      Either.right(found) :
      Either.left(`no Swarm named ${JSON.stringify(name)}; the bundle declares ${names.join(", ") || "none"}`)
  }
  const byDefault = local.find((s) => s.resource.metadata.name === "default")
  if (byDefault !== undefined) return Either.right(byDefault)
  if (local.length === 1) return Either.right(local[0]!)
  return Either.left(
    local.length === 0 ?
      "the bundle declares no Swarm" :
      `the bundle declares several Swarms (${names.join(", ")}) and none is named "default": choose one`
  )
}

/**
 * The validated script of a Model (its inline steps, or those of its script file, read when the bundle
 * loaded), for the `scripted` provider; `undefined` when there is no such Model or it has no script.
 *
 * @example
 * ```ts
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const steps = Bundle.modelScript(bundle, "demo") // ReadonlyArray<Resource.ScriptStep> | undefined
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const modelScript = (
  bundle: Bundle,
  modelName: string,
  scope?: string
): ReadonlyArray<Resource.ScriptStep> | undefined => find(bundle, "Model", modelName, scope)?.script
