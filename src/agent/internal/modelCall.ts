/**
 * Asking the model in a step: the request (`modelRequest`, the one place that decides what the model sees),
 * the streamed call that hands each delta on, and the `chat <model>` client span with the GenAI attributes.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Stream from "effect/Stream"
import * as ContextWindow from "../../context/ContextWindow.js"
import type * as Message from "../../conversation/Message.js"
import type * as Model from "../../model/Model.js"
import { ModelProtocolError } from "../../model/ModelError.js"
import type { StepContext } from "../../pipeline/Middleware.js"
import * as Pipeline from "../../pipeline/Pipeline.js"
import * as CallIds from "./callIds.js"
import type { AgentInstance } from "./instance.js"
import type { OnDelta } from "./write.js"

/**
 * The model request of a step: the system prompt, the conversation, the step's catalog (as the step
 * onion left it) and the agent's call params. The seam for anything that changes what the model sees.
 */
export const modelRequest = (
  inst: AgentInstance,
  step: StepContext,
  messages: ReadonlyArray<Message.Message>
): Model.Request => ({
  system: inst.system,
  // The view the context window (or a replacement step middleware) chose, else the whole conversation.
  messages: ContextWindow.viewOf(step) ?? messages,
  tools: step.toolCatalog,
  params: inst.params
})

/** The model call's contents, as OpenTelemetry GenAI attributes (JSON text, each capped). */
const contentAttributes = (request: Model.Request, response: Model.Response): Record<string, string> => {
  const cap = (value: unknown) => {
    const text = JSON.stringify(value) ?? ""
    return text.length > 16_384 ? text.slice(0, 16_384) + "... (truncated)" : text
  }
  return {
    ...(request.system === undefined ? {} : { "gen_ai.system_instructions": cap(request.system) }),
    "gen_ai.input.messages": cap(request.messages.map((m) => m.data)),
    "gen_ai.output.messages": cap([response.message])
  }
}

/**
 * Runs the model's stream, handing each delta on, and returns the complete response (`Finish`). The time
 * to the first part is an attribute of the model-call span (`gen_ai.response.time_to_first_chunk`, s).
 * A `ToolCallStart` is handed on with the id the written step gives the call (`CallIds`: a repeated id is
 * renamed in call order, as the step's calls are).
 */
export const streamed = (inst: AgentInstance, request: Model.Request, stepIndex: number, onDelta: OnDelta) =>
  Effect.gen(function*() {
    let response: Model.Response | undefined
    const clock = yield* Effect.clock
    const start = clock.unsafeCurrentTimeMillis()
    let first: number | undefined
    const callId = CallIds.renamer()
    yield* Stream.runForEach(inst.model.stream(request), (part) => {
      first ??= clock.unsafeCurrentTimeMillis()
      if (part._tag === "Finish") {
        response = part.response
        return Effect.void
      }
      if (part._tag === "ToolCallStart") {
        const id = callId(part.id)
        return onDelta(stepIndex, id === part.id ? part : { ...part, id })
      }
      return onDelta(stepIndex, part)
    })
    if (first !== undefined) {
      yield* Effect.annotateCurrentSpan("gen_ai.response.time_to_first_chunk", (first - start) / 1000)
    }
    if (response === undefined) {
      return yield* new ModelProtocolError({
        provider: inst.model.provider,
        detail: "the response stream ended without its final part (Finish)"
      })
    }
    return response
  })

/** The model call as a `chat <model>` client span with the GenAI attributes (contents when captured). */
export const traced = <E>(inst: AgentInstance, request: Model.Request, call: Effect.Effect<Model.Response, E>) =>
  call.pipe(
    Effect.tap((r) =>
      Effect.annotateCurrentSpan({
        "gen_ai.response.model": r.metadata.model ?? inst.model.model,
        "gen_ai.response.finish_reasons": [r.finishReason],
        "gen_ai.usage.input_tokens": r.usage.inputTokens ?? 0,
        "gen_ai.usage.output_tokens": r.usage.outputTokens ?? 0
      })
    ),
    // Contents only when the user opted in (Pipeline.captureContent; off by default).
    Effect.tap((r) =>
      Effect.flatMap(FiberRef.get(Pipeline.captureContent), (capture) =>
        capture
          ? Effect.annotateCurrentSpan(contentAttributes(request, r))
          : Effect.void)
    ),
    Effect.withSpan(`chat ${inst.model.model}`, {
      kind: "client",
      // A stack trace per model call costs more than the rest of the span; the step's span locates it.
      captureStackTrace: false,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": inst.model.provider,
        "gen_ai.request.model": inst.model.model,
        // The Model resource's price: the observability layer's cost when its own table has none.
        ...(inst.model.price === undefined ? {} : {
          "effect_swarm.price.input_per_million": inst.model.price.inputPerMillion,
          "effect_swarm.price.output_per_million": inst.model.price.outputPerMillion
        })
      }
    })
  )
