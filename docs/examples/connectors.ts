// docs/connectors.md: a bundle's connectors around an orchestrator: a module connector of our own runs to
// its end, then the built-in http connector answers a signed webhook.
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Bundle, Connectors, EventBus, Orchestrator, Webhook } from "effect-swarm"

process.env.DOCS_WEBHOOK_SECRET ??= "docs-secret"

const program = Effect.gen(function*() {
  const bundle = yield* Bundle.load("docs/examples/connectors")
  const orchestrator = yield* Orchestrator.makeInMemory(bundle, undefined, {})

  // lines.ts sends its lines with ctx.request and returns: awaitDone completes.
  const lines = yield* Connectors.run(bundle, orchestrator, { connections: ["lines-in"] })
  yield* lines.awaitDone

  // The http connector listens on a free port (config port "0") and announces its URL.
  const web = yield* Connectors.run(bundle, orchestrator, { connections: ["web-in"] })
  const url = yield* web.announced("web-in", "url")
  const body = JSON.stringify({ name: "message", text: "Where is order 42?", properties: { user: "ada" } })
  // The signature covers "<timestamp>.<body>"; a timestamp more than 5 minutes off is refused (replays).
  const timestamp = String(Math.floor(Date.now() / 1000))
  const response = yield* Effect.promise(() =>
    fetch(`${url}/connections/web-in/events?wait=reply`, {
      method: "POST",
      headers: {
        [Webhook.timestampHeader]: timestamp,
        [Webhook.header]: Webhook.sign(process.env.DOCS_WEBHOOK_SECRET!, body, timestamp)
      },
      body
    })
  )
  const { reply } = yield* Effect.promise(() =>
    response.json() as Promise<{ reply: { text: string; address: string } }>
  )
  yield* Console.log(`web-in: ${response.status} ${reply.text} (${reply.address})`)
  const unsigned = yield* Effect.promise(() => fetch(`${url}/connections/web-in/events`, { method: "POST", body }))
  yield* Console.log(`web-in without a signature: ${unsigned.status}`)
})

program.pipe(Effect.scoped, Effect.provide(Layer.merge(EventBus.layer(), NodeContext.layer)), Effect.runPromise)
