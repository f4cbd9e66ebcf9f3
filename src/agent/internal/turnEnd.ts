/**
 * Hooks run at the end of every turn of an instance (also a failed or interrupted one).
 */
import * as Effect from "effect/Effect"
import type { AgentInstance } from "./instance.js"

/** Adds a hook; its failures are logged, never the turn's. */
export const onTurnEnd = <A, E>(instance: AgentInstance, hook: Effect.Effect<A, E>): Effect.Effect<void> =>
  Effect.sync(() => {
    instance.state.turnEnd.push(
      hook.pipe(
        Effect.asVoid,
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`${instance.label}: a turn-end hook failed; the turn's result stands`, cause)
        )
      )
    )
  })
