/**
 * The host side of the worker protocol, shared by cold calls, pools and pre-started workers: the
 * handshake, one call and its outcome (answering native-tool requests), what a dead worker means,
 * and the host-owned timeout.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as RuntimeConfig from "../../config/RuntimeConfig.js"
import {
  EntrypointLoadFailed,
  ProtocolError,
  ToolCrashed,
  ToolMemoryExceeded,
  ToolNotFound,
  ToolScratchExceeded,
  ToolThrew,
  ToolTimeout
} from "../ToolRuntimeError.js"
import type { ToolRuntimeError } from "../ToolRuntimeError.js"
import type * as WorkerProcess from "../WorkerProcess.js"
import * as NativeBridge from "./nativeBridge.js"
import * as WorkerSpan from "./workerSpan.js"

// ---------------------------------------------------------------------------------------------------
// Failures of one attempt
// ---------------------------------------------------------------------------------------------------

/** The worker died before the handshake: retried like a spawn failure (unless it cannot succeed). */
export interface EarlyExit {
  readonly _tag: "EarlyExit"
  readonly exitCode: number | undefined
  readonly signal: string | undefined
  readonly stderrTail: string
}

/** What one attempt at a call can fail with. */
export type AttemptError = ToolRuntimeError | EarlyExit

/**
 * A start-up failure that will happen again on every attempt: the runtime rejected its command line
 * (Node exits with 9 on a bad option; every runtime says "bad option", "unknown option" and the like).
 * Retrying it would only delay the error by `backoffMaxElapsedTime`.
 */
export const isDeterministicStartFailure = (e: EarlyExit): boolean =>
  e.exitCode === 9 ||
  /bad option|unknown (?:option|flag|argument)|unrecognized (?:option|argument)|invalid value for/i.test(e.stderrTail)

/** Bytes in a MiB. */
export const MiB = 1024 * 1024

const heapOom = /heap out of memory|out of memory|Fatal JavaScript invalid size error|Allocation failed/i

// ---------------------------------------------------------------------------------------------------
// A session with one worker
// ---------------------------------------------------------------------------------------------------

/** What the host knows about the call a worker serves (named "session", not "conversation": that is
 * the agent's message history, `effect-swarm/conversation`). */
export interface WorkerSession {
  readonly toolId: string
  readonly runtimeType: RuntimeConfig.RuntimeType
  readonly entrypointPath: string
  readonly limitMB: number
  readonly stderrTailBytes: number
  readonly killGrace: Duration.Duration
}

/**
 * What a dead worker means: a memory kill, a heap OOM, or a crash (or an early exit before the
 * handshake, which the caller may retry).
 *
 * @internal
 */
export const deathError = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession,
  beforeHandshake: boolean
): AttemptError => {
  const info = proc.exitInfo()
  const stderrTail = proc.stderr.tailText(session.stderrTailBytes)
  const peakMB = Math.round(proc.peakRssBytes() / MiB)
  if (proc.scratchExceeded()) return scratchExceeded(session)
  if (proc.memoryKilled() || (session.runtimeType !== "bun" && info?.code !== 0 && heapOom.test(stderrTail))) {
    return new ToolMemoryExceeded({ toolId: session.toolId, limitMB: session.limitMB, peakMB, stderrTail })
  }
  const early: EarlyExit = {
    _tag: "EarlyExit",
    exitCode: info?.code ?? undefined,
    signal: info?.signal ?? undefined,
    stderrTail
  }
  return beforeHandshake ? early : crashed(session.toolId, early)
}

const scratchExceeded = (session: WorkerSession): ToolScratchExceeded =>
  new ToolScratchExceeded({
    toolId: session.toolId,
    limitMB: session.limitMB,
    message: `the files in the call's scratch directory (HOME, TMPDIR) grew past ${session.limitMB} MiB`
  })

/**
 * Fails with `ToolScratchExceeded` when the worker's scratch directory is over its limit now (checked
 * when a call ends: the watchdog only samples).
 *
 * @internal
 */
export const checkScratch = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession
): Effect.Effect<void, ToolScratchExceeded> =>
  Effect.suspend(() => proc.overScratch() ? Effect.fail(scratchExceeded(session)) : Effect.void)

/** The `ToolCrashed` for a worker that died (before its handshake, or once retries are over). */
export const crashed = (toolId: string, exit: EarlyExit): ToolCrashed =>
  new ToolCrashed({
    toolId,
    stderrTail: exit.stderrTail,
    ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
    ...(exit.signal !== undefined ? { signal: exit.signal } : {})
  })

/**
 * The next protocol frame, or the reason there will be none.
 *
 * @internal
 */
export const nextFrame = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession,
  beforeHandshake: boolean
): Effect.Effect<WorkerProcess.Frame, AttemptError> =>
  Effect.gen(function*() {
    for (;;) {
      const event = yield* Queue.take(proc.events)
      switch (event._tag) {
        case "Frame":
          return event.frame
        case "BadFrame":
          return yield* new ProtocolError({ toolId: session.toolId, message: event.reason })
        case "StdoutClosed":
        case "Exited": {
          // Let the rest of stdout arrive (a result written just before exiting), then decide. A cold
          // worker exits on its own once its call settles, so the exit may be seen before `ready` and
          // the result: the frames after the one returned are put back, followed by the exit again.
          yield* proc.terminate
          const rest = Chunk.toReadonlyArray(yield* Queue.takeAll(proc.events))
          const first = rest.findIndex((late) => late._tag === "Frame")
          const late = rest[first]
          if (late === undefined || late._tag !== "Frame") {
            return yield* Effect.fail(deathError(proc, session, beforeHandshake))
          }
          const later = rest.slice(first + 1).filter((e) => e._tag === "Frame" || e._tag === "BadFrame")
          yield* Queue.offerAll(proc.events, [...later, { _tag: "Exited" as const }])
          return late.frame
        }
      }
    }
  })

/** A write that failed for lack of space (Node and Bun set `code`; Deno says "os error 28"). */
export const isNoSpace = (error: ToolThrew): boolean =>
  error.code === "ENOSPC" || /no space left on device|os error 28/i.test(error.message)

const str = (value: unknown, fallback: string): string => (typeof value === "string" ? value : fallback)

/**
 * Waits for `hello` then `ready` (or `loadError`).
 *
 * @internal
 */
export const handshake = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession
): Effect.Effect<ReadonlyArray<string>, AttemptError> =>
  Effect.gen(function*() {
    let hello = false
    for (;;) {
      const frame = yield* nextFrame(proc, session, !hello)
      if (frame.t === "hello") hello = true
      else if (frame.t === "ready") {
        return Array.isArray(frame.tools) ? frame.tools.filter((t): t is string => typeof t === "string") : []
      } else if (frame.t === "loadError") {
        const error = (frame.error ?? {}) as Record<string, unknown>
        return yield* new EntrypointLoadFailed({
          entrypointPath: session.entrypointPath,
          runtimeType: session.runtimeType,
          name: str(error.name, "Error"),
          message: str(error.message, "the entrypoint could not be loaded"),
          ...(typeof error.stack === "string" ? { stack: error.stack } : {})
        })
      } else {
        return yield* new ProtocolError({ toolId: session.toolId, message: `unexpected ${frame.t} frame before ready` })
      }
    }
  })

/** @internal */
export interface CallRequest {
  readonly id: number
  readonly input: unknown
  readonly config: unknown
  readonly env: Record<string, string>
  readonly traceparent?: string | undefined // the tool-call span's, handed to the tool as ctx.traceparent
}

/**
 * The `call` message of the protocol for `request`.
 *
 * @internal
 */
export const callMessage = (session: WorkerSession, request: CallRequest): object => ({
  t: "call",
  id: request.id,
  tool: session.toolId,
  input: request.input,
  config: request.config,
  env: request.env,
  ...(request.traceparent === undefined ? {} : { tp: request.traceparent })
})

/**
 * Writes one call to the worker's stdin. The worker runs messages in order, so a cold call is sent
 * together with `init`, before the handshake (no round trip spent waiting for `ready`).
 *
 * @internal
 */
export const sendCall = (proc: WorkerProcess.WorkerProcess, session: WorkerSession, request: CallRequest): void =>
  proc.send(callMessage(session, request))

/**
 * Sends one call on a ready worker and waits for its outcome, answering native-tool requests.
 *
 * @internal
 */
export const call = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession,
  request: CallRequest,
  native: NativeBridge.NativeBridge
): Effect.Effect<unknown, AttemptError> =>
  Effect.suspend(() => {
    sendCall(proc, session, request)
    return outcome(proc, session, request.id, native)
  })

/**
 * Waits for the outcome of call `id` (already sent), answering native-tool requests.
 *
 * @internal
 */
export const outcome = (
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession,
  id: number,
  native: NativeBridge.NativeBridge
): Effect.Effect<unknown, AttemptError> =>
  Effect.gen(function*() {
    const since = yield* Clock.currentTimeNanos
    for (;;) {
      const frame = yield* nextFrame(proc, session, false)
      if (frame.id !== id) continue
      switch (frame.t) {
        case "result":
          yield* WorkerSpan.record(native.origin, session, frame, since)
          return frame.undef === true ? undefined : frame.value
        case "notFound":
          return yield* new ToolNotFound({
            toolId: session.toolId,
            available: Array.isArray(frame.available) ? frame.available.map(String) : []
          })
        case "threw": {
          const error = (frame.error ?? {}) as Record<string, unknown>
          const threw = new ToolThrew({
            toolId: session.toolId,
            name: str(error.name, "Error"),
            message: str(error.message, ""),
            ...(typeof error.stack === "string" ? { stack: error.stack } : {}),
            ...(typeof error.code === "string" ? { code: error.code } : {}),
            ...(typeof error.suggestion === "string" ? { suggestion: error.suggestion } : {}),
            ...(typeof error.helpUrl === "string" ? { helpUrl: error.helpUrl } : {})
          })
          yield* WorkerSpan.record(native.origin, session, frame, since, threw)
          return yield* threw
        }
        case "native":
          // Answered in its own fiber: the tool may wait on several requests at once.
          yield* Effect.fork(NativeBridge.answer(proc, session, frame, native))
          continue
        default:
          return yield* new ProtocolError({ toolId: session.toolId, message: `unexpected ${frame.t} frame` })
      }
    }
  })

/**
 * Races `self` against `timeout`; on timeout the worker's group is terminated and reaped before the
 * {@link ToolTimeout} (with the stderr tail) is returned.
 *
 * @internal
 */
export const withTimeout = <A>(
  self: Effect.Effect<A, AttemptError>,
  proc: WorkerProcess.WorkerProcess,
  session: WorkerSession,
  timeout: Duration.Duration
): Effect.Effect<A, AttemptError> =>
  self.pipe(
    Effect.timeoutOption(timeout),
    Effect.flatMap(Option.match({
      onSome: Effect.succeed,
      onNone: () =>
        proc.terminate.pipe(
          Effect.zipRight(
            new ToolTimeout({
              toolId: session.toolId,
              timeout: Duration.format(timeout),
              stderrTail: proc.stderr.tailText(session.stderrTailBytes)
            })
          )
        )
    }))
  )
