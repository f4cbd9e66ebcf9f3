/**
 * Time travel over an instance's log: the turns and steps with their seqs, and the conversation as it
 * was at a seq (for `fork`).
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Conversation from "../../conversation/Conversation.js"
import type { Message } from "../../conversation/Message.js"
import * as MessageEvent from "../../conversation/MessageEvent.js"
import * as InstanceName from "../../workspace/InstanceName.js"
import { ForkError } from "../AgentError.js"
import type { AgentInstance } from "./instance.js"
import * as Log from "./log.js"
import { appendAll } from "./write.js"

/**
 * One step of a turn in the log.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepEntry {
  readonly stepIndex: number
  /** The seq of the step's assistant message. */
  readonly seq: number | undefined
  readonly toolCalls: ReadonlyArray<
    { readonly id: string; readonly name: string; readonly resultSeq: number | undefined }
  >
}

/**
 * One turn in the log.
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnEntry {
  readonly turnId: string
  /** The user input that started it. */
  readonly input: string | undefined
  /** The seqs of its first and last messages (`undefined` for messages folded into a snapshot). */
  readonly firstSeq: number | undefined
  readonly lastSeq: number | undefined
  /** `undefined` while the turn is open (running, interrupted, or waiting for approval). */
  readonly finishReason: string | undefined
  readonly steps: ReadonlyArray<StepEntry>
}

const seqsOf = (c: Conversation.Conversation) => {
  const seqs = new Map<string, number>()
  for (const e of c.events) {
    if (e.type === "append" || e.type === "replace") seqs.set(e.message.id, e.seq)
  }
  return seqs
}

export const history = (c: Conversation.Conversation, ended: ReadonlyMap<string, string>): Array<TurnEntry> => {
  const seqs = seqsOf(c)
  const turns: Array<TurnEntry & { steps: Array<StepEntry> }> = []
  const resultSeq = new Map<string, number | undefined>()
  for (const m of c.messages) {
    if (m.data.role === "tool" && m.data.toolCallId !== undefined) resultSeq.set(m.data.toolCallId, seqs.get(m.id))
  }
  let current: (TurnEntry & { steps: Array<StepEntry>; lastSeq: number | undefined }) | undefined
  for (const m of c.messages) {
    const turnId = Log.turnIdOf(m)
    if (turnId === undefined) continue
    const seq = seqs.get(m.id)
    if (current === undefined || current.turnId !== turnId) {
      current = {
        turnId,
        input: m.data.role === "user" && typeof m.data.content === "string" ? m.data.content : undefined,
        firstSeq: seq,
        lastSeq: seq,
        finishReason: ended.get(turnId),
        steps: []
      }
      turns.push(current)
    }
    current.lastSeq = seq ?? current.lastSeq
    const step = Log.stepOf(m)
    if (m.data.role === "assistant" && step !== undefined) {
      current.steps.push({
        stepIndex: step,
        seq,
        toolCalls: Log.callsOf(m).map((call) => ({ id: call.id, name: call.name, resultSeq: resultSeq.get(call.id) }))
      })
    }
  }
  return turns
}

/** The messages as they were right after `atSeq`; a string says why that point cannot be rebuilt. */
export const messagesAt = (c: Conversation.Conversation, atSeq: number): ReadonlyArray<Message> | string => {
  if (atSeq < c.baseSeq) {
    return `seq ${atSeq} is folded into the snapshot (it holds seqs up to ${c.baseSeq}); fork at ${c.baseSeq} or later`
  }
  if (atSeq > c.lastSeq) return `the log ends at seq ${c.lastSeq}`
  const base = Conversation.make(c.base, { baseSeq: c.baseSeq })
  return Conversation.applyAll(base, c.events.filter((e) => e.seq <= atSeq)).messages
}

/** Opens `newInstanceKey` like `instance` and writes the conversation as it was right after `atSeq`. */
export const fork = (instance: AgentInstance, atSeq: number, newInstanceKey: string) =>
  Effect.gen(function*() {
    const label = instance.label
    if (!Number.isSafeInteger(atSeq) || atSeq < 0) {
      return yield* new ForkError({
        instance: label,
        atSeq,
        detail: `${atSeq} is not a seq of the log (seqs are whole numbers from 0); pick one from AgentInstance.history`
      })
    }
    const messages = messagesAt(yield* Ref.get(instance.state.conversation), atSeq)
    if (typeof messages === "string") return yield* new ForkError({ instance: label, atSeq, detail: messages })
    const keyProblem = typeof newInstanceKey === "string" ?
      InstanceName.instanceKeyProblem(newInstanceKey) :
      "the new instance key is not a string"
    if (keyProblem !== undefined) {
      return yield* new ForkError({
        instance: label,
        atSeq,
        detail: `${keyProblem}; fork into a key such as "what-if"`
      })
    }
    if (newInstanceKey === instance.ref.instanceKey) {
      return yield* new ForkError({ instance: label, atSeq, detail: "the new instance key is the original's" })
    }
    const target = { ...instance.ref, instanceKey: newInstanceKey }
    // Before opening it (which creates it): a fork at seq 0 writes nothing, so a second fork into the same key
    // would find an empty conversation and open a second instance object over the same files.
    if (yield* instance.state.storage.exists(target)) {
      return yield* new ForkError({
        instance: label,
        atSeq,
        detail: `instance ${target.agentName}@${newInstanceKey} already exists; fork into a new instance key`
      })
    }
    const forked = yield* instance.state.open(target)
    if ((yield* Ref.get(forked.state.conversation)).lastSeq > 0) {
      return yield* new ForkError({
        instance: label,
        atSeq,
        detail: `instance ${forked.label} already has a conversation; fork into a new instance key`
      })
    }
    if (messages.length > 0) yield* appendAll(forked, messages.map(MessageEvent.append))
    return forked
  })
