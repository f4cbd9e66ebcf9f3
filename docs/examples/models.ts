// docs/models.md: one model call per step. The scripted provider answers offline; the same request goes
// to openai-compatible, openai or anthropic by changing the Model resource.
import { Console, Effect } from "effect"
import { Model } from "effect-swarm"

const program = Effect.gen(function*() {
  const model = yield* Model.Model
  const first = yield* model.generate({
    messages: [{ role: "user", content: "what time is it?" }],
    tools: [{ name: "clock__now", description: "The time", parameters: { type: "object" } }]
  })
  yield* Console.log(`tool calls: ${first.toolCalls.map((c) => c.name).join(", ")}`)
  const second = yield* model.generate({ messages: [{ role: "user", content: "thanks" }] })
  yield* Console.log(`text: ${second.text}`)
})

program.pipe(
  Effect.provide(Model.scripted([{ toolCalls: [{ name: "clock__now" }] }, { text: "You are welcome." }])),
  Effect.runPromise
)
