/**
 * The representation behind a `Conversation` value (its base, and its events and messages as views of shared
 * arrays) and applying one sequenced event to it.
 *
 * @since 0.1.0
 */
import type { Conversation, SeqProblem, Warning } from "../Conversation.js"
import type { Message } from "../Message.js"
import type * as MessageEvent from "../MessageEvent.js"
import { fresh, none, push, type Shared, view } from "./sharedArray.js"

export const TypeId: unique symbol = Symbol.for("effect-swarm/Conversation")

export class ConversationImpl implements Conversation {
  readonly [TypeId]: typeof TypeId = TypeId
  private cachedMessages: ReadonlyArray<Message> | undefined
  private cachedEvents: ReadonlyArray<MessageEvent.MessageEvent> | undefined
  constructor(
    readonly base: ReadonlyArray<Message>,
    readonly baseSeq: number,
    readonly sharedEvents: Shared<MessageEvent.MessageEvent>,
    readonly sharedMessages: Shared<Message>,
    readonly lastSeq: number,
    readonly warnings: ReadonlyArray<Warning>,
    readonly seqProblems: ReadonlyArray<SeqProblem>
  ) {}
  get messages(): ReadonlyArray<Message> {
    return this.cachedMessages ??= view(this.sharedMessages)
  }
  get events(): ReadonlyArray<MessageEvent.MessageEvent> {
    return this.cachedEvents ??= view(this.sharedEvents)
  }
  toJSON() {
    return { _id: "Conversation", baseSeq: this.baseSeq, lastSeq: this.lastSeq, messages: this.messages }
  }
}

export const impl = (self: Conversation): ConversationImpl => self as ConversationImpl

const indexOfId = (messages: Shared<Message>, id: string): number => {
  for (let i = 0; i < messages.length; i++) if (messages.items[i]!.id === id) return i
  return -1
}

export const applyOne = (self: Conversation, event: MessageEvent.MessageEvent): Conversation => {
  const c = impl(self)
  if (event.seq <= c.lastSeq) {
    // Folded into the base already (a replay after a crash between compaction steps): skipping keeps
    // folding idempotent. After events were applied on the base, the same seq again is a duplicate.
    if (c.sharedEvents.length === 0 && event.seq <= c.baseSeq) return c
    return new ConversationImpl(c.base, c.baseSeq, c.sharedEvents, c.sharedMessages, c.lastSeq, c.warnings, [
      ...c.seqProblems,
      {
        code: "E_SEQ_DUPLICATE",
        message: `event seq ${event.seq} repeats an applied seq (expected ${c.lastSeq + 1}); skipped`,
        seq: event.seq,
        expected: c.lastSeq + 1
      }
    ])
  }
  const problems: ReadonlyArray<SeqProblem> = event.seq === c.lastSeq + 1 ? c.seqProblems : [...c.seqProblems, {
    code: "E_SEQ_GAP",
    message: `event seq ${event.seq} follows ${c.lastSeq}: seqs ${c.lastSeq + 1}..${event.seq - 1} are missing`,
    seq: event.seq,
    expected: c.lastSeq + 1
  }]
  const events = push(c.sharedEvents, event)
  switch (event.type) {
    case "append":
      return new ConversationImpl(
        c.base,
        c.baseSeq,
        events,
        push(c.sharedMessages, event.message),
        event.seq,
        c.warnings,
        problems
      )
    case "truncate":
      return new ConversationImpl(c.base, c.baseSeq, events, none, event.seq, c.warnings, problems)
    case "replace":
    case "remove": {
      const index = indexOfId(c.sharedMessages, event.targetId)
      if (index < 0) {
        const warning: Warning = {
          code: "E_MESSAGE_TARGET_NOT_FOUND",
          message: `${event.type} target not found: ${event.targetId}`,
          seq: event.seq,
          targetId: event.targetId
        }
        return new ConversationImpl(c.base, c.baseSeq, events, c.sharedMessages, event.seq, [
          ...c.warnings,
          warning
        ], problems)
      }
      const items = c.sharedMessages.items.slice(0, c.sharedMessages.length)
      if (event.type === "replace") items[index] = event.message
      else items.splice(index, 1)
      return new ConversationImpl(c.base, c.baseSeq, events, fresh(items), event.seq, c.warnings, problems)
    }
  }
}
