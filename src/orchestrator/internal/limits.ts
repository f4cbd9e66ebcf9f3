/**
 * The checks of limits given in code (`Orchestrator.make*` options, `AgentsApi.make`, `AgentsTool.wire`): a
 * limit is a positive integer (or Infinity: none); a default timeout a positive, finite duration (it is written
 * with each async request's deadline). NaN, 0, negative and fractional values are refused with
 * `InvalidOption`, never clamped or ignored.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { InvalidOption } from "../OrchestratorError.js"

/** Fails on the first count that is not a positive integer or Infinity. */
export const checkCounts = (
  counts: ReadonlyArray<readonly [option: string, value: number | undefined]>,
  where?: string
): Effect.Effect<void, InvalidOption> => {
  for (const [option, n] of counts) {
    if (n !== undefined && n !== Infinity && !(Number.isSafeInteger(n) && n > 0)) {
      return Effect.fail(
        new InvalidOption({ option, given: String(n), expected: "a positive integer (Infinity: no limit)", where })
      )
    }
  }
  return Effect.void
}

/** Fails unless `timeout` (when given) decodes to a positive, finite duration. */
export const checkTimeout = (
  option: string,
  timeout: Duration.DurationInput | undefined,
  where?: string
): Effect.Effect<void, InvalidOption> => {
  if (timeout === undefined) return Effect.void
  let ms: number
  try {
    ms = Duration.toMillis(Duration.decode(timeout))
  } catch {
    ms = Number.NaN
  }
  return Number.isFinite(ms) && ms > 0 ? Effect.void : Effect.fail(
    new InvalidOption({
      option,
      given: typeof timeout === "string" || typeof timeout === "number" ? String(timeout) : `${ms} ms`,
      expected: `a positive, finite duration such as "30 seconds"`,
      where
    })
  )
}

/** The limits of `AgentsApi.make` (and so `AgentsTool.wire`). */
export const checkApiOptions = (options: {
  readonly maxSpawned?: number | undefined
  readonly maxPendingAsync?: number | undefined
  readonly maxInbox?: number | undefined
  readonly defaultTimeout?: Duration.DurationInput | undefined
}): Effect.Effect<void, InvalidOption> =>
  Effect.zipRight(
    checkCounts([
      ["maxSpawned", options.maxSpawned],
      ["maxPendingAsync", options.maxPendingAsync],
      ["maxInbox", options.maxInbox]
    ], "AgentsApi.make"),
    checkTimeout("defaultTimeout", options.defaultTimeout, "AgentsApi.make")
  )
