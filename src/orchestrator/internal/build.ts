/**
 * Builds the orchestrator service of `Orchestrator.make*`: selects the Swarm, resolves its agents, opens
 * the durable inbox, and binds the public methods to the runtime (`runtime.ts`) over one `AgentHost`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Bundle from "../../resource/Bundle.js"
import type * as Resource from "../../resource/Resource.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import * as AgentAddress from "../AgentAddress.js"
import type * as AgentHost from "../AgentHost.js"
import * as AgentsTool from "../AgentsTool.js"
import type {
  Address,
  CallLimits,
  InstanceContext,
  Options,
  RequestOptions,
  Service,
  ShutdownReason
} from "../Orchestrator.js"
import type { InvalidOption } from "../OrchestratorError.js"
import { AgentTurnFailed, InvalidRequestTimeout, type OrchestratorError, SwarmNotFound } from "../OrchestratorError.js"
import * as Supervision from "../Supervision.js"
import * as Direct from "./direct.js"
import * as Inbox from "./inbox.js"
import * as Lifecycle from "./lifecycle.js"
import * as Limits from "./limits.js"
import type { TurnInput } from "./mailbox.js"
import * as RootLock from "./rootLock.js"
import * as Runtime from "./runtime.js"
import type { Opener } from "./slot.js"
import * as Wake from "./wake.js"

const toAddress = (address: Address): Effect.Effect<AgentAddress.AgentAddress, OrchestratorError> =>
  typeof address === "string" ? AgentAddress.parse(address) : Effect.succeed(address)

/** A request's timeout in ms (`undefined`: none); zero, negative and NaN are refused, never clamped. */
const timeoutMillis = (
  address: AgentAddress.AgentAddress,
  timeout: Duration.DurationInput | undefined
): Effect.Effect<number | undefined, InvalidRequestTimeout> => {
  if (timeout === undefined) return Effect.succeed(undefined)
  const ms = typeof timeout === "number" ? timeout : Duration.toMillis(Duration.decode(timeout))
  if (Number.isNaN(ms) || ms <= 0) {
    return Effect.fail(
      new InvalidRequestTimeout({
        address: `${address.agentName}@${address.instanceKey}`,
        given: typeof timeout === "string" || typeof timeout === "number" ? String(timeout) : Duration.format(timeout)
      })
    )
  }
  return Effect.succeed(Number.isFinite(ms) ? ms : undefined)
}

/** The limits and default timeout given in code, checked before anything starts (see `limits.ts`). */
const checkOptions = (options: Options): Effect.Effect<void, InvalidOption> => {
  const given = options.calls
  const limits: CallLimits = given === undefined || given === false || "api" in given ? {} : given
  return Effect.zipRight(
    Limits.checkCounts([
      ["mailboxCapacity", options.mailboxCapacity],
      ["calls.maxSpawned", limits.maxSpawned],
      ["calls.maxPendingAsync", limits.maxPendingAsync],
      ["calls.maxInbox", limits.maxInbox]
    ]),
    Limits.checkTimeout("calls.defaultTimeout", limits.defaultTimeout)
  )
}

const limitsOf = (given: CallLimits | undefined): Omit<CallLimits, "wakeOnReply"> => {
  const { wakeOnReply: _, ...limits } = given ?? {}
  return limits
}

const toInput = (input: string | TurnInput): TurnInput => typeof input === "string" ? { input } : input

/** The Swarm of a bundle and its agents (what `reload` replaces). */
const configOf = (bundle: Bundle.Bundle, swarmName: string | undefined) =>
  Effect.gen(function*() {
    const selected = Bundle.selectSwarm(bundle, swarmName)
    if (Either.isLeft(selected)) {
      return yield* new SwarmNotFound({ swarm: swarmName, detail: selected.left })
    }
    const swarm = selected.right
    const entries = swarm.resource.spec.agents.flatMap((ref) => {
      const entry = Bundle.resolve(bundle, ref, swarm)
      return entry?.resource.kind === "Agent" ? [entry as Bundle.Entry<Resource.AgentResource>] : []
    })
    const byName = new Map(entries.map((e) => [e.resource.metadata.name, e]))
    const agentNames = entries.map((e) => e.resource.metadata.name)
    const agents = entries.map((e) => ({ name: e.resource.metadata.name, resource: e.resource }))
    return { bundle, swarm, byName, agentNames, agents }
  })

/** The service of one Swarm on `host` (instances open on their first message; what the inbox kept is delivered). */
export const makeWith = (
  bundle: Bundle.Bundle,
  swarmName: string | undefined,
  options: Options,
  host: AgentHost.Service
) =>
  Effect.gen(function*() {
    let config = yield* configOf(bundle, swarmName)
    yield* checkOptions(options)
    const { agentNames, swarm } = config
    const swarmLabel = swarm.resource.metadata.name
    const workspaceId = WorkspacePaths.workspaceId(
      options.workspaceId ?? swarm.resource.spec.instanceKey ?? swarmLabel
    )

    const root = options.root ?? host.root
    // One orchestrator per workspace of a state root: refused at start, before anything there is read or written.
    if (root !== undefined) yield* RootLock.acquire(root, workspaceId)
    // Inter-agent calls: the caller's wiring (`calls` from AgentsTool.wire), none (`calls: false`, or
    // `agents` wired by hand), else wired here with the given limits; the host attaches them to each instance.
    const given = options.calls
    const wired = given !== undefined && given !== false && "api" in given ?
      undefined
      : options.agents === undefined && given !== false
      ? yield* AgentsTool.wire({ ...limitsOf(given), root })
      : undefined
    const calls = given !== undefined && given !== false && "api" in given ? given : wired

    const open: Opener = (address, generation) =>
      Effect.suspend(() => {
        // The configuration current when this generation opens (a reload replaces it).
        const { agentNames, bundle, byName, swarm } = config
        const agent = byName.get(address.agentName)!
        const instanceContext: InstanceContext = { address, agent, bundle, orchestrator: service }
        const setup = options.setup
        return host.start({
          bundle,
          swarm,
          workspaceId,
          agentNames,
          address,
          agent,
          generation,
          model: options.models?.[address.agentName],
          agents: options.agents?.(instanceContext) ?? calls?.agents(instanceContext),
          calls: calls?.api,
          setup: setup === undefined ? undefined : (instance) =>
            setup(instance, instanceContext).pipe(
              Effect.mapError((e) =>
                new AgentTurnFailed({
                  address: AgentAddress.format(address),
                  errorTag: "_tag" in e ? String(e._tag) : "SetupError",
                  detail: e.message
                })
              )
            )
        })
      })

    const inbox = root === undefined ? undefined : yield* Inbox.make(root, workspaceId)
    const lifecycle = Lifecycle.fromPolicy(swarm.resource.spec.policy, options.lifecycle)
    const runtime = yield* Runtime.make({
      swarm: swarmLabel,
      agentNames,
      mailboxCapacity: options.mailboxCapacity ?? 1000,
      supervision: Supervision.fromPolicy(swarm.resource.spec.policy, options.supervision),
      // In memory, a released instance would lose its log: only orchestrators with a state root release.
      lifecycle: inbox === undefined ? { ...lifecycle, idleAfter: undefined } : lifecycle,
      inbox,
      onTurnEnd: calls === undefined ?
        undefined :
        (address, input, outcome) => {
          // Decided now (the worker runs it at once): `Effect.void` when neither has anything to do.
          const reply = calls.api.replyFromCallee?.(input.call?.metadata, address, outcome) ?? Effect.void
          // Replies that came during the turn's last step: an idle caller is woken again.
          const woken = waker?.turnEnded(address, outcome) ?? Effect.void
          return reply === Effect.void ? woken : woken === Effect.void ? reply : Effect.zipRight(reply, woken)
        },
      persistStatus: (address, status, reason) => host.persistStatus(workspaceId, address, status, reason)
    }, open)
    const waker: Wake.Waker | undefined = calls === undefined || given === false || given?.wakeOnReply === false ?
      undefined :
      Wake.make({ api: calls.api, workspaceId, wake: runtime.wake })

    // `open` reads `service` only when an instance starts, after this line.
    const service: Service = {
      swarm: swarmLabel,
      workspaceId,
      get agents() {
        return config.agents
      },
      get entryAgent() {
        return config.swarm.resource.spec.entryAgent.name
      },
      agentsApi: calls?.api,
      send: Effect.fn("Orchestrator.send")(function*(address: Address, input: string | TurnInput) {
        return yield* runtime.send(yield* toAddress(address), toInput(input))
      }),
      submit: Effect.fn("Orchestrator.submit")(
        function*(
          address: Address,
          input: string | TurnInput,
          options?: { readonly cancelOnInterrupt?: boolean | undefined }
        ) {
          return yield* runtime.submit(yield* toAddress(address), toInput(input), options?.cancelOnInterrupt === true)
        }
      ),
      request: Effect.fn("Orchestrator.request")(
        function*(address: Address, input: string | TurnInput, options?: RequestOptions) {
          const to = yield* toAddress(address)
          return yield* runtime.request(to, toInput(input), yield* timeoutMillis(to, options?.timeout))
        }
      ),
      list: runtime.list,
      restart: Effect.fn("Orchestrator.restart")(function*(address: Address) {
        return yield* runtime.restart(yield* toAddress(address))
      }),
      stop: Effect.fn("Orchestrator.stop")(function*(address: Address) {
        return yield* runtime.stop(yield* toAddress(address), "stopped by Orchestrator.stop")
      }),
      shutdown: Effect.fn("Orchestrator.shutdown")(function*(reason?: ShutdownReason) {
        return yield* runtime.shutdown(reason ?? "orchestrator_shutdown")
      }),
      release: Effect.fn("Orchestrator.release")(function*(address: Address) {
        return yield* runtime.release(yield* toAddress(address))
      }),
      reload: Effect.fn("Orchestrator.reload")(function*(next: Bundle.Bundle, changed: ReadonlyArray<string>) {
        const nextConfig = yield* configOf(next, swarmLabel)
        // New generations open on the new configuration; the calls policy follows it.
        config = nextConfig
        wired?.bind(next, service)
        return yield* runtime.reload({ agentNames: nextConfig.agentNames, changed })
      })
    }
    Direct.requests.set(service, runtime.request)
    Direct.submits.set(service, runtime.submitWithin)
    if (waker !== undefined) Direct.wakes.set(service, waker.wake)
    wired?.bind(bundle, service)
    // Only now (instances opening read `service`): what the durable inbox kept is delivered.
    yield* runtime.recover
    return service
  })
