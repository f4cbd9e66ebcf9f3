/**
 * Closing a turn left open in the log without continuing it: the decision is durable first (a
 * `turn.abandoned` record), then every tool call without a result is answered with `E_TOOL_INTERRUPTED`
 * naming the reason. A crash between the two leaves the turn ended; the next turn answers what is left
 * (`closeDangling` before it starts), so the conversation stays valid either way.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AgentInstance } from "./instance.js"
import { closeDangling, danglingCalls, openTurn } from "./openTurn.js"
import { record } from "./write.js"

/** What {@link abandonLocked} closed. */
export interface Abandoned {
  readonly turnId: string
  readonly reason: string
  /** The tool calls that had no result and were answered with `E_TOOL_INTERRUPTED`. */
  readonly toolCallIds: ReadonlyArray<string>
}

/** Abandons the open turn, if any. Must run under the instance lock. */
export const abandonLocked = (inst: AgentInstance, reason: string) =>
  Effect.gen(function*() {
    const open = yield* openTurn(inst)
    if (open === undefined) return Option.none<Abandoned>()
    const calls = yield* danglingCalls(inst, open.turnId)
    const toolCallIds = calls.map((c) => c.call.id)
    yield* record(inst, "turn.abandoned", open.turnId, {
      reason,
      stepCount: open.used.steps,
      toolCallIds
    })
    yield* closeDangling(inst, open.turnId, `the turn was abandoned (${reason})`)
    yield* inst.state.storage.setStatus("idle")
    return Option.some<Abandoned>({ turnId: open.turnId, reason, toolCallIds })
  })
