/**
 * The three ways a call meets a worker: cold (a worker started for it), pre-started (a single-use
 * worker started ahead, see `prespawn`) and pooled (a warm reusable worker, see `WorkerPool`).
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import type * as RuntimeConfig from "../../config/RuntimeConfig.js"
import type * as NativeTools from "../NativeTools.js"
import type { Detailed, ExecuteRequest } from "../ToolRuntime.js"
import type { SpawnFailed } from "../ToolRuntimeError.js"
import * as WorkerPool from "../WorkerPool.js"
import type * as WorkerProcess from "../WorkerProcess.js"
import type * as Plan from "./plan.js"
import type * as Prespawn from "./prespawn.js"
import * as Session from "./session.js"

/**
 * What the calls need from the layer.
 *
 * @internal
 */
export interface CallsInput {
  readonly start: (
    plan: Plan.Plan,
    callEnv: Record<string, string> | undefined
  ) => Effect.Effect<WorkerProcess.WorkerProcess, SpawnFailed, Scope.Scope>
  readonly prespawner: Prespawn.Prespawner
  /** The plan a worker that gets its call later is started with (see `Plan.makePlanner`). */
  readonly poolPlanFor: (plan: Plan.Plan, env: Record<string, string> | undefined) => Plan.Plan
  readonly nativeService: Option.Option<NativeTools.Service>
}

/** @internal */
export type Attempt = (
  plan: Plan.Plan,
  session: Session.WorkerSession,
  request: ExecuteRequest,
  timeout: Duration.Duration
) => Effect.Effect<Detailed, Session.AttemptError>

// Call ids are random, not a counter: a tool on a pooled worker cannot write a result frame ahead
// for the next call (it would have to guess a 48-bit id); a frame for another id is ignored.
const newCallId = (): number => Crypto.randomBytes(6).readUIntBE(0, 6)

/**
 * Whether a single-use worker may exit on its own as soon as its call settles (its stdin closed right
 * after the call is sent), saving the round trip of the host closing it after reading the result. Safe
 * only when no descendant can outlive it unseen: under an OS sandbox (the pid namespace takes every
 * descendant with it) or when the runtime enforces that the tool starts no process at all. Otherwise
 * the worker must still be alive when the host walks its process tree, or a detached child it left
 * would be re-parented out of sight before it is killed.
 *
 * @internal
 */
export const exitsOnItsOwn = (plan: Plan.Plan, bridge: Session.NativeBridge): boolean =>
  !bridge.callAgents && !bridge.callWorkflows &&
  (plan.sandboxed !== undefined || (plan.grants.run === "none" && plan.capabilities.run.status === "enforced"))

/**
 * The call attempts of one layer.
 *
 * @internal
 */
export const make = (input: CallsInput) => {
  const { nativeService, poolPlanFor, prespawner, start } = input

  const native = (config: RuntimeConfig.Config, origin: NativeTools.Origin | undefined): Session.NativeBridge => ({
    service: nativeService,
    callAgents: config.nativeTools.callAgents,
    callWorkflows: config.nativeTools.callWorkflows,
    origin
  })

  /** One call on a single-use worker (started for it or ahead of it), which is then stopped. */
  const singleUse = (
    proc: WorkerProcess.WorkerProcess,
    plan: Plan.Plan,
    session: Session.WorkerSession,
    request: ExecuteRequest,
    timeout: Duration.Duration
  ): Effect.Effect<Detailed, Session.AttemptError> =>
    Effect.gen(function*() {
      const id = newCallId()
      // The worker runs messages in order: a call sent before `ready` waits behind the import.
      Session.sendCall(proc, session, {
        id,
        input: request.input,
        config: request.config,
        env: request.env ?? {},
        traceparent: request.origin?.traceparent
      })
      const bridge = native(plan.config, request.origin)
      if (exitsOnItsOwn(plan, bridge)) proc.closeStdin()
      // The timeout covers what is left of start-up (the entrypoint's top-level code), handshake and call.
      const result = yield* Session.withTimeout(
        Session.handshake(proc, session).pipe(Effect.zipRight(Session.outcome(proc, session, id, bridge))),
        proc,
        session,
        timeout
      )
      yield* proc.shutdown
      yield* Session.checkScratch(proc, session)
      return { result, stdout: proc.stdout.text(), stderr: proc.stderr.text() }
    })

  /** A worker started for this call (the call's env in its environment from the start). */
  const cold: Attempt = (plan, session, request, timeout) =>
    Effect.scoped(
      Effect.flatMap(start(plan, request.env), (proc) => singleUse(proc, plan, session, request, timeout))
    )

  /**
   * A pre-started worker when one waits for this plan (else a cold one); afterwards the next one is
   * started in the background. Per-call env reaches a pre-started worker with the call (as on a pool;
   * Deno workers are keyed by the names they may read).
   */
  const prestartedOrCold: Attempt = (plan, session, request, timeout) => {
    const keyed = poolPlanFor(plan, request.env)
    return Effect.flatMap(prespawner.take(keyed), (taken) =>
      taken._tag === "None" ?
        cold(plan, session, request, timeout) :
        singleUse(taken.value.proc, plan, session, request, timeout).pipe(
          Effect.onExit((exit) => Scope.close(taken.value.scope, exit))
        )).pipe(
        // The next call's worker starts once this one is done (not while it runs: on a loaded machine
        // the two would compete for the CPU); an interrupted call starts none.
        Effect.onExit((exit) => Exit.isInterrupted(exit) ? Effect.void : prespawner.refill(keyed))
      )
  }

  const keepWorker = (exit: Exit.Exit<unknown, Session.AttemptError>): WorkerPool.Verdict =>
    Exit.isSuccess(exit) ||
      (exit.cause._tag === "Fail" &&
        (exit.cause.error._tag === "ToolThrew" || exit.cause.error._tag === "ToolNotFound"))
      ? "keep"
      : "retire"

  return Effect.map(
    WorkerPool.make<Plan.Plan, Session.WorkerSession, Session.AttemptError>({
      launch: (plan, session) =>
        Effect.gen(function*() {
          const proc = yield* start(plan, undefined)
          yield* Session.withTimeout(Session.handshake(proc, session), proc, session, plan.config.toolExecutionTimeout)
          return proc
        }),
      keyOf: (plan) => plan.key
    }),
    (pools) => {
      const pooled = (pool: WorkerPool.PoolOptions): Attempt => (plan, session, request, timeout) =>
        pools.run(
          poolPlanFor(plan, request.env),
          session,
          pool,
          (proc) =>
            Session.withTimeout(
              Session.call(proc, session, {
                id: newCallId(),
                input: request.input,
                config: request.config,
                env: request.env ?? {},
                traceparent: request.origin?.traceparent
              }, native(plan.config, request.origin)).pipe(
                Effect.zipLeft(Session.checkScratch(proc, session)),
                Effect.map((result): Detailed => ({ result, stdout: proc.stdout.text(), stderr: proc.stderr.text() }))
              ),
              proc,
              session,
              timeout
            ),
          keepWorker
        )
      /** The attempt a request makes: pooled when it asks for a pool, else single-use. */
      const attemptFor = (request: ExecuteRequest, plan: Plan.Plan): Attempt =>
        request.pool !== undefined ? pooled(request.pool) : plan.config.prespawn > 0 ? prestartedOrCold : cold
      return { attemptFor }
    }
  )
}
