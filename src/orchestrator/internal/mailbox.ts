/**
 * The FIFO mailbox of one instance: envelopes wait in arrival order, a cancelled one (its requester gave
 * up before it started) leaves the queue at once, and `take` waits for the next live one.
 */
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Turn from "../../agent/Turn.js"
import type * as Message from "../../conversation/Message.js"
import type { TurnResult } from "../../pipeline/Middleware.js"
import type { AgentRequestTimeout, OrchestratorError } from "../OrchestratorError.js"

/** What a message asks for: the user input of one turn. */
export interface TurnInput {
  readonly input: string
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /**
   * For a turn another agent asked for (set by `AgentsApi`): the input message's source (the agent
   * variant with the correlation id), the caller's span (`parentTrace`) and the call chain.
   */
  readonly call?: Omit<Turn.Input, "text" | "onDelta"> | undefined
  /**
   * Receives the streamed model output of each step of this turn (forwarded from a child-process host).
   * It stays in this process: a message keeps only its data when it crosses to another host.
   */
  readonly onDelta?: Turn.Input["onDelta"]
}

/** What `Turn.run` gets for a message (its metadata, e.g. the inbox id, goes onto the input message). */
export const turnInput = (input: TurnInput, onDelta: Turn.Input["onDelta"]): string | Turn.Input =>
  input.call === undefined && input.metadata === undefined && onDelta === undefined ?
    input.input :
    {
      ...input.call,
      text: input.input,
      // Metadata travels as JSON (it is written to the log and to the inbox file).
      ...(input.metadata === undefined ? {} : {
        metadata: { ...input.call?.metadata, ...(input.metadata as Readonly<Record<string, Message.Json>>) }
      }),
      ...(onDelta === undefined ? {} : { onDelta })
    }

export type EnvelopeState = "queued" | "running" | "done" | "cancelled"

export interface Envelope {
  readonly id: number
  readonly input: TurnInput
  /** Completed with the turn's outcome (for `send` nobody awaits it). */
  readonly reply: Deferred.Deferred<TurnResult, OrchestratorError>
  state: EnvelopeState
  /** Its turn started before a restart: the next worker continues that turn instead of starting one. */
  started: boolean
  /** The fiber running this envelope's turn, while it runs. */
  fiber: Fiber.RuntimeFiber<TurnResult, unknown> | undefined
  /** Its id in the instance's durable inbox (absent without one). */
  readonly inboxId: string | undefined
  /** Read back from the inbox at start (its turn may already be in the log). */
  readonly recovered: boolean
  /** Why its running turn is being interrupted (recorded in the log as the turn's abandon reason). */
  cancelReason: string | undefined
  /** Its request's deadline passed: the reply is this error (its turn is cancelled). */
  timedOut: AgentRequestTimeout | undefined
}

export interface Mailbox {
  readonly size: () => number
  readonly offer: (envelope: Envelope) => Effect.Effect<void>
  /** `offer`, synchronously (it wakes a waiting `take`). */
  readonly unsafeOffer: (envelope: Envelope) => void
  /** Waits for the next envelope and marks it running. */
  readonly take: Effect.Effect<Envelope>
  /** Removes a queued envelope (a requester that gave up); false when it already started. */
  readonly cancel: (envelope: Envelope) => boolean
  /** Puts a started envelope back at the head (its turn is continued by the next worker). */
  readonly requeue: (envelope: Envelope) => Effect.Effect<void>
  /** Every queued envelope, oldest first, removed from the mailbox. */
  readonly drain: () => ReadonlyArray<Envelope>
  /** The queued envelopes `predicate` selects, removed from the mailbox. */
  readonly removeWhere: (predicate: (envelope: Envelope) => boolean) => ReadonlyArray<Envelope>
  /** The queued envelopes, oldest first (a copy). */
  readonly queued: () => ReadonlyArray<Envelope>
  /** While held, `take` waits (offers are still accepted, in order): a reload waits for the running turn. */
  readonly hold: (held: boolean) => Effect.Effect<void>
}

/**
 * A mailbox; `onTake` runs in the same synchronous step as a take (the slot marks the envelope current
 * there, so no idle release or interruption sees the message neither queued nor current).
 */
export const make = (onTake: (envelope: Envelope) => void): Effect.Effect<Mailbox> =>
  Effect.sync(() => {
    const queue: Array<Envelope> = []
    /** The waiting `take`'s resume (one async step, no Deferred; a resume after its fiber is gone does nothing). */
    let waiter: ((effect: Effect.Effect<void>) => void) | undefined
    let held = false
    const wake = () => {
      if (waiter !== undefined) {
        const w = waiter
        waiter = undefined
        w(Effect.void)
      }
    }
    const unsafeOffer = (envelope: Envelope) => {
      queue.push(envelope)
      wake()
    }
    const take: Effect.Effect<Envelope> = Effect.suspend(() => {
      const next = held ? undefined : queue.shift()
      if (next !== undefined) {
        next.state = "running"
        onTake(next)
        return Effect.succeed(next)
      }
      return Effect.zipRight(Effect.async<void>((resume) => void (waiter = resume)), take)
    })
    return {
      size: () => queue.length,
      offer: (envelope) => Effect.sync(() => unsafeOffer(envelope)),
      unsafeOffer,
      take,
      requeue: (envelope) =>
        Effect.sync(() => {
          envelope.state = "queued"
          envelope.fiber = undefined
          queue.unshift(envelope)
          wake()
        }),
      cancel: (envelope) => {
        if (envelope.state !== "queued") return false
        const i = queue.indexOf(envelope)
        if (i >= 0) queue.splice(i, 1)
        envelope.state = "cancelled"
        return true
      },
      drain: () => queue.splice(0, queue.length),
      removeWhere: (predicate) => {
        const removed = queue.filter(predicate)
        if (removed.length > 0) {
          const keep = queue.filter((e) => !predicate(e))
          queue.length = 0
          queue.push(...keep)
        }
        return removed
      },
      queued: () => queue.slice(),
      hold: (value) =>
        Effect.sync(() => {
          held = value
          if (!held) wake()
        })
    }
  })
