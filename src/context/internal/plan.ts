/**
 * One step's view: where it starts (binary search over the index's prefix sums, then the next place
 * that splits no call group), what heads it (a marker or the running summary, folding more when the
 * conversation outgrew the window), and what happens when the newest turn alone does not fit.
 */
import * as Effect from "effect/Effect"
import type { Message } from "../../conversation/Message.js"
import type { ContextView } from "../../event/RuntimeEvent.js"
import { MiddlewareError, type StepContext } from "../../pipeline/Middleware.js"
import * as ContextPolicy from "../ContextPolicy.js"
import type { ContextOverflow as Overflow, Options, State } from "../ContextWindow.js"
import * as Tokens from "../Tokens.js"
import * as Index from "./index.js"
import * as Summary from "./summary.js"
import * as View from "./view.js"

export interface Planned {
  readonly view: ReadonlyArray<Message>
  readonly report: ContextView
  /** The uncalibrated estimate of the whole input (system prompt, tools, view). */
  readonly raw: number
}

/** Where the messages after the running summary start (0 without one), found once and then checked. */
const summaryStart = (state: State): number => {
  const s = state.summary
  if (s === undefined) return 0
  const messages = state.index.messages
  const hint = state.summaryAt
  if (hint < messages.length && messages[hint]?.id === s.throughId) return hint + 1
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.id === s.throughId) {
      state.summaryAt = i
      return i + 1
    }
  }
  // The summarised messages are gone (a truncate or a removal): the summary no longer applies.
  state.summary = undefined
  return 0
}

export const plan = (
  options: Options,
  state: State,
  counter: Tokens.Counter,
  ctx: StepContext,
  overflow: (fields: ConstructorParameters<typeof Overflow>[0]) => Overflow
): Effect.Effect<Planned, MiddlewareError> =>
  Effect.gen(function*() {
    const policy = options.policy
    const index = state.index
    Index.sync(index, yield* ctx.conversation.get, counter)
    const n = index.messages.length
    const factor = state.calibration
    const budget = ContextPolicy.budget(policy)
    const systemTokens = options.system === undefined || options.system === ""
      ? 0
      : counter.text(options.system) + Tokens.messageOverhead
    const toolTokens = counter.tools(ctx.toolCatalog)
    const fixed = systemTokens + toolTokens
    const available = Math.floor(budget / factor) - fixed
    const createdAt = n > 0 ? index.messages[0]!.createdAt : new Date(0)
    const cost = (c: number) => Index.pinnedBefore(index, c).tokens + Index.suffix(index, c)

    let cut = 0
    let head: Message | undefined
    let omitted: ContextView["omitted"]
    let summarized: ContextView["summarized"]
    let start = 0
    if (policy.strategy === "summarize") {
      start = Index.nextCut(index, summaryStart(state), n)
      const hi = Math.max(index.turnStart, start)
      const headTokens = start === 0 ? 0 : counter.text(state.summary?.text ?? "") + View.markerTokens
      if (cost(start) + headTokens > available) {
        const room = Math.floor(policy.keepRatio * (available - policy.summaryTokens - View.markerTokens))
        const c = Index.fit(index, start, hi, room) ?? hi
        if (c > start) {
          const folded = yield* Summary.fold(
            {
              model: options.model,
              counter,
              index,
              prompt: policy.summaryPrompt ?? Summary.defaultPrompt(policy.summaryTokens),
              summaryTokens: policy.summaryTokens,
              inputTokens: Math.floor(budget / factor),
              save: (s) => options.saveSummary === undefined ? Effect.void : options.saveSummary(ctx, s)
            },
            state.summary,
            start,
            c
          )
          state.folds++
          state.summary = folded
          state.summaryAt = c - 1
          start = c
        }
      }
      cut = start
      if (start > 0 && state.summary !== undefined) {
        summarized = View.range(index, 0, start)
        if (summarized !== undefined) head = View.summaryMessage(state.summary.text, summarized, createdAt)
      }
    } else if (cost(0) > available && index.turnStart > 0) {
      // Only whole turns before the newest one are left out: cutting into the newest turn would drop the
      // input the model is answering (the overflow check below reports a newest turn that does not fit).
      const found = Index.fit(index, 1, index.turnStart, available - View.markerTokens)
      cut = found ?? index.turnStart
      omitted = View.range(index, 0, cut)
      if (omitted !== undefined) head = View.marker(omitted, createdAt)
    }
    if (cut > n) cut = n

    let view = View.assemble(index, cut, head)
    let viewTokens = cost(cut) + (head === undefined ? 0 : counter.message(head))
    let truncated: Array<View.Truncation> | undefined
    if (viewTokens > available) {
      const cutDown = policy.onOverflow === "truncate-tool-results"
        ? View.truncate(index, counter, view, viewTokens, available)
        : undefined
      if (cutDown === undefined) {
        const calibrated = (t: number) => Math.ceil(t * factor)
        const pinned = Index.pinnedBefore(index, cut).tokens
        const error = overflow({
          agent: options.agent ?? ctx.agentName,
          windowTokens: policy.windowTokens ?? 0,
          reserveTokens: policy.reserveTokens,
          budgetTokens: budget,
          requiredTokens: calibrated(fixed + viewTokens),
          systemTokens: calibrated(systemTokens),
          toolTokens: calibrated(toolTokens),
          pinnedTokens: calibrated(pinned),
          turnTokens: calibrated(viewTokens - pinned),
          onOverflow: policy.onOverflow
        })
        return yield* new MiddlewareError({ middleware: "context-window", message: error.message, cause: error })
      }
      view = cutDown.view
      viewTokens = cutDown.cost
      truncated = cutDown.truncated
    }
    const raw = fixed + viewTokens
    const report: ContextView = {
      strategy: policy.strategy,
      windowTokens: policy.windowTokens ?? 0,
      budgetTokens: budget,
      estimatedTokens: Math.ceil(raw * factor),
      calibration: Math.round(factor * 1000) / 1000,
      totalMessages: n,
      sentMessages: view.length,
      pinnedMessages: index.pinned.length,
      ...(omitted === undefined ? {} : { omitted }),
      ...(summarized === undefined ? {} : { summarized }),
      ...(truncated === undefined || truncated.length === 0 ? {} : { truncated })
    }
    return { view, report, raw }
  })
