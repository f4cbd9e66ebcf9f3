/**
 * The agents API service (`AgentsApi.make`, documented there) assembled from its parts: the options'
 * checks, the async inbox and the spawn records (durable under a state root, else in memory), requests
 * (`callsRequest`), spawns (`spawnCall`) and the sandboxed tools' `ctx.callAgent` (`callsNative`).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type * as Middleware from "../../pipeline/Middleware.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type { Options, Service } from "../AgentsApi.js"
import type { InvalidOption } from "../OrchestratorError.js"
import * as Calls from "./calls.js"
import * as Inbox from "./callsInbox.js"
import * as Native from "./callsNative.js"
import * as Requests from "./callsRequest.js"
import * as Limits from "./limits.js"
import * as Spawn from "./spawnCall.js"
import * as SpawnRecords from "./spawnRecords.js"

export const make = (
  options: Options
): Effect.Effect<Service, InvalidOption, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    yield* Limits.checkApiOptions(options)
    const { policy, router } = options
    const inbox = options.root === undefined ? yield* Inbox.memory() : yield* Inbox.durable(options.root)
    const fibers = yield* FiberSet.make()
    const defaultMs = Duration.toMillis(Duration.decode(options.defaultTimeout ?? Calls.defaultTimeoutMs))
    const maxPending = options.maxPendingAsync ?? Calls.defaultMaxPendingAsync
    const maxInbox = options.maxInbox ?? Calls.defaultMaxInbox
    const spawned = options.root === undefined
      ? yield* SpawnRecords.memory()
      : yield* SpawnRecords.durable(options.root)
    const spawn = Spawn.make({
      policy,
      router,
      records: spawned,
      max: options.maxSpawned ?? SpawnRecords.defaultMaxSpawned
    })

    const requests = Requests.make({
      policy,
      router,
      inbox,
      fibers,
      defaultMs,
      maxPending,
      maxInbox,
      durable: options.root !== undefined,
      salt: yield* Requests.makeSalt
    })
    const { asyncRequest, respond, run } = requests

    // Spans `AgentsApi.request` / `AgentsApi.send` when a tracer records them (see `Requests.run`).
    const forInstance = (ref: InstanceRef): Middleware.AgentsApi => ({
      request: (req) =>
        run(ref, req, "request", "AgentsApi.request", (p) => req.async === true ? asyncRequest(ref, p) : respond(p)),
      send: (req) =>
        run(ref, req, "send", "AgentsApi.send", (p) =>
          Effect.as(router.send(p.target, p.instanceKey, p.input), {
            accepted: true,
            target: p.to,
            correlationId: p.correlationId
          })),
      spawn: (req) => spawn(ref, req),
      list: (opts) => spawned.list(ref, opts?.includeAll === true),
      catalog: Effect.sync(() => ({
        swarmName: policy.swarmName,
        entryAgent: policy.entryAgent,
        selfAgent: ref.agentName,
        availableAgents: policy.agents,
        callableAgents: policy.callable(ref.agentName)
      }))
    })

    const nativeTools = Native.nativeToolsOf(forInstance)

    const service: Service = {
      forInstance,
      callable: policy.callable,
      // Requests past their deadline (also those of a previous process) become timeout replies first.
      pendingReplies: (ref) =>
        Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, (now) => inbox.expire(ref, now)), inbox.pending(ref)),
      markDelivered: (ref, ids) => inbox.delivered(ref, ids),
      pendingAsync: (ref) => Effect.map(inbox.outstanding(ref), (sent) => sent.length),
      repliesWaiting: inbox.waiting,
      replyFromCallee: (metadata, callee, outcome) =>
        Requests.replyFromCallee(inbox, router, metadata, callee, outcome),
      nativeTools
    }
    return service
  })
