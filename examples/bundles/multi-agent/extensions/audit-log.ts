/** An extension that logs every tool call (the extension API arrives with the agent area). */
export interface AuditConfig {
  readonly level: string
  readonly includeArgs: boolean
}

export default (config: AuditConfig) => ({
  name: "audit-log",
  describe: () => `audit-log at ${config.level}${config.includeArgs ? " with arguments" : ""}`
})
