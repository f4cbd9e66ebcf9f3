/**
 * An idle caller woken by its async reply (`Options.calls.wakeOnReply`, on by default). When a reply is
 * in a caller's inbox (`AgentsApi.Router.wake`), or a turn of the caller ends with replies still waiting
 * (one came during its last step), a quiet caller (see `accept.ts`: idle, starting, in backoff, or
 * released) gets one wake-up message: the oldest reply itself (source `agent` / `reply` with its
 * correlation id), so the turn it runs has the reply in its conversation; its first step delivers the
 * others (reply delivery skips correlation ids already in the conversation). A busy caller, or one with
 * queued messages, reads them at its next step; a stopped or crashed one is not woken, nor one whose
 * last turn waits for an approval (known to this process): the replies stay in its inbox.
 */
import * as Effect from "effect/Effect"
import * as AgentAddress from "../AgentAddress.js"
import type * as AgentsApi from "../AgentsApi.js"
import type { TurnInput } from "./mailbox.js"
import * as ReplyMessage from "./replyMessage.js"

/** The wake-up message of a reply: the reply as a user message, like reply delivery writes it. */
export const inputOf = (reply: AgentsApi.Reply): TurnInput => ({
  input: ReplyMessage.text(reply),
  call: { source: ReplyMessage.source(reply) },
  metadata: { ...ReplyMessage.metadata(reply), "swarm.wake": true }
})

export interface Deps {
  readonly api: AgentsApi.Service
  readonly workspaceId: string
  /** The runtime's wake (`accept.ts`). */
  readonly wake: (
    address: AgentAddress.AgentAddress,
    build: Effect.Effect<TurnInput | undefined>
  ) => Effect.Effect<boolean>
}

export interface Waker {
  /** Wakes the instance if it is quiet and replies wait for it (`AgentsApi.Router.wake`). */
  readonly wake: (agentName: string, instanceKey: string) => Effect.Effect<void>
  /**
   * Told when a turn of the instance ended (the orchestrator's turn-end hook); decides when called, and is
   * `Effect.void` when there is nothing to do (nothing waits: one lookup of the inbox's count).
   */
  readonly turnEnded: (address: AgentAddress.AgentAddress, outcome: AgentsApi.CalleeOutcome) => Effect.Effect<void>
}

export const make = (deps: Deps): Waker => {
  const { api, workspaceId } = deps
  /** Instances whose last turn ended awaiting approval (in this process). */
  const awaiting = new Set<string>()
  /**
   * Per instance, the replies a wake-up message was enqueued with that are still waiting (its turn has
   * not delivered them). One wake-up per reply: a turn that ends before its first step (refused, failed
   * in a turn middleware) leaves the reply for the next turn instead of waking the instance in a loop.
   */
  const used = new Map<string, Set<string>>()

  const wake = (agentName: string, instanceKey: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const address = { agentName, instanceKey }
      const label = AgentAddress.format(address)
      if (awaiting.has(label)) return Effect.void
      // The oldest waiting reply no wake-up was made with yet.
      let chosen: string | undefined
      const build = Effect.map(api.pendingReplies({ workspaceId, agentName, instanceKey }), (replies) => {
        const mine = used.get(label)
        if (mine !== undefined) {
          const waiting = new Set(replies.map((r) => r.correlationId))
          for (const id of mine) if (!waiting.has(id)) mine.delete(id)
          if (mine.size === 0) used.delete(label)
        }
        const next = replies.find((r) => mine === undefined || !mine.has(r.correlationId))
        chosen = next?.correlationId
        return next === undefined ? undefined : inputOf(next)
      }).pipe(
        // Its inbox cannot be read (a corrupt line): no wake-up; its next turn fails with the same error.
        Effect.catchAll((e) => Effect.as(Effect.logError(`${label} is not woken: ${e.message}`), undefined))
      )
      return Effect.flatMap(deps.wake(address, build), (enqueued) =>
        Effect.sync(() => {
          if (!enqueued || chosen === undefined) return
          const mine = used.get(label) ?? new Set<string>()
          mine.add(chosen)
          used.set(label, mine)
        }))
    })

  /** A turn of `address` ended: replies that came during its last step wake it again. */
  const turnEnded = (address: AgentAddress.AgentAddress, outcome: AgentsApi.CalleeOutcome): Effect.Effect<void> => {
    // Only agents that may call others get replies.
    if (api.callable(address.agentName).length === 0) return Effect.void
    const label = AgentAddress.format(address)
    if (outcome._tag === "Completed" && outcome.result.finishReason === "awaiting_approval") {
      awaiting.add(label)
      return Effect.void
    }
    awaiting.delete(label)
    // Nothing waits (the inbox's own count): no wake-up, no inbox read.
    const waiting = api.repliesWaiting?.({ workspaceId, ...address })
    return waiting === 0 ? Effect.void : wake(address.agentName, address.instanceKey)
  }

  return { wake, turnEnded }
}
