/**
 * The three ways a call meets a worker: cold (a worker started for it), pre-started (a single-use
 * worker started ahead, see `prespawn`) and pooled (a warm reusable worker, see `WorkerPool`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import type * as RuntimeConfig from "../../config/RuntimeConfig.js"
import type * as NativeTools from "../NativeTools.js"
import type { Detailed, ExecuteRequest } from "../ToolRuntime.js"
import type { SpawnFailed } from "../ToolRuntimeError.js"
import * as WorkerPool from "../WorkerPool.js"
import type * as WorkerProcess from "../WorkerProcess.js"
import type * as Launcher from "./launcher.js"
import type * as NativeBridge from "./nativeBridge.js"
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
    call: Launcher.ColdCall | undefined
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
  timeout: Duration.Duration,
  /** Whether the caller reads stdout and stderr (`executeDetailed`): then they are read to their end. */
  captures: boolean
) => Effect.Effect<Detailed, Session.AttemptError>

// Call ids are random, not a counter: a tool on a pooled worker cannot write a result frame ahead
// for the next call (it would have to guess a 48-bit id); a frame for another id is ignored.
const newCallId = (): number => Crypto.randomBytes(6).readUIntBE(0, 6)

const callRequest = (id: number, request: ExecuteRequest): Session.CallRequest => ({
  id,
  input: request.input,
  config: request.config,
  env: request.env ?? {},
  traceparent: request.origin?.traceparent
})

/**
 * Whether a single-use worker's scope may close after the call returns: when the call ended with a
 * result or an error (the worker's tree was sent SIGKILL first), reaping it and removing its scratch
 * directory are left to a background fiber; an interrupted call (or a defect) waits for them.
 */
const reapLater = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isSuccess(exit) || !(Cause.isInterrupted(exit.cause) || Cause.isDie(exit.cause))

/**
 * The call attempts of one layer (in the layer's scope: the background reaping of single-use workers
 * lives in it, and closing it waits for every reap).
 *
 * @internal
 */
export const make = (input: CallsInput) =>
  Effect.gen(function*() {
    const { nativeService, poolPlanFor, prespawner, start } = input
    const reaping = yield* FiberSet.make<void>()

    const native = (
      config: RuntimeConfig.Config,
      origin: NativeTools.Origin | undefined
    ): NativeBridge.NativeBridge => ({
      service: nativeService,
      callAgents: config.nativeTools.callAgents,
      callWorkflows: config.nativeTools.callWorkflows,
      origin
    })

    /**
     * One call on a single-use worker (started for it or ahead of it). As soon as the call's outcome
     * is known (or the call is interrupted) the worker's whole tree is frozen (SIGSTOP), synchronously:
     * the worker has nothing left to do, and no process of the call runs any more code once the call
     * returns. The tree is killed when its scope closes (see `owned`): SIGKILL's teardown of the
     * processes then happens after the caller has its result. `executeDetailed` kills it at once and
     * waits for stdout and stderr to be read to their end.
     */
    const singleUse = (
      proc: WorkerProcess.WorkerProcess,
      plan: Plan.Plan,
      session: Session.WorkerSession,
      request: ExecuteRequest,
      timeout: Duration.Duration,
      captures: boolean,
      /** The id of the call the worker was started with (cold), or undefined: the call is sent here. */
      sentId?: number
    ): Effect.Effect<Detailed, Session.AttemptError> =>
      Effect.gen(function*() {
        const id = sentId ?? newCallId()
        // The worker runs messages in order: a call sent before `ready` waits behind the import.
        if (sentId === undefined) Session.sendCall(proc, session, callRequest(id, request))
        // The timeout covers what is left of start-up (the entrypoint's top-level code), handshake and call.
        const result = yield* Session.withTimeout(
          Session.handshake(proc, session).pipe(
            Effect.zipRight(Session.outcome(proc, session, id, native(plan.config, request.origin)))
          ),
          proc,
          session,
          timeout
        ).pipe(Effect.ensuring(Effect.sync(() => proc.freeze())))
        yield* Session.checkScratch(proc, session)
        if (captures) {
          proc.kill()
          yield* proc.drained
        }
        return { result, stdout: proc.stdout.text(), stderr: proc.stderr.text() }
      })

    /**
     * Runs `use` on a single-use worker owned by `scope`, then closes the scope: in the background
     * (followed by `after`) when the call ended with a result or an error, at once when it was
     * interrupted (no `after` then). The background close first yields to the timer queue (a zero
     * `Clock` sleep: a macrotask, not a microtask), so the caller's continuation runs before the frozen
     * tree is killed and torn down.
     */
    const owned = <A, E>(
      scope: Scope.CloseableScope,
      use: Effect.Effect<A, E>,
      after: Effect.Effect<void>
    ): Effect.Effect<A, E> =>
      Effect.onExit(use, (exit) =>
        reapLater(exit) ?
          Effect.asVoid(
            FiberSet.run(
              reaping,
              Effect.sleep(Duration.zero).pipe(
                Effect.ensuring(Scope.close(scope, Exit.void)),
                Effect.zipRight(Effect.interruptible(after))
              )
            )
          ) :
          Scope.close(scope, exit))

    /** A worker started for this call (the call's env in its environment from the start, the call handed
     * over by the launcher with `init`). */
    const coldThen = (after: Effect.Effect<void>): Attempt => (plan, session, request, timeout, captures) =>
      Effect.flatMap(Scope.make(), (scope) => {
        const id = newCallId()
        const message = Session.callMessage(session, callRequest(id, request))
        return owned(
          scope,
          Effect.flatMap(
            Scope.extend(start(plan, { env: request.env, message }), scope),
            (proc) => singleUse(proc, plan, session, request, timeout, captures, id)
          ),
          after
        )
      })
    const cold = coldThen(Effect.void)

    /**
     * A pre-started worker when one waits for this plan (else a cold one); once it is reaped, the next
     * one is started in the background (not while the call runs: on a loaded machine the two would
     * compete for the CPU; an interrupted call starts none). Per-call env reaches a pre-started worker
     * with the call (as on a pool; Deno workers are keyed by the names they may read).
     */
    const prestartedOrCold: Attempt = (plan, session, request, timeout, captures) => {
      const keyed = poolPlanFor(plan, request.env)
      const refill = prespawner.refill(keyed)
      return Effect.flatMap(prespawner.take(keyed), (taken) =>
        taken._tag === "None" ?
          coldThen(refill)(plan, session, request, timeout, captures) :
          owned(taken.value.scope, singleUse(taken.value.proc, plan, session, request, timeout, captures), refill))
    }

    const keepWorker = (exit: Exit.Exit<unknown, Session.AttemptError>): WorkerPool.Verdict =>
      Exit.isSuccess(exit) ||
        (exit.cause._tag === "Fail" &&
          (exit.cause.error._tag === "ToolThrew" || exit.cause.error._tag === "ToolNotFound"))
        ? "keep"
        : "retire"

    const pools = yield* WorkerPool.make<Plan.Plan, Session.WorkerSession, Session.AttemptError>({
      launch: (plan, session) =>
        Effect.gen(function*() {
          const proc = yield* start(plan, undefined)
          yield* Session.withTimeout(Session.handshake(proc, session), proc, session, plan.config.toolExecutionTimeout)
          return proc
        }),
      keyOf: (plan) => plan.key
    })

    const pooled = (pool: WorkerPool.PoolOptions): Attempt => (plan, session, request, timeout) =>
      pools.run(
        poolPlanFor(plan, request.env),
        session,
        pool,
        (proc) =>
          Session.withTimeout(
            Session.call(proc, session, callRequest(newCallId(), request), native(plan.config, request.origin)).pipe(
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
  })
