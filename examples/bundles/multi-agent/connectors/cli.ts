/** A connector that turns each stdin line into a `stdin_message` event. */
import * as readline from "node:readline"

export interface ConnectorContext {
  readonly emit: (event: {
    readonly name: string
    readonly message: { readonly type: "text"; readonly text: string }
    readonly properties: Record<string, string>
    readonly instanceKey: string
  }) => Promise<void>
}

export default async function run(ctx: ConnectorContext): Promise<void> {
  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    const channel = line.startsWith("?") ? "research" : "main"
    await ctx.emit({
      name: "stdin_message",
      message: { type: "text", text: line },
      properties: { line, channel },
      instanceKey: "local"
    })
  }
}
