/**
 * How one inter-agent request or send is made: the checks and the callee's input (`prepare`), the
 * synchronous wait with its timeout (`call`), and async requests (`asyncRequest`) that run in the API's
 * scope and leave their reply in the caller's inbox (`callsInbox.ts`).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Random from "effect/Random"
import * as Tracer from "effect/Tracer"
import type * as Turn from "../../agent/Turn.js"
import * as Message from "../../conversation/Message.js"
import * as Middleware from "../../pipeline/Middleware.js"
import { toJsonValue } from "../../tool/ToolExecutor.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type { CalleeOutcome, Reply, Router } from "../AgentsApi.js"
import * as Calls from "./calls.js"
import type * as Inbox from "./callsInbox.js"

/**
 * Correlation ids of one API: `corr-<ms>-<salt><n>`, the time from the caller fiber's `Clock`, a random salt
 * drawn once per API (Effect's `Random`) and a counter: unique within the API, random across processes,
 * and no Effect operation per id.
 */
export const correlationIds = (salt: string) => {
  let n = 0
  return (ms: number): string => `corr-${ms.toString(36)}-${salt}${(n++).toString(36)}`
}

/** A salt for {@link correlationIds} (from `Random`). */
export const makeSalt = Effect.map(Random.nextIntBetween(0, 2 ** 31), (n) => n.toString(36).padStart(6, "0"))

/** Effect's built-in tracer records nothing: with it, an API call is no span (as the pipeline's runs). */
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** `AGENT_REQUEST_TIMEOUT` for a request to `target` after `ms`. */
export const timeoutError = (target: string, ms: number) =>
  new Middleware.AgentsApiError({
    code: "AGENT_REQUEST_TIMEOUT",
    message: `agent request to '${target}' timed out after ${ms}ms; its turn was cancelled`,
    target,
    suggestion: "raise timeoutMs, or use async: true and read the reply in a later step"
  })

/** The callee's reply text, or a typed failure when its turn did not end with a reply (synchronously). */
const replyOrError = (target: string, result: Middleware.TurnResult): string | Middleware.AgentsApiError => {
  if (result.finishReason === "error") {
    return new Middleware.AgentsApiError({
      code: "AGENT_TURN_FAILED",
      message: `the turn of ${target} failed: ${result.error?.message ?? "no reply"}`,
      target
    })
  }
  if (result.finishReason === "awaiting_approval") {
    return new Middleware.AgentsApiError({
      code: "AGENT_TURN_FAILED",
      message: `the turn of ${target} is waiting for a human to approve tool calls; it has no reply yet`,
      target,
      suggestion: "approve or deny the pending tool calls of the callee, then ask again"
    })
  }
  return result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data)
}

/** The callee's reply text, or a typed failure when its turn did not end with a reply. */
export const replyOf = (target: string, result: Middleware.TurnResult) => {
  const reply = replyOrError(target, result)
  return typeof reply === "string" ? Effect.succeed(reply) : Effect.fail(reply)
}

/** The callee's input metadata key naming the caller of an async request (`InstanceRef`). */
export const asyncReplyKey = "swarm.asyncReplyTo"

/** What the request machinery works with (owned by the `AgentsApi` service). */
export interface Deps {
  readonly policy: Calls.CallPolicy
  readonly router: Router
  readonly inbox: Inbox.Inbox
  readonly fibers: FiberSet.FiberSet
  readonly defaultMs: number
  readonly maxPending: number
  readonly maxInbox: number
  /** Whether the inbox is on disk (a restarted caller still gets its replies). */
  readonly durable: boolean
  /** The correlation ids' salt (see {@link correlationIds}). */
  readonly salt: string
}

/** A checked call: its target, the callee's input, its timeout and correlation id. */
export interface Prepared {
  readonly target: string
  readonly instanceKey: string
  readonly to: string
  readonly timeoutMs: number
  readonly correlationId: string
  readonly input: Turn.Input
}

/** The request machinery of one `AgentsApi` service. */
export const make = (deps: Deps) => {
  const { defaultMs, durable, fibers, inbox, maxInbox, maxPending, policy, router } = deps
  const orFail = <A>(v: A | Middleware.AgentsApiError): Effect.Effect<A, Middleware.AgentsApiError> =>
    v instanceof Middleware.AgentsApiError ? Effect.fail(v) : Effect.succeed(v)

  const nextId = correlationIds(deps.salt)

  /** The checks and the callee's input, synchronously, for the caller as its fiber knows it (chain, span). */
  const prepareWith = (
    ref: InstanceRef,
    req: Middleware.AgentRequest,
    kind: "request" | "send",
    c: Middleware.CallerContext | undefined,
    now: number
  ): Prepared | Middleware.AgentsApiError => {
    const ctx = c !== undefined && c.agentName === ref.agentName && c.instanceKey === ref.instanceKey ? c : undefined
    const caller = ref.agentName
    const target = Calls.checkTarget(policy, caller, req.target)
    if (target instanceof Middleware.AgentsApiError) return target
    const instanceKey = Calls.checkInstanceKey(req.instanceKey, ref.instanceKey)
    if (instanceKey instanceof Middleware.AgentsApiError) return instanceKey
    const text = Calls.checkInput(req.input)
    if (text instanceof Middleware.AgentsApiError) return text
    const timeoutMs = kind === "request" ? Calls.checkTimeout(req.timeoutMs, defaultMs) : defaultMs
    if (timeoutMs instanceof Middleware.AgentsApiError) return timeoutMs
    const self = Calls.address(caller, ref.instanceKey)
    const to = Calls.address(target, instanceKey)
    // Cycles are about waiting callers: only a sync request extends the chain of callers that wait. A send
    // or an async request waits for nobody, so its callee starts a chain of its own (empty) and may call
    // its sender; the link to the sender is kept in the source, `call.callerAgent` and `parentTrace`.
    const waits = kind === "request" && req.async !== true
    const chain = kind === "send" ? [] : Calls.checkCycle(waits ? ctx?.callChain ?? [] : [], self, to)
    if (chain instanceof Middleware.AgentsApiError) return chain
    const own = Calls.checkOwnAgent(policy, caller, target)
    if (own !== undefined) return own
    const correlationId = nextId(now)
    const metadata = req.metadata === undefined ? {} : { "swarm.callMetadata": toJsonValue(req.metadata) }
    // Where the callee's side answers an async request that outlived its caller's process.
    const replyTo = kind === "request" && req.async === true
      ? { [asyncReplyKey]: { workspaceId: ref.workspaceId, agentName: caller, instanceKey: ref.instanceKey } }
      : {}
    const input: Turn.Input = {
      text,
      source: { type: "agent", kind, agentName: caller, instanceKey: ref.instanceKey, correlationId },
      ...(ctx === undefined ? {} : { parentTrace: ctx.trace }),
      call: {
        callerAgent: caller,
        callerInstanceKey: ref.instanceKey,
        ...(ctx === undefined ? {} : { callerTurnId: ctx.turnId }),
        callSource: "agents-api",
        callStack: waits ? chain : [],
        ...(kind === "request" ? { replyTo: { target: self, correlationId } } : {})
      },
      metadata: { "swarm.correlationId": correlationId, ...metadata, ...replyTo }
    }
    return { target, instanceKey, to, timeoutMs, correlationId, input }
  }

  /**
   * Runs one API call: the checks and the callee's input (`prepareWith`) then `f`, as the span `name` when a
   * tracer records spans; one Effect operation reads the fiber (caller, clock, tracer).
   */
  const run = <A>(
    ref: InstanceRef,
    req: Middleware.AgentRequest,
    kind: "request" | "send",
    name: string,
    f: (p: Prepared) => Effect.Effect<A, Middleware.AgentsApiError>
  ): Effect.Effect<A, Middleware.AgentsApiError> =>
    Effect.withFiberRuntime((fiber) => {
      const services = fiber.getFiberRef(DefaultServices.currentServices)
      const now = Context.get(services, Clock.Clock).unsafeCurrentTimeMillis()
      const p = prepareWith(ref, req, kind, fiber.getFiberRef(Middleware.currentCaller), now)
      const effect = p instanceof Middleware.AgentsApiError ? Effect.fail(p) : f(p)
      return Context.get(services, Tracer.Tracer) === nativeTracer ? effect : Effect.withSpan(effect, name)
    })

  const call = (p: Prepared) =>
    (router.requestWithin === undefined ?
      router.request(p.target, p.instanceKey, p.input).pipe(
        Effect.timeoutFail({
          duration: Duration.millis(p.timeoutMs),
          onTimeout: () => timeoutError(p.to, p.timeoutMs)
        })
      ) :
      router.requestWithin(p.target, p.instanceKey, p.input, p.timeoutMs).pipe(
        // The same error, whoever enforced the deadline.
        Effect.mapError((e) => e.code === "AGENT_REQUEST_TIMEOUT" ? timeoutError(p.to, p.timeoutMs) : e)
      )).pipe(Effect.flatMap((result) => replyOf(p.to, result)))

  /** A synchronous request's response (one step from the router's answer to the caller's). */
  const respond = (p: Prepared): Effect.Effect<Middleware.AgentResponse, Middleware.AgentsApiError> => {
    const answer = (result: Middleware.TurnResult) => {
      const reply = replyOrError(p.to, result)
      return typeof reply === "string" ?
        Effect.succeed<Middleware.AgentResponse>({
          target: p.to,
          correlationId: p.correlationId,
          async: false,
          response: reply
        }) :
        Effect.fail(reply)
    }
    if (router.requestWithin === undefined) {
      return Effect.map(call(p), (response): Middleware.AgentResponse => ({
        target: p.to,
        correlationId: p.correlationId,
        async: false,
        response
      }))
    }
    return Effect.matchEffect(router.requestWithin(p.target, p.instanceKey, p.input, p.timeoutMs), {
      // The same error, whoever enforced the deadline.
      onFailure: (e) => Effect.fail(e.code === "AGENT_REQUEST_TIMEOUT" ? timeoutError(p.to, p.timeoutMs) : e),
      onSuccess: answer
    })
  }

  const asyncRequest = (ref: InstanceRef, p: Prepared) =>
    Effect.gen(function*() {
      const inFlight = (yield* inbox.outstanding(ref)).length
      if (inFlight >= maxPending) {
        return yield* new Middleware.AgentsApiError({
          code: "AGENT_PENDING_LIMIT",
          message: `${
            Calls.address(ref.agentName, ref.instanceKey)
          } has ${inFlight} async requests in flight (limit ${maxPending})`,
          target: p.to,
          suggestion: "wait for replies in later steps before sending more async requests"
        })
      }
      const waiting = (yield* inbox.pending(ref)).length
      if (inFlight + waiting >= maxInbox) {
        return yield* new Middleware.AgentsApiError({
          code: "AGENT_INBOX_FULL",
          message: `the async inbox of ${
            Calls.address(ref.agentName, ref.instanceKey)
          } would exceed ${maxInbox} replies (${waiting} waiting, ${inFlight} in flight)`,
          target: p.to,
          suggestion: "let the waiting replies be delivered (a next step) before sending more async requests"
        })
      }
      const now = yield* Clock.currentTimeMillis
      const deadline = now + p.timeoutMs
      // On disk (fsynced) before the callee hears of it and before the caller gets the correlation id.
      yield* inbox.expect(ref, {
        v: 1,
        op: "sent",
        correlationId: p.correlationId,
        agentName: p.target,
        instanceKey: p.instanceKey,
        deadline,
        timeoutMs: p.timeoutMs
      })
      // Kept in the caller's inbox, then the caller is told (an idle one gets a wake-up turn).
      const settle = (reply: Omit<Reply, "v" | "correlationId" | "agentName" | "instanceKey" | "receivedAt">) =>
        Effect.flatMap(Clock.currentTimeMillis, (receivedAt) =>
          inbox.put(ref, {
            v: 1,
            correlationId: p.correlationId,
            agentName: p.target,
            instanceKey: p.instanceKey,
            receivedAt,
            ...reply
          })).pipe(
            Effect.zipRight(wake(router, ref)),
            // The caller's inbox broke after the request was recorded: said loudly (its file names the fix).
            Effect.catchAll((e) => Effect.logError(`the reply ${p.correlationId} to ${p.to} is lost: ${e.message}`))
          )
      // Accepted by the callee (durably, with a state root) before the correlation id is returned.
      let wait: Effect.Effect<string, Middleware.AgentsApiError>
      if (router.submitWithin !== undefined) {
        // The deadline on the router's registry (one timer for all requests), from acceptance on.
        const waiting = yield* router.submitWithin(p.target, p.instanceKey, p.input, Math.max(0, deadline - now)).pipe(
          Effect.tapError(() => inbox.forget(ref, [p.correlationId]))
        )
        wait = waiting.pipe(
          // The same error, whoever enforced the deadline.
          Effect.mapError((e) => e.code === "AGENT_REQUEST_TIMEOUT" ? timeoutError(p.to, p.timeoutMs) : e),
          Effect.flatMap((result) => replyOf(p.to, result))
        )
      } else if (router.submit === undefined) {
        wait = call(p)
      } else {
        const waiting = yield* router.submit(p.target, p.instanceKey, p.input).pipe(
          Effect.tapError(() => inbox.forget(ref, [p.correlationId]))
        )
        wait = waiting.pipe(
          Effect.timeoutFail({
            duration: Duration.millis(Math.max(0, deadline - now)),
            onTimeout: () => timeoutError(p.to, p.timeoutMs)
          }),
          Effect.flatMap((result) => replyOf(p.to, result))
        )
      }
      yield* FiberSet.run(
        fibers,
        wait.pipe(
          Effect.matchEffect({
            onSuccess: (response) => settle({ status: "ok", response }),
            onFailure: (e) =>
              // Unavailable (a shutdown): the callee's message stays in its inbox, or its abandoned turn is
              // answered by the callee's side (`replyFromCallee`); at the latest the deadline answers.
              e.code === "AGENT_UNAVAILABLE" && durable ? Effect.void : settle({
                status: e.code === "AGENT_REQUEST_TIMEOUT" ? "timeout" : "error",
                error: { code: e.code, message: e.message }
              })
          })
        )
      )
      const response: Middleware.AgentResponse = { target: p.to, correlationId: p.correlationId, async: true }
      return response
    })

  return { orFail, run, call, respond, asyncRequest }
}

/** Tells the router a reply waits for `ref` (after it is in the inbox). */
const wake = (router: Router, ref: InstanceRef): Effect.Effect<void> =>
  router.wake === undefined ? Effect.void : router.wake(ref.agentName, ref.instanceKey)

/** The callee's side of an async request (see `AgentsApi.Service.replyFromCallee`); then the caller is told. */
export const replyFromCallee = (
  inbox: Inbox.Inbox,
  router: Router,
  metadata: Readonly<Record<string, unknown>> | undefined,
  callee: { readonly agentName: string; readonly instanceKey: string },
  outcome: CalleeOutcome
): Effect.Effect<void> => {
  const to = metadata?.[asyncReplyKey]
  const correlationId = metadata?.["swarm.correlationId"]
  if (typeof to !== "object" || to === null || typeof correlationId !== "string") return Effect.void
  const { agentName, instanceKey, workspaceId } = to as Record<string, unknown>
  if (typeof agentName !== "string" || typeof instanceKey !== "string" || typeof workspaceId !== "string") {
    return Effect.void
  }
  const target = Calls.address(callee.agentName, callee.instanceKey)
  return Effect.gen(function*() {
    const reply = outcome._tag === "Completed"
      ? yield* Effect.either(replyOf(target, outcome.result))
      : Either.left({ code: outcome.code, message: outcome.message })
    const caller = { workspaceId, agentName, instanceKey }
    yield* inbox.put(caller, {
      v: 1,
      correlationId,
      agentName: callee.agentName,
      instanceKey: callee.instanceKey,
      receivedAt: yield* Clock.currentTimeMillis,
      ...(Either.isRight(reply)
        ? { status: "ok" as const, response: reply.right }
        : { status: "error" as const, error: { code: reply.left.code, message: reply.left.message } })
    })
    yield* wake(router, caller)
  }).pipe(
    Effect.catchAll((e) =>
      Effect.logError(
        `the reply ${correlationId} of ${target} to ${agentName}@${instanceKey} could not be kept: ${e.message}`
      )
    )
  )
}
