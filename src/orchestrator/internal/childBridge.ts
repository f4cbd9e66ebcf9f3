/**
 * The agents bridge of the child-process host, child side: an `AgentsApi` service whose calls are `Call`
 * messages to the orchestrator's process, answered there (see `hostBridge`). The instance gets it as
 * `ctx.agents` / `ToolContext.runtime.agents`, through the built-in `agents` tool and reply delivery
 * (`AgentsTool.attach`), and as the `NativeTools` service of its sandboxed tools (`ctx.callAgent`), so
 * an agent in a child calls others exactly as one in the orchestrator's process: same checks, same
 * `AGENT_*` errors, the call chain carried for cycle detection. Interrupting a call (its turn was
 * cancelled) sends `CallCancel`, which interrupts the request in the parent and the callee's turn with it.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Message from "../../conversation/Message.js"
import * as Middleware from "../../pipeline/Middleware.js"
import * as NativeTools from "../../sandbox/NativeTools.js"
import { toJsonValue } from "../../tool/ToolExecutor.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type * as AgentsApi from "../AgentsApi.js"
import type * as Protocol from "./hostProtocol.js"

/** The bridge: the service the instance calls through, and what the message loop feeds it. */
export interface Bridge {
  readonly service: AgentsApi.Service
  /** A `CallResult` arrived. */
  readonly answer: (id: number, answer: Protocol.CallAnswer) => Effect.Effect<void>
  /** The orchestrator's process is gone: every waiting call fails `AGENT_UNAVAILABLE`. */
  readonly close: Effect.Effect<void>
}

type Answer<T extends Protocol.CallAnswer["_tag"]> = Extract<Protocol.CallAnswer, { readonly _tag: T }>

const gone = new Middleware.AgentsApiError({
  code: "AGENT_UNAVAILABLE",
  message: "the orchestrator's process is gone: this instance is shutting down"
})

const unexpected = (op: string, got: string) =>
  new Middleware.AgentsApiError({
    code: "AGENT_API_UNAVAILABLE",
    message: `the orchestrator answered ${op} with ${got}: the parent and the child run different versions`
  })

/** Builds the bridge of the instance `ref`, which may call `callable`. */
export const make = (options: {
  readonly ref: InstanceRef
  readonly callable: ReadonlyArray<string>
  readonly send: (message: Protocol.ToParent) => Effect.Effect<void>
}): Bridge => {
  const { ref, send } = options
  const waiting = new Map<number, Deferred.Deferred<Protocol.CallAnswer>>()
  let nextId = 0
  let closed = false

  /** Sends one call and waits for its answer; interrupting the wait cancels the call in the parent. */
  const ask = (op: Protocol.CallOp): Effect.Effect<Protocol.CallAnswer> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        if (closed) return gone
        const id = nextId++
        const reply = yield* Deferred.make<Protocol.CallAnswer>()
        waiting.set(id, reply)
        const c = yield* FiberRef.get(Middleware.currentCaller)
        const caller = c !== undefined && c.agentName === ref.agentName && c.instanceKey === ref.instanceKey ?
          { turnId: c.turnId, trace: c.trace, callChain: c.callChain } :
          undefined
        yield* send({ _tag: "Call", id, op, ...(caller === undefined ? {} : { caller }) })
        return yield* restore(Deferred.await(reply)).pipe(
          Effect.onInterrupt(() =>
            Effect.suspend(() => (waiting.delete(id) && !closed ? send({ _tag: "CallCancel", id }) : Effect.void))
          ),
          Effect.ensuring(Effect.sync(() => waiting.delete(id)))
        )
      })
    )

  /** The answer of an agents API call: its success shape, else its error. */
  const expect = <T extends Protocol.CallAnswer["_tag"]>(op: Protocol.CallOp, tag: T) =>
    Effect.flatMap(ask(op), (a): Effect.Effect<Answer<T>, Middleware.AgentsApiError> => {
      if (a._tag === tag) return Effect.succeed(a as Answer<T>)
      if (a._tag === "AgentsApiError") return Effect.fail(a)
      return Effect.fail(unexpected(op._tag, a._tag))
    })

  const metadata = (m: Readonly<Record<string, unknown>> | undefined) =>
    m === undefined ? {} : { metadata: toJsonValue(m) as Readonly<Record<string, Message.Json>> }

  const api: Middleware.AgentsApi = {
    request: (req) =>
      Effect.map(
        expect({
          _tag: "request",
          target: req.target,
          ...(req.input === undefined ? {} : { input: req.input }),
          ...(req.instanceKey === undefined ? {} : { instanceKey: req.instanceKey }),
          ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }),
          ...(req.async === undefined ? {} : { async: req.async }),
          ...metadata(req.metadata)
        }, "Response"),
        ({ _tag, ...response }) => response
      ).pipe(Effect.withSpan("AgentsApi.request")),
    send: (req) =>
      Effect.map(
        expect({
          _tag: "send",
          target: req.target,
          ...(req.input === undefined ? {} : { input: req.input }),
          ...(req.instanceKey === undefined ? {} : { instanceKey: req.instanceKey }),
          ...metadata(req.metadata)
        }, "Sent"),
        ({ _tag, ...sent }) => sent
      ).pipe(Effect.withSpan("AgentsApi.send")),
    spawn: (req) =>
      Effect.map(
        expect({
          _tag: "spawn",
          target: req.target,
          ...(req.instanceKey === undefined ? {} : { instanceKey: req.instanceKey })
        }, "Spawned"),
        (a) => a.spawned
      ).pipe(Effect.withSpan("AgentsApi.spawn")),
    list: (opts) =>
      Effect.map(expect({ _tag: "list", includeAll: opts?.includeAll === true }, "Listed"), (a) => a.instances),
    catalog: Effect.map(expect({ _tag: "catalog" }, "Catalog"), ({ _tag, ...catalog }) => catalog)
  }

  const nativeTools: NativeTools.Service = {
    callAgent: (target, input, call) =>
      Effect.flatMap(
        ask({
          _tag: "callAgent",
          target,
          input: toJsonValue(input),
          toolId: call.toolId,
          ...(call.instanceKey === undefined ? {} : { instanceKey: call.instanceKey }),
          ...(call.mode === undefined ? {} : { mode: call.mode }),
          ...(call.timeoutMs === undefined ? {} : { timeoutMs: call.timeoutMs }),
          ...(call.traceparent === undefined ? {} : { traceparent: call.traceparent }),
          ...(call.tracestate === undefined ? {} : { tracestate: call.tracestate }),
          ...(call.callChain === undefined ? {} : { callChain: call.callChain })
        }),
        (a): Effect.Effect<unknown, NativeTools.NativeCallFailed> => {
          if (a._tag === "Native") return Effect.succeed(a.value)
          if (a._tag === "NativeCallFailed") return Effect.fail(a)
          const e = a._tag === "AgentsApiError" ? a : unexpected("callAgent", a._tag)
          return Effect.fail(new NativeTools.NativeCallFailed({ name: e.code, message: e.message }))
        }
      ),
    callWorkflow: (name) =>
      Effect.fail(
        new NativeTools.NativeCallFailed({
          name: "NativeToolsUnavailable",
          message: `no workflow engine runs '${name}'`
        })
      )
  }

  const sameInstance = (other: InstanceRef) =>
    other.workspaceId === ref.workspaceId && other.agentName === ref.agentName &&
    other.instanceKey === ref.instanceKey

  const service: AgentsApi.Service = {
    // The child hosts one instance: the API of any other is not this process's to give.
    forInstance: (other) => sameInstance(other) ? api : Middleware.agentsUnavailable,
    callable: (agentName) => agentName === ref.agentName ? options.callable : [],
    // The parent's inbox failure (AGENT_INBOX_FAILED) is the child's too.
    pendingReplies: (other) =>
      sameInstance(other) ?
        Effect.map(expect({ _tag: "pendingReplies" }, "Replies"), (a) => a.replies) :
        Effect.succeed([]),
    markDelivered: (other, correlationIds) =>
      sameInstance(other) ? Effect.asVoid(expect({ _tag: "markDelivered", correlationIds }, "Unit")) : Effect.void,
    pendingAsync: (other) =>
      sameInstance(other) ?
        Effect.map(expect({ _tag: "pendingAsync" }, "Count"), (a) => a.count) :
        Effect.succeed(0),
    nativeTools: () => nativeTools
  }

  return {
    service,
    answer: (id, answer) =>
      Effect.suspend(() => {
        const reply = waiting.get(id)
        return reply === undefined ? Effect.void : Deferred.succeed(reply, answer)
      }),
    close: Effect.suspend(() => {
      closed = true
      const all = Array.from(waiting.values())
      waiting.clear()
      return Effect.forEach(all, (d) => Deferred.succeed(d, gone), { discard: true })
    })
  }
}
