/**
 * References between resources: what a resource references, resolution, and the cross-resource rules.
 *
 * @since 0.1.0
 */
import * as ObjectRef from "../../ObjectRef.js"
import type * as Resource from "../../Resource.js"
import * as IssueMessage from "../issueMessage.js"
import type { Bundle, Entry, Loaded, Report } from "./types.js"

// References and cross-resource rules
// ---------------------------------------------------------------------------------------------------

/**
 * A reference and the field that makes it.
 *
 * @since 0.1.0
 */
export interface RefUse {
  readonly ref: ObjectRef.ObjectRef
  readonly path: ReadonlyArray<string | number>
}

/**
 * The references a resource makes, with their field paths.
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const agent: Resource.AgentResource
 * Bundle.referencesOf(agent) // [{ ref: { kind: "Model", name: "default" }, path: ["spec", "modelConfig", "modelRef"] }, ...]
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const referencesOf = (resource: Resource.Resource): ReadonlyArray<RefUse> => {
  const out: Array<RefUse> = []
  switch (resource.kind) {
    case "Agent": {
      out.push({ ref: resource.spec.modelConfig.modelRef, path: ["spec", "modelConfig", "modelRef"] })
      resource.spec.tools?.forEach((ref, i) => out.push({ ref, path: ["spec", "tools", i] }))
      resource.spec.extensions?.forEach((use, i) => out.push({ ref: use.ref, path: ["spec", "extensions", i] }))
      break
    }
    case "Swarm": {
      out.push({ ref: resource.spec.entryAgent, path: ["spec", "entryAgent"] })
      resource.spec.agents.forEach((ref, i) => out.push({ ref, path: ["spec", "agents", i] }))
      break
    }
    case "Connection": {
      out.push({ ref: resource.spec.connectorRef, path: ["spec", "connectorRef"] })
      if (resource.spec.swarmRef !== undefined) out.push({ ref: resource.spec.swarmRef, path: ["spec", "swarmRef"] })
      resource.spec.ingress?.rules?.forEach((rule, i) => {
        if (rule.route.agentRef !== undefined) {
          out.push({ ref: rule.route.agentRef, path: ["spec", "ingress", "rules", i, "route", "agentRef"] })
        }
      })
      break
    }
    default:
      break
  }
  return out
}

/**
 * The identity of an entry (`"<scope>|Kind/name"`).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const entry: Bundle.Entry
 * Bundle.identityOf(entry) // "@acme/app|Tool/echo"
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const identityOf = (entry: Entry): string =>
  ObjectRef.identity(entry.package, entry.resource.kind, entry.resource.metadata.name)

/**
 * Resolves a reference made by `from` (a ref without `package` resolves in `from`'s own scope).
 *
 * @example
 * ```ts
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * declare const agent: Bundle.Entry<import("effect-swarm").Resource.AgentResource>
 * const model = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const resolve = (bundle: Bundle, ref: ObjectRef.ObjectRef, from?: Entry): Entry | undefined =>
  bundle.byIdentity.get(
    ObjectRef.identity(ref.package ?? from?.package ?? bundle.package?.resource.metadata.name, ref.kind, ref.name)
  )

/**
 * Unresolved references, `requiredTools` and ingress rules, reported where they are declared.
 *
 * @since 0.1.0
 */
export const crossChecks = (
  entries: ReadonlyArray<Loaded>,
  byIdentity: ReadonlyMap<string, Loaded>,
  invalidIds: ReadonlySet<string>,
  unavailable: (scope: string | undefined) => boolean,
  known: (scope: string | undefined) => boolean,
  report: Report
): void => {
  const lookup = (ref: ObjectRef.ObjectRef, from: Loaded): Loaded | undefined =>
    byIdentity.get(ObjectRef.identity(ref.package ?? from.scope, ref.kind, ref.name))
  const namesByKind = new Map<string, Array<Loaded>>()
  for (const e of entries) {
    const list = namesByKind.get(e.resource.kind) ?? []
    list.push(e)
    namesByKind.set(e.resource.kind, list)
  }
  const unresolved = new Set<Loaded>()
  for (const entry of entries) {
    for (const use of referencesOf(entry.resource)) {
      const scope = use.ref.package ?? entry.scope
      if (lookup(use.ref, entry) !== undefined) continue
      unresolved.add(entry)
      if (unavailable(scope) || invalidIds.has(ObjectRef.identity(scope, use.ref.kind, use.ref.name))) continue
      const sameKind = namesByKind.get(use.ref.kind) ?? []
      const elsewhere = sameKind.find((e) => e.resource.metadata.name === use.ref.name)
      const prefix = ObjectRef.identity(scope, use.ref.kind, "")
      const near = IssueMessage.nearest(use.ref.name, [
        ...sameKind.filter((e) => e.scope === scope).map((e) => e.resource.metadata.name),
        ...[...invalidIds].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length))
      ])
      report(
        "E_CONFIG_REF_NOT_FOUND",
        entry.file,
        entry.document,
        use.path,
        `${ObjectRef.format(use.ref)} not found${scope === undefined ? "" : ` in package ${scope}`}`,
        {
          suggestion: !known(scope) ?
            `package ${scope} is not a dependency: add { name: "${scope}", version: ... } to the Package's spec.dependencies` :
            elsewhere !== undefined ?
            `${use.ref.kind}/${use.ref.name} is declared in ${
              elsewhere.scope === undefined ? "the local bundle" : `package ${elsewhere.scope}`
            }; set package: ${elsewhere.scope ?? "(omit it)"}` :
            near !== undefined ?
            `did you mean "${use.ref.kind}/${near}"?` :
            `declare a ${use.ref.kind} named ${use.ref.name}`
        }
      )
    }
  }
  for (const entry of entries) {
    const r = entry.resource
    if (r.kind === "Agent" && r.spec.requiredTools !== undefined && !unresolved.has(entry)) {
      const catalog: Array<string> = []
      for (const ref of r.spec.tools ?? []) {
        const tool = lookup(ref, entry)
        if (tool?.resource.kind === "Tool") {
          for (const exp of tool.resource.spec.exports) catalog.push(`${tool.resource.metadata.name}__${exp.name}`)
        }
      }
      r.spec.requiredTools.forEach((name, i) => {
        if (catalog.includes(name.trim())) return
        const near = IssueMessage.nearest(name, catalog)
        report(
          "E_CONFIG_REQUIRED_TOOL_MISSING",
          entry.file,
          entry.document,
          ["spec", "requiredTools", i],
          `required tool ${JSON.stringify(name)} is not in the agent's tool catalog`,
          {
            suggestion: near !== undefined ?
              `did you mean "${near}"?` :
              catalog.length === 0 ?
              "the agent declares no tools; add the Tool to spec.tools" :
              `the catalog has ${catalog.join(", ")}`
          }
        )
      })
    }
    if (r.kind === "Connection" && r.spec.ingress?.rules !== undefined) {
      const connector = lookup(r.spec.connectorRef, entry)
      const swarm = r.spec.swarmRef === undefined ? undefined : lookup(r.spec.swarmRef, entry)
      r.spec.ingress.rules.forEach((rule, i) => {
        const base = ["spec", "ingress", "rules", i] as const
        if (connector?.resource.kind === "Connector" && rule.match?.event !== undefined) {
          const events = connector.resource.spec.events
          const event = events.find((e) => e.name === rule.match!.event)
          if (event === undefined) {
            const near = IssueMessage.nearest(rule.match.event, events.map((e) => e.name))
            report(
              "E_CONFIG_INGRESS_EVENT_UNKNOWN",
              entry.file,
              entry.document,
              [...base, "match", "event"],
              `Connector/${connector.resource.metadata.name} declares no event ${JSON.stringify(rule.match.event)}`,
              {
                suggestion: near !== undefined ?
                  `did you mean "${near}"?` :
                  `declared events: ${events.map((e) => e.name).join(", ")}`
              }
            )
          } else if (event.properties !== undefined && rule.match.properties !== undefined) {
            const declared = Object.keys(event.properties)
            for (const key of Object.keys(rule.match.properties)) {
              if (declared.includes(key)) continue
              const near = IssueMessage.nearest(key, declared)
              report(
                "E_CONFIG_INGRESS_EVENT_UNKNOWN",
                entry.file,
                entry.document,
                [...base, "match", "properties", key],
                `event ${
                  JSON.stringify(event.name)
                } of Connector/${connector.resource.metadata.name} declares no property ${JSON.stringify(key)}`,
                {
                  suggestion: near !== undefined ?
                    `did you mean "${near}"?` :
                    `declared properties: ${declared.join(", ") || "(none)"}`
                }
              )
            }
          }
        }
        const agentRef = rule.route.agentRef
        if (agentRef !== undefined && swarm?.resource.kind === "Swarm") {
          const target = lookup(agentRef, entry)
          const member = swarm.resource.spec.agents.some((a) => {
            const resolved = lookup(a, swarm)
            return resolved !== undefined && resolved === target
          })
          if (target !== undefined && !member) {
            report(
              "E_CONFIG_INGRESS_AGENT_NOT_IN_SWARM",
              entry.file,
              entry.document,
              [...base, "route", "agentRef"],
              `${ObjectRef.format(agentRef)} is not one of the agents of Swarm/${swarm.resource.metadata.name}`,
              { suggestion: `add it to Swarm/${swarm.resource.metadata.name} spec.agents or route to a member` }
            )
          }
        }
      })
    }
  }
}
