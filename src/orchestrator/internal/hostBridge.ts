/**
 * The agents bridge of the child-process host, parent side: the child's instance calls other agents with
 * `Call` messages and this module answers them through the orchestrator's `AgentsApi` service, as the
 * instance the child was started for (never as whoever the child claims to be). Each call runs on its own
 * fiber, under the caller's turn, span and chain (`Middleware.currentCaller`), so the checks (allow-list,
 * self call, cycles across processes), correlation ids, timeouts and the async inbox are the very ones
 * in-process instances get. `CallCancel` (the child's caller was interrupted) interrupts the call, which
 * cancels the callee's turn; the child's exit interrupts every call still running.
 */
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import type * as Scope from "effect/Scope"
import type * as Message from "../../conversation/Message.js"
import * as Middleware from "../../pipeline/Middleware.js"
import { NativeCallFailed } from "../../sandbox/NativeTools.js"
import { toJsonValue } from "../../tool/ToolExecutor.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type * as AgentsApi from "../AgentsApi.js"
import * as Calls from "./calls.js"
import type * as Protocol from "./hostProtocol.js"

type Call = Extract<Protocol.ToParent, { readonly _tag: "Call" }>

/** What the child's calls need: the orchestrator's service, the instance, a way to answer. */
export interface Options {
  readonly calls: AgentsApi.Service
  readonly ref: InstanceRef
  readonly send: (message: Protocol.ToChild) => Effect.Effect<void>
}

/** Answers the child's `Call` and `CallCancel` messages; `interruptAll` when the child is gone. */
export interface Bridge {
  readonly call: (message: Call) => Effect.Effect<void>
  readonly cancel: (id: number) => Effect.Effect<void>
  readonly interruptAll: Effect.Effect<void>
}

/** JSON null stands for NaN / Infinity (JSON has neither): refused as an invalid timeout, as in-process. */
const timeout = (ms: number | null | undefined): number | undefined => ms === null ? Number.NaN : ms

const json = (value: unknown): Message.Json => toJsonValue(value) as Message.Json

/** One call, answered with a success shape or the typed error. */
const answer = (options: Options, api: Middleware.AgentsApi, op: Protocol.CallOp): Effect.Effect<
  Protocol.CallAnswer
> => {
  const { calls, ref } = options
  const failed = (e: Middleware.AgentsApiError | NativeCallFailed): Effect.Effect<Protocol.CallAnswer> =>
    Effect.succeed(e)
  switch (op._tag) {
    case "request":
      return api.request({
        target: op.target,
        input: op.input,
        instanceKey: op.instanceKey,
        timeoutMs: timeout(op.timeoutMs),
        async: op.async,
        metadata: op.metadata
      }).pipe(
        Effect.map((r): Protocol.CallAnswer => ({
          _tag: "Response",
          target: r.target,
          correlationId: r.correlationId,
          async: r.async,
          ...(r.response === undefined ? {} : { response: r.response })
        })),
        Effect.catchAll(failed)
      )
    case "send":
      return api.send({ target: op.target, input: op.input, instanceKey: op.instanceKey, metadata: op.metadata }).pipe(
        Effect.map((r): Protocol.CallAnswer => ({ _tag: "Sent", ...r })),
        Effect.catchAll(failed)
      )
    case "spawn":
      return api.spawn({ target: op.target, instanceKey: op.instanceKey }).pipe(
        Effect.map((spawned): Protocol.CallAnswer => ({ _tag: "Spawned", spawned })),
        Effect.catchAll(failed)
      )
    case "list":
      return api.list({ includeAll: op.includeAll }).pipe(
        Effect.map((instances): Protocol.CallAnswer => ({ _tag: "Listed", instances })),
        Effect.catchAll(failed)
      )
    case "catalog":
      return api.catalog.pipe(
        Effect.map((c): Protocol.CallAnswer => ({ _tag: "Catalog", ...c })),
        Effect.catchAll(failed)
      )
    case "pendingReplies":
      return calls.pendingReplies(ref).pipe(
        Effect.map((replies): Protocol.CallAnswer => ({ _tag: "Replies", replies })),
        Effect.catchAll(failed)
      )
    case "markDelivered":
      return Effect.as(calls.markDelivered(ref, op.correlationIds), { _tag: "Unit" } as const).pipe(
        Effect.catchAll(failed)
      )
    case "pendingAsync":
      return calls.pendingAsync(ref).pipe(
        Effect.map((count): Protocol.CallAnswer => ({ _tag: "Count", count })),
        Effect.catchAll(failed)
      )
    case "callAgent": {
      const { _tag, input, target, timeoutMs, ...rest } = op
      return calls.nativeTools(ref.workspaceId).callAgent(target, input, {
        ...rest,
        timeoutMs: timeout(timeoutMs),
        // The caller is the child's instance, whatever its tool code says.
        caller: Calls.address(ref.agentName, ref.instanceKey)
      }).pipe(
        Effect.map((value): Protocol.CallAnswer => ({ _tag: "Native", value: json(value) })),
        Effect.catchAll(failed)
      )
    }
  }
}

/** The bridge of one child (its calls live in the scope; the child's exit interrupts them). */
export const make = (options: Options): Effect.Effect<Bridge, never, Scope.Scope> =>
  Effect.gen(function*() {
    const running = yield* FiberMap.make<number>()
    const api = options.calls.forInstance(options.ref)
    const { agentName, instanceKey } = options.ref
    return {
      call: (message) => {
        const caller: Middleware.CallerContext | undefined = message.caller === undefined ? undefined : {
          agentName,
          instanceKey,
          turnId: message.caller.turnId,
          trace: message.caller.trace,
          callChain: message.caller.callChain
        }
        return FiberMap.run(
          running,
          message.id,
          answer(options, api, message.op).pipe(
            Effect.locally(Middleware.currentCaller, caller),
            Effect.flatMap((result) => options.send({ _tag: "CallResult", id: message.id, answer: result })),
            Effect.withSpan("AgentHost.childCall", { attributes: { "effect_swarm.call": message.op._tag } })
          )
        ).pipe(Effect.asVoid)
      },
      cancel: (id) => FiberMap.remove(running, id),
      interruptAll: FiberMap.clear(running)
    }
  })

/** The error a child's call gets when the orchestrator answers nothing (it has no agents API). */
export const unavailable = (op: Protocol.CallOp): Protocol.CallAnswer =>
  op._tag === "callAgent" ?
    new NativeCallFailed({
      name: "AGENT_API_UNAVAILABLE",
      message: `ctx.callAgent('${op.target}'): no agents API is wired into this orchestrator`
    }) :
    new Middleware.AgentsApiError({
      code: "AGENT_API_UNAVAILABLE",
      message: "no agents API is wired into this orchestrator",
      suggestion: "pass AgentsTool.wire's `calls` to the Orchestrator options"
    })
