/**
 * Tool call ids the loop can rely on: unique within a step. A model (a local server, a bridge, a script)
 * may give two calls of one response the same id; the results would then be ambiguous in the log and a
 * provider refuses the history (Anthropic: `tool_use` ids must be unique), so every later turn fails.
 */
import type * as Message from "../../conversation/Message.js"
import type * as Model from "../../model/Model.js"

/** The response with a repeated call id renamed (`<id>_2`, `<id>_3`, ... not used in the step); the first keeps it. */
export const unique = (response: Model.Response): Model.Response => {
  const calls = response.toolCalls
  if (calls.length < 2) return response
  const all = new Set(calls.map((c) => c.id))
  if (all.size === calls.length) return response
  const seen = new Set<string>()
  const renamed = calls.map((call): Message.ToolCall => {
    if (!seen.has(call.id)) {
      seen.add(call.id)
      return call
    }
    let n = 2
    while (all.has(`${call.id}_${n}`)) n++
    const id = `${call.id}_${n}`
    all.add(id)
    seen.add(id)
    return { ...call, id }
  })
  return {
    ...response,
    toolCalls: renamed,
    message: response.message.toolCalls === undefined ? response.message : { ...response.message, toolCalls: renamed }
  }
}
