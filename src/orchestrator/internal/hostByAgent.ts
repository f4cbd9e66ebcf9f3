/**
 * `AgentHost.byAgent`: one host per agent name, another for the rest. Every host layer is built once, in
 * the combined layer's scope; `start` and `persistStatus` go to the host of the address's agent. The
 * orchestrator keeps its durable inbox under the combined host's `root`, so the durable hosts must agree on
 * it (a `HostConflict` at layer build otherwise); in-memory hosts have none and mix with any.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AgentAddress from "../AgentAddress.js"
import { AgentHost, type Service, type Target } from "../AgentHost.js"
import { AgentTurnFailed, HostConflict } from "../OrchestratorError.js"

/** Options of `AgentHost.byAgent`. */
export interface ByAgentOptions<E, R> {
  readonly hosts: Readonly<Record<string, Layer.Layer<AgentHost, E, R>>>
  readonly otherwise: Layer.Layer<AgentHost, E, R>
}

/** The agent names of `hosts` that are no Agent of the bundle (undefined when all are). */
const unknownNames = (names: ReadonlyArray<string>, target: Target): string | undefined => {
  const agents = new Set<string>(target.agentNames)
  for (const entry of target.bundle.entries) {
    if (entry.resource.kind === "Agent") agents.add(entry.resource.metadata.name)
  }
  const unknown = names.filter((name) => !agents.has(name))
  if (unknown.length === 0) return undefined
  return `AgentHost.byAgent names ${unknown.map((n) => `'${n}'`).join(", ")}, which the bundle ` +
    `${target.bundle.root} has no Agent of (its agents: ${[...agents].sort().join(", ")}); fix the names in ` +
    "`hosts` (a misspelt name would run its agent on the `otherwise` host without notice)"
}

export const layer = <E, R>(options: ByAgentOptions<E, R>): Layer.Layer<AgentHost, E | HostConflict, R> =>
  Layer.scoped(
    AgentHost,
    Effect.gen(function*() {
      const build = (host: Layer.Layer<AgentHost, E, R>) =>
        Effect.map(Layer.build(host), (context) => Context.get(context, AgentHost))
      const otherwise = yield* build(options.otherwise)
      const named = new Map<string, Service>()
      for (const [name, host] of Object.entries(options.hosts)) named.set(name, yield* build(host))
      // One state root for the orchestrator's inbox: every host that has one agrees on it.
      const roots: Record<string, string> = {}
      for (const [name, host] of [["otherwise", otherwise] as const, ...named]) {
        if (host.root !== undefined) roots[name] = host.root
      }
      const distinct = [...new Set(Object.values(roots))]
      if (distinct.length > 1) {
        return yield* new HostConflict({
          roots,
          suggestion: "give every durable host the same stateRoot (in-memory hosts mix with any)"
        })
      }
      const names = [...named.keys()]
      // Checked at the first start (the bundle is known only then), once: a misspelt name fails every start.
      let checked: string | null | undefined
      const pick = (agentName: string) => named.get(agentName) ?? otherwise
      return AgentHost.of({
        kind: `byAgent(${
          [...names.map((n) => `${n}: ${named.get(n)!.kind}`), `otherwise: ${otherwise.kind}`].join(", ")
        })`,
        root: distinct[0],
        start: (target) => {
          if (checked === undefined) checked = unknownNames(names, target) ?? null
          if (checked !== null) {
            return Effect.fail(
              new AgentTurnFailed({
                address: AgentAddress.format(target.address),
                errorTag: "HostUnknownAgent",
                detail: checked
              })
            )
          }
          return pick(target.address.agentName).start(target)
        },
        persistStatus: (workspaceId, address, status, reason) =>
          pick(address.agentName).persistStatus(workspaceId, address, status, reason)
      })
    })
  )
