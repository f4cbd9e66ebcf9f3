/**
 * The context window of an instance: its step middleware, registered inner to the default middlewares
 * (priority {@link priority}) so catalog changes made by outer middlewares are counted, reading the
 * summary folds back from the instance's records and writing new ones as `context.summary` records.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as ContextPolicy from "../../context/ContextPolicy.js"
import * as ContextWindow from "../../context/ContextWindow.js"
import type * as Tokens from "../../context/Tokens.js"
import { MiddlewareError } from "../../pipeline/Middleware.js"
import type { EventRecord } from "../../workspace/RuntimeEventLog.js"
import type { AgentInstance } from "./instance.js"
import { appendAll, record } from "./write.js"

/** The step priority of the context window (lower is outer). */
export const priority = 1000

export const install = (
  instance: AgentInstance,
  policy: ContextPolicy.Policy,
  records: ReadonlyArray<EventRecord>,
  tokenizer: Tokens.Tokenizer | undefined
) => {
  if (policy.strategy === "all") return Effect.void
  const summaries: Array<ContextWindow.SummaryRecord> = []
  for (const r of records) {
    const s = ContextWindow.summaryFromRecord(r)
    if (s !== undefined) summaries.push(s)
  }
  const { middleware } = ContextWindow.middleware({
    policy,
    model: instance.model,
    tokenizer,
    system: instance.system,
    agent: instance.label,
    summaries,
    saveSummary: (ctx, summary) =>
      record(instance, ContextWindow.summaryRecordType, ctx.turnId, ContextWindow.summaryToRecord(summary)).pipe(
        Effect.asVoid,
        Effect.mapError((e) =>
          new MiddlewareError({ middleware: "context-window", message: `the summary was not recorded: ${e.message}` })
        )
      )
  })
  return instance.pipeline.register("step", middleware, { name: "context-window", priority })
}

/** Sets or clears the pinned flag of a message (a `replace` event, durable on return); false when no message has the id. */
export const pin = (instance: AgentInstance, messageId: string, pinned: boolean) =>
  instance.state.lock.withPermits(1)(Effect.gen(function*() {
    const messages = (yield* Ref.get(instance.state.conversation)).messages
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!
      if (m.id !== messageId) continue
      if ((m.metadata[ContextWindow.pinnedKey] === true) !== pinned) {
        yield* appendAll(instance, [ContextWindow.pin(m, pinned)])
      }
      return true
    }
    return false
  }))
