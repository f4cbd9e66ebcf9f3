/**
 * The host side of `ctx.callAgent` in sandboxed tools: a request on behalf of the tool call's agent
 * (the origin the sandbox reports, else the fiber's caller).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Trace from "../../event/Trace.js"
import * as Middleware from "../../pipeline/Middleware.js"
import * as NativeTools from "../../sandbox/NativeTools.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import * as AgentAddress from "../AgentAddress.js"

/** `NativeTools` of one workspace over the agents API of its instances. */
export const nativeToolsOf =
  (forInstance: (ref: InstanceRef) => Middleware.AgentsApi) => (workspaceId: string): NativeTools.Service => ({
    callAgent: (target, input, call) =>
      Effect.gen(function*() {
        // The origin the sandbox reports for the tool call wins; else the fiber's caller (in-process runs).
        const fromFiber = yield* FiberRef.get(Middleware.currentCaller)
        const origin = call?.caller === undefined ? undefined : AgentAddress.parseEither(call.caller)
        const caller: Middleware.CallerContext | undefined = origin !== undefined && Either.isRight(origin)
          ? {
            agentName: origin.right.agentName,
            instanceKey: origin.right.instanceKey,
            turnId: fromFiber?.turnId ?? "",
            trace: Option.getOrUndefined(Trace.fromTraceparent(call?.traceparent ?? "")) ??
              fromFiber?.trace ?? { traceId: "", spanId: "" },
            callChain: call?.callChain ?? fromFiber?.callChain ?? []
          }
          : fromFiber
        if (caller === undefined) {
          return yield* new NativeTools.NativeCallFailed({
            name: "AGENT_API_UNAVAILABLE",
            message: `ctx.callAgent('${target}') ran outside an agent's tool call`
          })
        }
        const api = forInstance({ workspaceId, agentName: caller.agentName, instanceKey: caller.instanceKey })
        const text = typeof input === "string" ? input : JSON.stringify(input) ?? ""
        const response = yield* api.request({
          target,
          input: text,
          instanceKey: call?.instanceKey,
          timeoutMs: call?.timeoutMs,
          async: call?.mode === "async"
        }).pipe(
          Effect.locally(Middleware.currentCaller, caller),
          Effect.mapError((e) => new NativeTools.NativeCallFailed({ name: e.code, message: e.message }))
        )
        return response.async ? { correlationId: response.correlationId, async: true } : response.response ?? ""
      }),
    callWorkflow: (name) =>
      Effect.fail(
        new NativeTools.NativeCallFailed({
          name: "NativeToolsUnavailable",
          message: `no workflow engine runs '${name}'`
        })
      )
  })
