/**
 * The running summary of the `summarize` strategy: folding a range of older messages into it with a
 * model call (in chunks that fit the window), each fold recorded in the instance's log as a
 * `context.summary` record with the message range it covers, so a restarted instance reuses it.
 */
import * as Effect from "effect/Effect"
import type { Message } from "../../conversation/Message.js"
import type * as Model from "../../model/Model.js"
import { MiddlewareError } from "../../pipeline/Middleware.js"
import type { Counter } from "../Tokens.js"
import * as Index from "./index.js"

/** The record type of a fold in the runtime-event log. */
export const recordType = "context.summary"

/**
 * One fold: the summary of every message up to `throughId` (inclusive), and the range this fold added.
 */
export interface Summary {
  readonly text: string
  readonly throughId: string
  readonly fromId: string
  readonly fromSeq?: number | undefined
  readonly toSeq?: number | undefined
  /** Messages this fold added to the summary. */
  readonly count: number
}

const str = (u: unknown) => typeof u === "string" ? u : undefined
const num = (u: unknown) => typeof u === "number" && Number.isFinite(u) ? u : undefined

/** Reads a fold back from its record (`undefined` for any other record). */
export const fromRecord = (r: { readonly [key: string]: unknown }): Summary | undefined => {
  if (r.type !== recordType) return undefined
  const text = str(r.text)
  const throughId = str(r.throughId)
  const fromId = str(r.fromId)
  if (text === undefined || throughId === undefined || fromId === undefined) return undefined
  const fromSeq = num(r.fromSeq)
  const toSeq = num(r.toSeq)
  return {
    text,
    throughId,
    fromId,
    ...(fromSeq === undefined ? {} : { fromSeq }),
    ...(toSeq === undefined ? {} : { toSeq }),
    count: num(r.count) ?? 0
  }
}

/** The record fields of a fold. */
export const toRecord = (s: Summary): Record<string, string | number> => ({
  text: s.text,
  throughId: s.throughId,
  fromId: s.fromId,
  ...(s.fromSeq === undefined ? {} : { fromSeq: s.fromSeq }),
  ...(s.toSeq === undefined ? {} : { toSeq: s.toSeq }),
  count: s.count
})

/** The instructions of a summary call when the policy gives none. */
export const defaultPrompt = (maxTokens: number) =>
  "You keep the running summary of a long conversation between a user and an AI agent, so the agent can " +
  "continue its work after older messages leave its context window. Fold the new messages into the previous " +
  "summary. Keep facts, decisions, names, identifiers, file paths, numbers, open tasks and the tool results " +
  `that matter later; drop chit-chat. Write at most about ${
    Math.floor(maxTokens * 0.75)
  } words. Answer with the summary only.`

const stringify = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? ""
  } catch {
    return String(value)
  }
}

const clip = (text: string, chars: number) =>
  text.length <= chars ? text : `${text.slice(0, chars)}... [${text.length - chars} characters cut]`

/** A message as one transcript line (tool calls and results included), at most `chars` characters. */
export const render = (m: Message, chars: number): string => {
  const pieces: Array<string> = []
  const content = m.data.content
  if (typeof content === "string") pieces.push(content)
  else {
    for (const p of content) {
      if (p.type === "text") pieces.push(p.text)
      else if (p.type === "tool-call") pieces.push(`[calls ${p.toolName} ${stringify(p.input)}]`)
      else if (p.type === "tool-result") pieces.push(`[result of ${p.toolName}: ${stringify(p.output)}]`)
      else if (p.type !== "reasoning") pieces.push(`[${p.type}]`)
    }
  }
  for (const c of m.data.toolCalls ?? []) pieces.push(`[calls ${c.name} ${stringify(c.arguments)}]`)
  const who = m.data.role === "tool" ? `tool ${m.data.toolName ?? ""}`.trim() : m.data.role
  return `${who}: ${clip(pieces.join(" "), chars)}`
}

export interface FoldDeps {
  readonly model: Model.Service
  readonly counter: Counter
  readonly index: Index.Index
  readonly prompt: string
  readonly summaryTokens: number
  /** Tokens a summary call's input may take (prompt, previous summary and the new messages). */
  readonly inputTokens: number
  readonly save: (summary: Summary) => Effect.Effect<void, MiddlewareError>
}

const failure = (message: string, cause?: unknown) =>
  new MiddlewareError({ middleware: "context-window", message, ...(cause === undefined ? {} : { cause }) })

/**
 * Folds messages `from .. to-1` into `previous`, in chunks whose call input fits `inputTokens`; every
 * chunk ends where the view may start (an oversized call group goes whole, its lines clipped). Each
 * fold is saved before the next one starts. Returns the last fold.
 */
export const fold = (
  deps: FoldDeps,
  previous: Summary | undefined,
  from: number,
  to: number
): Effect.Effect<Summary | undefined, MiddlewareError> =>
  Effect.gen(function*() {
    const { index } = deps
    let current = previous
    let start = from
    while (start < to) {
      const fixed = deps.counter.text(deps.prompt) + deps.counter.text(current?.text ?? "") + 64
      const room = Math.max(deps.summaryTokens, deps.inputTokens - fixed)
      // The largest end whose range fits the room, then back to a place the view may start.
      let a = start + 1
      let b = to
      while (a < b) {
        const mid = (a + b + 1) >>> 1
        if (Index.range(index, start, mid) <= room) a = mid
        else b = mid - 1
      }
      let end = a >= to ? to : Index.previousCut(index, a, start) ?? Index.nextCut(index, start + 1, to)
      if (end <= start) end = Index.nextCut(index, start + 1, to)
      const count = end - start
      // Characters per line so the transcript stays inside the room (about 3 characters per token).
      const chars = Math.max(200, Math.floor(room * 3 / count))
      const lines: Array<string> = []
      for (let i = start; i < end; i++) lines.push(render(index.messages[i]!, chars))
      const fromSeq = index.seqs[start]
      const toSeq = index.seqs[end - 1]
      const input = `${
        current === undefined ? "There is no previous summary." : `Previous summary:\n${current.text}`
      }\n\nNew messages${fromSeq !== undefined && toSeq !== undefined ? ` (seq ${fromSeq}..${toSeq})` : ""}:\n${
        lines.join("\n")
      }`
      const response = yield* deps.model.generate({
        system: deps.prompt,
        messages: [{ role: "user", content: input }],
        params: { maxTokens: deps.summaryTokens }
      }).pipe(Effect.mapError((e) => failure(`the summary call failed: ${e.message}`, e)))
      let text = response.text.trim()
      if (text === "") {
        return yield* failure(
          "the summary call returned no text; check the model used for summaries, or use strategy: window"
        )
      }
      const tokens = deps.counter.text(text)
      if (tokens > deps.summaryTokens * 1.25) {
        text = `${text.slice(0, Math.floor(text.length * deps.summaryTokens / tokens))} [summary cut to fit]`
      }
      const summary: Summary = {
        text,
        throughId: index.messages[end - 1]!.id,
        fromId: index.messages[start]!.id,
        ...(fromSeq === undefined ? {} : { fromSeq }),
        ...(toSeq === undefined ? {} : { toSeq }),
        count
      }
      yield* deps.save(summary)
      current = summary
      start = end
    }
    return current
  })
