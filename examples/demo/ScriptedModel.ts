/**
 * A scripted stand-in for the model (the model area does not exist yet): each step of a turn answers
 * from a fixed script, reading the conversation like a model would. It is the only fake in the demo;
 * the tools, the pipeline and the files are real.
 */
import { Effect, Schema } from "effect"
import type { Message, Middleware, ToolCatalog } from "effect-swarm"

/** What the model sees in one step: the conversation so far and the tools it is offered. */
export interface StepRequest {
  readonly stepIndex: number
  readonly messages: ReadonlyArray<Message.Message>
  readonly catalog: ToolCatalog.ToolCatalog
}

/** One model reply: tool calls to run, or a text answer that ends the turn. */
export interface Reply {
  readonly text: string
  readonly toolCalls: ReadonlyArray<Middleware.ToolCall>
}

/** The script ran out of steps: the turn asked for more steps than the script has. */
export class ScriptExhausted extends Schema.TaggedError<ScriptExhausted>()("ScriptExhausted", {
  stepIndex: Schema.Number
}) {}

/** A scripted model: `script[i]` answers step `i`. */
export const make = (script: ReadonlyArray<(request: StepRequest) => Reply>) => (request: StepRequest) =>
  Effect.suspend(() => {
    const answer = script[request.stepIndex]
    return answer === undefined
      ? Effect.fail(new ScriptExhausted({ stepIndex: request.stepIndex }))
      : Effect.succeed(answer(request))
  })

/** The output of the latest result of `toolName` in the conversation (tool messages hold tool-result parts). */
export const latestOutput = (messages: ReadonlyArray<Message.Message>, toolName: string): unknown => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = messages[i]!.data.content
    if (typeof content === "string") continue
    for (const part of content) {
      if (part.type === "tool-result" && part.toolName === toolName) return part.output
    }
  }
  return undefined
}

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value) ?
    (value as Record<string, unknown>)[key] :
    undefined

/**
 * The demo's script for "Remember that the demo ran, then tell me what you remember":
 * step 1 notes it and reads the clock, step 2 lists the notes, step 3 answers from the tool results.
 */
export const demo = make([
  () => ({
    text: "",
    toolCalls: [
      { id: "call-1", name: "notes__add", args: { text: "the demo ran" } },
      { id: "call-2", name: "clock__now", args: {} }
    ]
  }),
  () => ({ text: "", toolCalls: [{ id: "call-3", name: "notes__list", args: {} }] }),
  ({ messages }) => {
    const notes = field(latestOutput(messages, "notes__list"), "notes")
    const when = field(latestOutput(messages, "clock__now"), "iso")
    const remembered = Array.isArray(notes) && notes.length > 0 ?
      notes.map((n) => `"${String(n)}"`).join(", ") :
      "nothing"
    return {
      text: `I remember ${remembered}${typeof when === "string" ? ` (noted at ${when})` : ""}.`,
      toolCalls: []
    }
  }
])
