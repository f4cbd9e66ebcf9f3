/**
 * The orchestrator's request without its public span: `AgentsTool.routerOf` sends inter-agent requests
 * through it (the `AgentsApi.request` span already covers the call; a second span and stack capture per
 * request cost ~40 Effect ops of an in-process round trip's framework time).
 */
import type * as Effect from "effect/Effect"
import type { TurnResult } from "../../pipeline/Middleware.js"
import type * as AgentAddress from "../AgentAddress.js"
import type { OrchestratorError } from "../OrchestratorError.js"
import type { TurnInput } from "./mailbox.js"

export type Request = (
  address: AgentAddress.AgentAddress,
  input: TurnInput,
  timeoutMs: number | undefined
) => Effect.Effect<TurnResult, OrchestratorError>

/** Orchestrator service -> its unspanned request (registered by the service's builder). */
export const requests = new WeakMap<object, Request>()

export type SubmitWithin = (
  address: AgentAddress.AgentAddress,
  input: TurnInput,
  timeoutMs: number
) => Effect.Effect<Effect.Effect<TurnResult, OrchestratorError>, OrchestratorError>

/** Orchestrator service -> its `submit` with a deadline on the orchestrator's registry (async requests). */
export const submits = new WeakMap<object, SubmitWithin>()

/** Orchestrator service -> its wake of a caller with waiting async replies (absent: `wakeOnReply: false`). */
export const wakes = new WeakMap<object, (agentName: string, instanceKey: string) => Effect.Effect<void>>()
