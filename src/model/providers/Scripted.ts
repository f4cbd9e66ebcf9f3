/**
 * The `scripted` provider: replies from a script, for tests, demos and the embedded default. Each call
 * takes the first unused step, in order, that has no `match` or whose `match` fits the last user
 * message: a case-insensitive substring, or `/regex/flags`. A step is used once; a call with no step
 * left fails with a `ModelProtocolError` that says so.
 *
 * A step's `text` may quote the latest result of a tool in the conversation, as a model reading it
 * would: `{{clock__now.iso}}` is field `iso` of the latest `clock__now` result, `{{notes__list.notes.0}}`
 * the first note, `{{clock__now}}` the whole output (strings as they are, other values as JSON, nothing
 * when there is no such result or field).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { Json, MessageData, ToolCall } from "../../conversation/Message.js"
import * as A from "../internal/assemble.js"
import type { FinishReason, Request, Response, Service, StreamPart, Usage } from "../Model.js"
import { ModelConfigError, ModelProtocolError } from "../ModelError.js"

/**
 * One scripted tool call. `arguments` given as a string is the model's raw text (invalid JSON stays
 * raw, to exercise the turn loop's answer to bad arguments).
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptToolCall {
  readonly name: string
  readonly id?: string | undefined
  readonly arguments?: { readonly [key: string]: unknown } | string | undefined
}

/**
 * One scripted step.
 *
 * @example
 * ```ts
 * import { Scripted } from "effect-swarm"
 * const steps: ReadonlyArray<Scripted.ScriptStep> = [
 *   { match: "weather", toolCalls: [{ name: "weather__get", arguments: { city: "Oslo" } }] },
 *   { text: "It is sunny in Oslo." }
 * ]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptStep {
  readonly match?: string | undefined
  readonly text?: string | undefined
  readonly toolCalls?: ReadonlyArray<ScriptToolCall> | undefined
  readonly finishReason?: FinishReason | undefined
  readonly usage?: Usage | undefined
}

type Matcher = (text: string) => boolean

/** Compiles a `match`: `/regex/flags` or a case-insensitive substring. `undefined` for a bad regex. */
export const matcher = (match: string): Matcher | string => {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(match)
  if (regex === null) {
    const needle = match.toLowerCase()
    return (text) => text.toLowerCase().includes(needle)
  }
  try {
    const re = new RegExp(regex[1]!, regex[2]!.replace(/g/g, ""))
    return (text) => re.test(text)
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}

const lastUserText = (messages: ReadonlyArray<MessageData>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.role === "user" && A.toolResultsOf(m).length === 0) return A.textOf(m.content)
  }
  return ""
}

const latestOutput = (messages: ReadonlyArray<MessageData>, tool: string): Json | undefined => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const results = A.toolResultsOf(messages[i]!)
    const hit = results.find((r) => r.name === tool)
    if (hit === undefined) continue
    const parts = messages[i]!.content
    if (typeof parts !== "string") {
      for (const part of parts) if (part.type === "tool-result" && part.toolName === tool) return part.output
    }
    try {
      return JSON.parse(hit.output) as Json
    } catch {
      return hit.output
    }
  }
  return undefined
}

/** Fills `{{tool__name.path}}` placeholders from the latest tool results. */
export const fillTemplate = (text: string, messages: ReadonlyArray<MessageData>): string =>
  text.replace(/\{\{\s*([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g, (_, tool: string, path: string) => {
    let value: Json | undefined = latestOutput(messages, tool)
    for (const key of path.split(".").slice(1)) {
      if (value === null || typeof value !== "object") return ""
      value = Array.isArray(value)
        ? (value as ReadonlyArray<Json>)[Number(key)]
        : (value as { readonly [k: string]: Json })[key]
    }
    return value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
  })

const responseOf = (
  step: ScriptStep,
  position: number,
  model: string,
  messages: ReadonlyArray<MessageData>
): Response => {
  const toolCalls: Array<ToolCall> = (step.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `call_s${position}_${i}`,
    name: c.name,
    arguments: c.arguments === undefined ?
      {} :
      typeof c.arguments === "string" ?
      A.parseArguments(c.arguments) :
      c.arguments as Json
  }))
  return A.response({
    provider: "scripted",
    text: step.text === undefined ? "" : step.text.includes("{{") ? fillTemplate(step.text, messages) : step.text,
    reasoning: "",
    toolCalls,
    finishReason: step.finishReason ?? (toolCalls.length > 0 ? "tool-calls" : "stop"),
    rawFinishReason: undefined,
    usage: step.usage ?? {},
    model,
    responseId: `scripted-${position}`
  })
}

/** The parts a streamed scripted step gives: its text, its calls, its usage, then `Finish`. */
export const streamParts = (response: Response): Array<StreamPart> => {
  const parts: Array<StreamPart> = []
  if (response.text !== "") parts.push({ _tag: "TextDelta", text: response.text })
  response.toolCalls.forEach((call, index) => {
    parts.push({ _tag: "ToolCallStart", index, id: call.id, name: call.name })
    parts.push({ _tag: "ToolCallDelta", index, argumentsDelta: A.argumentsText(call.arguments) })
  })
  if (Object.keys(response.usage).length > 0) parts.push({ _tag: "Usage", usage: response.usage })
  parts.push({ _tag: "Finish", response })
  return parts
}

/**
 * Builds a scripted model. A step whose `match` is not a valid regex fails with `ModelConfigError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Scripted } from "effect-swarm"
 * const program = Effect.gen(function*() {
 *   const model = yield* Scripted.make([{ text: "hello" }])
 *   return (yield* model.generate({ messages: [{ role: "user", content: "hi" }] })).text // "hello"
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  steps: ReadonlyArray<ScriptStep>,
  options?: { readonly model?: string | undefined; readonly name?: string | undefined }
): Effect.Effect<Service, ModelConfigError> =>
  Effect.gen(function*() {
    const model = options?.model ?? "script"
    const matchers: Array<Matcher | undefined> = []
    for (let i = 0; i < steps.length; i++) {
      const match = steps[i]!.match
      if (match === undefined) {
        matchers.push(undefined)
        continue
      }
      const m = matcher(match)
      if (typeof m === "string") {
        return yield* new ModelConfigError({
          model: options?.name ?? model,
          field: `spec.script[${i}].match`,
          detail: `${JSON.stringify(match)} is not a valid regular expression: ${m}`,
          suggestion: "write /pattern/flags with a valid pattern, or a plain substring"
        })
      }
      matchers.push(m)
    }
    const used = yield* Ref.make<ReadonlyArray<boolean>>(steps.map(() => false))
    const next = (request: Request) =>
      Ref.modify(used, (flags): readonly [Response | string, ReadonlyArray<boolean>] => {
        const messages = A.messagesOf(request)
        const text = lastUserText(messages)
        for (let i = 0; i < steps.length; i++) {
          if (flags[i]) continue
          const m = matchers[i]
          if (m !== undefined && !m(text)) continue
          const copy = [...flags]
          copy[i] = true
          return [responseOf(steps[i]!, i, model, messages), copy]
        }
        return [text, flags]
      }).pipe(Effect.flatMap((r) =>
        typeof r === "string" ?
          Effect.fail(
            new ModelProtocolError({
              provider: "scripted",
              detail: `no script step left for the last user message ${
                JSON.stringify(r.slice(0, 200))
              } (${steps.length} steps)`
            })
          ) :
          Effect.succeed(r)
      ))
    const generate = Effect.fn("Model.generate")(function*(request: Request) {
      return yield* next(request)
    })
    return {
      provider: "scripted",
      model,
      generate,
      stream: (request) => Stream.unwrap(Effect.map(next(request), (r) => Stream.fromIterable(streamParts(r))))
    } satisfies Service
  })
