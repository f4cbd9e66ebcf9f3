// A connector module: `run(ctx)` sends each line of its config as an event and prints the reply as it streams.
import type { Connector } from "effect-swarm"

export default async function run(ctx: Connector.ConnectorContext): Promise<void> {
  for (const line of (ctx.config.lines ?? "").split("|")) {
    let streamed = ""
    const reply = await ctx.request(
      { name: "line", message: { type: "text", text: line }, properties: { source: "config" } },
      { onDelta: (text) => (streamed += text) }
    )
    console.log(`${ctx.connection}: ${line} -> ${reply.text} (${reply.address}, streamed ${streamed.length} chars)`)
  }
  // Returning means done: the connector is not restarted (throwing would restart it with backoff).
}
