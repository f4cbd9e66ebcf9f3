/**
 * Tool call ids the loop can rely on: unique within a step. A model (a local server, a bridge, a script)
 * may give two calls of one response the same id; the results would then be ambiguous in the log and a
 * provider refuses the history (Anthropic: `tool_use` ids must be unique), so every later turn fails.
 */
import type * as Message from "../../conversation/Message.js"
import type * as Model from "../../model/Model.js"

/**
 * Gives each call id of a step, in call order, the id the step uses: the id itself the first time, else
 * `<id>_2`, `<id>_3`, ... (the first not given yet). Incremental, so the streamed `ToolCallStart` parts (in
 * call order) get the same ids as the written step ({@link unique}) without waiting for the response's end.
 */
export const renamer = () => {
  const given = new Set<string>()
  return (id: string): string => {
    if (!given.has(id)) {
      given.add(id)
      return id
    }
    let n = 2
    while (given.has(`${id}_${n}`)) n++
    const renamed = `${id}_${n}`
    given.add(renamed)
    return renamed
  }
}

/** The response with each repeated call id renamed by {@link renamer} (the first keeps its id). */
export const unique = (response: Model.Response): Model.Response => {
  const calls = response.toolCalls
  if (calls.length < 2) return response
  if (new Set(calls.map((c) => c.id)).size === calls.length) return response
  const next = renamer()
  const renamed = calls.map((call): Message.ToolCall => {
    const id = next(call.id)
    return id === call.id ? call : { ...call, id }
  })
  return {
    ...response,
    toolCalls: renamed,
    message: response.message.toolCalls === undefined ? response.message : { ...response.message, toolCalls: renamed }
  }
}
