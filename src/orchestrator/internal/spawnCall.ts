/**
 * `AgentsApi.spawn` for one caller: the checks (a callable target, the instance key, not the caller itself,
 * another instance of its own agent only when allowed), a fresh key when none is given
 * (`<agent>-<time36>-<random36>`, on `Clock` and `Random`), then the spawn record (`spawnRecords.ts`), which
 * decides `spawned`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Middleware from "../../pipeline/Middleware.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type { Router } from "../AgentsApi.js"
import * as Calls from "./calls.js"
import type { SpawnRecords } from "./spawnRecords.js"

const orFail = <A>(v: A | Middleware.AgentsApiError): Effect.Effect<A, Middleware.AgentsApiError> =>
  v instanceof Middleware.AgentsApiError ? Effect.fail(v) : Effect.succeed(v)

/** The spawn of every caller of one API. */
export const make = (deps: {
  readonly policy: Calls.CallPolicy
  readonly router: Router
  readonly records: SpawnRecords
  /** Distinct addresses per caller. */
  readonly max: number
}) =>
(
  ref: InstanceRef,
  req: { readonly target: string; readonly instanceKey?: string | undefined }
): Effect.Effect<Middleware.SpawnedAgent, Middleware.AgentsApiError> =>
  Effect.gen(function*() {
    const { policy, router } = deps
    const target = yield* orFail(Calls.checkTarget(policy, ref.agentName, req.target))
    let instanceKey: string
    if (req.instanceKey === undefined) {
      const ms = yield* Clock.currentTimeMillis
      const n = yield* Random.nextIntBetween(0, 2 ** 31)
      instanceKey = `${target}-${ms.toString(36)}-${n.toString(36)}`
    } else {
      instanceKey = yield* orFail(Calls.checkInstanceKey(req.instanceKey, ref.instanceKey))
    }
    if (target === ref.agentName && instanceKey === ref.instanceKey) {
      return yield* new Middleware.AgentsApiError({
        code: "AGENT_SELF_CALL",
        message: `${Calls.address(target, instanceKey)} is the caller itself`,
        target: Calls.address(target, instanceKey),
        suggestion: "omit instanceKey to get a fresh instance"
      })
    }
    const own = Calls.checkOwnAgent(policy, ref.agentName, target)
    if (own !== undefined) return yield* own
    return yield* deps.records.spawn({
      owner: ref,
      target,
      instanceKey,
      unknown: router.spawn(target, instanceKey),
      max: deps.max
    })
  }).pipe(Effect.withSpan("AgentsApi.spawn"))
