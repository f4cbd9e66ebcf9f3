/**
 * A conversation: base messages (the last snapshot) plus the ordered events after it, folded into the
 * current ("next") messages. `NextMessages = BaseMessages + SUM(Events)`.
 *
 * Values are immutable. Applying an event costs O(1) for `append` and `truncate` (the message array is
 * shared with the previous value and only grows, copy-on-write when two values diverge) and O(n) for
 * `replace` / `remove` (a scan for the target id). Nothing is ever re-folded from the base on access.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import { applyOne, ConversationImpl, impl, TypeId } from "./internal/conversationValue.js"
import { fresh, none, owned } from "./internal/sharedArray.js"
import type { Message } from "./Message.js"
import * as MessageEvent from "./MessageEvent.js"

/**
 * A `replace` or `remove` whose target id is not in the conversation: a no-op, recorded here.
 *
 * @since 0.1.0
 * @category models
 */
export interface Warning {
  readonly code: "E_MESSAGE_TARGET_NOT_FOUND"
  readonly message: string
  readonly seq: number
  readonly targetId: string
}

/**
 * An event whose `seq` does not follow the last one: `E_SEQ_DUPLICATE` (at or below `lastSeq`, after
 * events were already applied on the base: skipped) or `E_SEQ_GAP` (beyond `lastSeq + 1`: applied, the
 * events in between are missing). A store's log never has either; one that does was damaged or read
 * while it changed, and the reader must not pass it off as a whole conversation.
 *
 * @since 0.1.0
 * @category models
 */
export interface SeqProblem {
  readonly code: "E_SEQ_DUPLICATE" | "E_SEQ_GAP"
  readonly message: string
  /** The seq of the offending event. */
  readonly seq: number
  /** The seq that was expected (`lastSeq + 1`). */
  readonly expected: number
}

/**
 * A conversation value. Read `messages` for what the model should see next.
 *
 * @since 0.1.0
 * @category models
 */
export interface Conversation {
  readonly [TypeId]: typeof TypeId
  /** The snapshot messages (the content of `base.jsonl`). */
  readonly base: ReadonlyArray<Message>
  /** The last `seq` folded into `base` (0 when nothing was folded). */
  readonly baseSeq: number
  /** The events applied after `base`, in order. */
  readonly events: ReadonlyArray<MessageEvent.MessageEvent>
  /** The current messages: base + events. */
  readonly messages: ReadonlyArray<Message>
  /** The highest `seq` applied (`baseSeq` when there are no events). */
  readonly lastSeq: number
  /** Replace/remove events whose target was missing. */
  readonly warnings: ReadonlyArray<Warning>
  /** Events out of sequence (duplicates skipped, gaps): empty for every log a store wrote whole. */
  readonly seqProblems: ReadonlyArray<SeqProblem>
}

/**
 * Tells whether a value is a `Conversation`.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * Conversation.isConversation(Conversation.empty) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isConversation = (u: unknown): u is Conversation => typeof u === "object" && u !== null && TypeId in u

/**
 * The empty conversation.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * Conversation.empty.messages // []
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Conversation = new ConversationImpl([], 0, none, none, 0, [], [])

/**
 * A conversation from a base snapshot (with the last `seq` folded into it) and no events.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * declare const messages: ReadonlyArray<import("effect-swarm").Message.Message>
 * const conversation = Conversation.make(messages, { baseSeq: 42 })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  base: ReadonlyArray<Message>,
  options?: { readonly baseSeq?: number | undefined }
): Conversation => {
  const baseSeq = options?.baseSeq ?? 0
  const frozen = base.slice()
  return new ConversationImpl(frozen, baseSeq, none, fresh(frozen), baseSeq, [], [])
}

/**
 * Applies one sequenced event. An event whose `seq` is not greater than `lastSeq` is never applied twice:
 * at or below the base's seq before any event (a replay after a crash during compaction) it is skipped
 * silently; otherwise it is skipped and reported in `seqProblems` (`E_SEQ_DUPLICATE`). An event beyond
 * `lastSeq + 1` is applied and reported (`E_SEQ_GAP`).
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * const next = Conversation.apply(Conversation.empty, { seq: 1, type: "truncate" })
 * next.lastSeq // 1
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const apply: {
  (event: MessageEvent.MessageEvent): (self: Conversation) => Conversation
  (self: Conversation, event: MessageEvent.MessageEvent): Conversation
} = dual(2, applyOne)

/**
 * Applies events in order.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * declare const events: ReadonlyArray<import("effect-swarm").MessageEvent.MessageEvent>
 * const conversation = Conversation.applyAll(Conversation.empty, events)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyAll: {
  (events: Iterable<MessageEvent.MessageEvent>): (self: Conversation) => Conversation
  (self: Conversation, events: Iterable<MessageEvent.MessageEvent>): Conversation
} = dual(2, (self: Conversation, events: Iterable<MessageEvent.MessageEvent>): Conversation => {
  // A run of appends in sequence (a load replays mostly those) goes straight into the shared arrays, with one
  // Conversation at the end of the run instead of one (and two views) per event; anything else goes through
  // applyOne. Pushing in place is what `push` does for the longest view, so the views already handed out see
  // the same items as before.
  let out = impl(self)
  let run: { events: Array<MessageEvent.MessageEvent>; messages: Array<Message>; lastSeq: number } | undefined
  const close = () => {
    if (run === undefined) return
    out = new ConversationImpl(
      out.base,
      out.baseSeq,
      { items: run.events, length: run.events.length },
      { items: run.messages, length: run.messages.length },
      run.lastSeq,
      out.warnings,
      out.seqProblems
    )
    run = undefined
  }
  for (const event of events) {
    if (event.type === "append" && event.seq === (run?.lastSeq ?? out.lastSeq) + 1) {
      run ??= { events: owned(out.sharedEvents), messages: owned(out.sharedMessages), lastSeq: out.lastSeq }
      run.events.push(event)
      run.messages.push(event.message)
      run.lastSeq = event.seq
      continue
    }
    close()
    out = impl(applyOne(out, event))
  }
  close()
  return out
})

/**
 * Applies a draft with the next `seq` (`lastSeq + 1`) and returns the sequenced event with the result,
 * for in-memory producers that assign sequence numbers themselves.
 *
 * @example
 * ```ts
 * import { Conversation, MessageEvent } from "effect-swarm"
 * const [event, next] = Conversation.applyDraft(Conversation.empty, MessageEvent.truncate)
 * event.seq // 1
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyDraft: {
  (draft: MessageEvent.Draft): (self: Conversation) => readonly [MessageEvent.MessageEvent, Conversation]
  (self: Conversation, draft: MessageEvent.Draft): readonly [MessageEvent.MessageEvent, Conversation]
} = dual(2, (self: Conversation, draft: MessageEvent.Draft) => {
  const event = MessageEvent.withSeq(draft, self.lastSeq + 1)
  return [event, applyOne(self, event)] as const
})

/**
 * Folds the events into the base: `base := messages`, `baseSeq := lastSeq`, no events, no warnings, no
 * seq problems.
 * This is what compaction writes to `base.jsonl`.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * const folded = Conversation.fold(Conversation.apply(Conversation.empty, { seq: 1, type: "truncate" }))
 * folded.baseSeq // 1
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const fold = (self: Conversation): Conversation => make(self.messages, { baseSeq: self.lastSeq })

/**
 * Folds events into the messages they produce, starting from an empty conversation (handy in tests and
 * for replaying an event list).
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * declare const events: ReadonlyArray<import("effect-swarm").MessageEvent.MessageEvent>
 * Conversation.fromEvents(events).messages
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEvents = (events: Iterable<MessageEvent.MessageEvent>): Conversation => applyAll(empty, events)

/**
 * The number of current messages, without materialising {@link Conversation.messages} (which copies
 * the shared array once per conversation value).
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * Conversation.size(Conversation.empty) // 0
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const size = (self: Conversation): number => impl(self).sharedMessages.length

/**
 * The current message at `index` in O(1), without materialising {@link Conversation.messages}
 * (`undefined` outside `0 .. size - 1`): what incremental readers (the context window) use.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * Conversation.messageAt(Conversation.empty, 0) // undefined
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const messageAt = (self: Conversation, index: number): Message | undefined => {
  const shared = impl(self).sharedMessages
  return index >= 0 && index < shared.length ? shared.items[index] : undefined
}

/**
 * The number of events applied since the base, without materialising {@link Conversation.events}: what an
 * owner reads to decide when to {@link fold} a conversation it keeps in memory.
 *
 * @example
 * ```ts
 * import { Conversation } from "effect-swarm"
 * Conversation.eventCount(Conversation.apply(Conversation.empty, { seq: 1, type: "truncate" })) // 1
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const eventCount = (self: Conversation): number => impl(self).sharedEvents.length
