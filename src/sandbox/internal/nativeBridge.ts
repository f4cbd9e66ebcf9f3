/**
 * Native-tool requests on the host side: a worker's `native` frame (`ctx.callAgent` /
 * `ctx.callWorkflow` in tool code) answered through the host's {@link NativeTools} service, with the
 * bridges the tool did not declare refused here, where tool code cannot get around it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as NativeTools from "../NativeTools.js"
import type * as WorkerProcess from "../WorkerProcess.js"
import type { WorkerSession } from "./session.js"

/** @internal */
export interface NativeBridge {
  readonly service: Option.Option<NativeTools.Service>
  readonly callAgents: boolean
  readonly callWorkflows: boolean
  /** Where the call comes from (the request's `origin`), handed to `callAgent` with every request. */
  readonly origin: NativeTools.Origin | undefined
}

const str = (value: unknown, fallback: string): string => (typeof value === "string" ? value : fallback)

/**
 * Answers one `native` frame with a `reply` message to the worker (success or a readable error).
 *
 * @internal
 */
export const answer = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession,
  frame: WorkerProcess.Frame,
  native: NativeBridge
): Effect.Effect<void> => {
  const rid = frame.rid
  const kind = frame.kind
  const target = str(frame.target, "")
  const enabled = kind === "agent" ? native.callAgents : native.callWorkflows
  const call: Effect.Effect<unknown, NativeTools.NativeCallFailed> = !enabled ?
    disabled(session, kind === "agent" ? "callAgent" : "callWorkflow") :
    Option.match(native.service, {
      onNone: () =>
        new NativeTools.NativeCallFailed({
          name: "NativeToolsUnavailable",
          message: "no NativeTools service is provided to the ToolRuntime layer"
        }),
      onSome: (service) =>
        kind === "agent" ?
          agentCall(service, session, target, frame, native.origin) :
          service.callWorkflow(target, frame.input)
    })
  return call.pipe(
    Effect.matchCause({
      onSuccess: (value) => proc.send({ t: "reply", rid, ok: true, value }),
      onFailure: (cause) => {
        const failure = cause._tag === "Fail" ? cause.error : undefined
        proc.send({
          t: "reply",
          rid,
          ok: false,
          error: {
            name: failure?.name ?? "NativeCallFailed",
            message: failure?.message ?? "the native call failed on the host",
            ...(failure?.suggestion === undefined ? {} : { suggestion: failure.suggestion })
          }
        })
      }
    })
  )
}

/**
 * The refusal of a bridge the tool did not declare: enforced here, on the host (the worker only
 * forwards), so tool code cannot get around it.
 */
const disabled = (session: WorkerSession, bridge: "callAgent" | "callWorkflow"): NativeTools.NativeCallFailed =>
  new NativeTools.NativeCallFailed({
    name: "NativeToolDisabled",
    message: `tool ${JSON.stringify(session.toolId)} may not use ctx.${bridge}: it is not in the tool's ` +
      `spec.runtime.nativeTools`,
    suggestion: `declare it in the Tool resource (spec.runtime.nativeTools: [${bridge}]), or for tools run ` +
      `directly through ToolRuntime, RuntimeConfig.withNativeTools({ ${
        bridge === "callAgent" ? "callAgents" : "callWorkflows"
      }: true })`
  })

/** One `ctx.callAgent`: the tool's options validated, the origin the host gave the call attached. */
const agentCall = (
  service: NativeTools.Service,
  session: WorkerSession,
  target: string,
  frame: WorkerProcess.Frame,
  origin: NativeTools.Origin | undefined
): Effect.Effect<unknown, NativeTools.NativeCallFailed> => {
  const options = NativeTools.parseCallAgentOptions(frame.options)
  if (options._tag === "Left") {
    return new NativeTools.NativeCallFailed({
      name: "InvalidNativeOptions",
      message: `ctx.callAgent(${JSON.stringify(target)}, input, options): ${options.left}`
    })
  }
  return service.callAgent(target, frame.input, {
    ...options.right,
    ...origin,
    ...(origin?.callChain !== undefined ? { callChain: [...origin.callChain] } : {}),
    toolId: session.toolId
  })
}
