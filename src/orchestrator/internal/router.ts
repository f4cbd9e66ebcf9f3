/**
 * A `Router` over an orchestrator's mailboxes (see `AgentsTool.routerOf`, which documents it).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Turn from "../../agent/Turn.js"
import * as Middleware from "../../pipeline/Middleware.js"
import * as AgentAddress from "../AgentAddress.js"
import type { Router } from "../AgentsApi.js"
import type * as Orchestrator from "../Orchestrator.js"
import type { OrchestratorError } from "../OrchestratorError.js"
import * as Direct from "./direct.js"

const toApiError = (e: OrchestratorError) => {
  const code: Middleware.AgentsApiErrorCode = e._tag === "InvalidAgentAddress" ? "AGENT_INVALID_REQUEST" : e.code
  return new Middleware.AgentsApiError({ code, message: e.message })
}

/** @internal */
export const routerOf = (orchestrator: Orchestrator.Service): Router => {
  // The same request without the public method's span (the AgentsApi.request span covers the call).
  const direct = Direct.requests.get(orchestrator)
  const submitWithin = Direct.submits.get(orchestrator)
  const wake = Direct.wakes.get(orchestrator)
  const toMessage = (input: Turn.Input): Orchestrator.TurnInput => {
    const { text, ...call } = input
    return { input: text, call }
  }
  return {
    request: (agentName, instanceKey, input) =>
      orchestrator.request({ agentName, instanceKey }, toMessage(input)).pipe(Effect.mapError(toApiError)),
    requestWithin: direct === undefined ?
      (agentName, instanceKey, input, timeoutMs) =>
        orchestrator.request({ agentName, instanceKey }, toMessage(input), { timeout: timeoutMs }).pipe(
          Effect.mapError(toApiError)
        ) :
      (agentName, instanceKey, input, timeoutMs) =>
        Effect.mapError(direct({ agentName, instanceKey }, toMessage(input), timeoutMs), toApiError),
    send: (agentName, instanceKey, input) =>
      orchestrator.send({ agentName, instanceKey }, toMessage(input)).pipe(Effect.mapError(toApiError)),
    submit: (agentName, instanceKey, input) =>
      orchestrator.submit({ agentName, instanceKey }, toMessage(input), { cancelOnInterrupt: true }).pipe(
        Effect.map(Effect.mapError(toApiError)),
        Effect.mapError(toApiError)
      ),
    ...(submitWithin === undefined ? {} : {
      submitWithin: (agentName: string, instanceKey: string, input: Turn.Input, timeoutMs: number) =>
        submitWithin({ agentName, instanceKey }, toMessage(input), timeoutMs).pipe(
          Effect.map(Effect.mapError(toApiError)),
          Effect.mapError(toApiError)
        )
    }),
    ...(wake === undefined ? {} : { wake }),
    spawn: (agentName, instanceKey) =>
      Effect.gen(function*() {
        const address = yield* Either.match(AgentAddress.make(agentName, instanceKey), {
          onLeft: (e) => Effect.fail(toApiError(e)),
          onRight: Effect.succeed
        })
        const known = yield* orchestrator.list
        return !known.some((i) => i.address === AgentAddress.format(address))
      })
  }
}
