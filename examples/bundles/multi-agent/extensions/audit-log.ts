/**
 * An extension that audits every tool call of the agent instance it is loaded into: a toolCall
 * middleware prints one line per call (with the arguments when `includeArgs`), and the instance's
 * extension state keeps a count per tool (saved in `extensions/audit-log.json` at turn end).
 */
import type { ExtensionApi } from "effect-swarm"

export interface AuditConfig {
  readonly level?: string
  readonly includeArgs?: boolean
}

export function register(api: ExtensionApi.ExtensionApi, config: AuditConfig) {
  const includeArgs = config.includeArgs === true
  api.pipeline.register("toolCall", async (ctx, next) => {
    const result = await next()
    const args = includeArgs ? ` ${JSON.stringify(ctx.args)}` : ""
    console.log(
      `[audit-log ${
        config.level ?? "info"
      }] ${ctx.agentName}@${ctx.instanceKey} ${ctx.toolName}${args} -> ${result.status}`
    )
    const state = api.state.get() ?? {}
    const calls = typeof state[ctx.toolName] === "number" ? state[ctx.toolName] as number : 0
    api.state.set({ ...state, [ctx.toolName]: calls + 1 })
    return result
  }, { priority: -100, name: "audit", style: "promise" })
}
