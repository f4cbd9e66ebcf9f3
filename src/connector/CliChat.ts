/**
 * The built-in `cli` connector: a chat in the terminal. Each line typed is an event (default name
 * `stdin_message`, or the Connection's `config.event`) with properties `{ line }`, routed by the
 * Connection's ingress rules; a line written `#<channel> text` also sets `properties.channel` (so a rule
 * can send it elsewhere) and sends `text`. The reply text streams as it is generated, and every tool call
 * of every instance shows as it starts and ends.
 *
 * On a terminal (stdin and stdout are TTYs): a prompt (`config.prompt`, default `> `), colour, and Ctrl-C
 * cancels the turn that runs (its requester stops waiting, which interrupts the turn); Ctrl-C at the
 * prompt, or Ctrl-D, ends the chat and `run` shuts down gracefully. Piped: plain text, no prompt, one
 * turn per line in order, and the end of input ends the chat once the last reply printed; SIGINT then
 * stops `run` (a graceful shutdown as well).
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as readline from "node:readline"
import type { Builtin, Runtime } from "./Connector.js"
import { safe } from "./internal/terminalText.js"

/**
 * Where the chat reads and writes (stdin / stdout by default; tests pass their own streams).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly input?: NodeJS.ReadableStream | undefined
  readonly output?: NodeJS.WritableStream & { readonly isTTY?: boolean | undefined } | undefined
  /** Completed when the user ends the chat (Ctrl-C at the prompt, Ctrl-D, end of input). */
  readonly quit?: Deferred.Deferred<void> | undefined
  /** Colour and prompt (default: stdin and stdout are terminals and `NO_COLOR` is unset). */
  readonly terminal?: boolean | undefined
}

type Input = { readonly _tag: "Line"; readonly line: string } | { readonly _tag: "Interrupt" } | {
  readonly _tag: "End"
}

/** `#channel text` → the channel and the text; otherwise the line as it is. */
const parseLine = (line: string): { readonly text: string; readonly channel: string | undefined } => {
  const m = /^#([A-Za-z0-9_-]+)\s+(.*)$/s.exec(line)
  return m === null ? { text: line, channel: undefined } : { text: m[2]!, channel: m[1]! }
}

/**
 * The `cli` built-in (register it with `Connectors.run(bundle, orchestrator, { builtins: { cli } })`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle, CliChat, Connectors, Orchestrator } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.make(bundle, undefined, {})
 *   const connectors = yield* Connectors.run(bundle, orchestrator, { builtins: { cli: CliChat.connector() } })
 *   yield* connectors.awaitDone
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const connector = (options: Options = {}): Builtin => (ctx: Runtime) =>
  Effect.gen(function*() {
    const input = options.input ?? process.stdin
    const output = options.output ?? process.stdout
    const terminal = options.terminal ??
      (process.stdin.isTTY === true && process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "")
    const paint = (code: string, text: string) => terminal ? `\u001b[${code}m${text}\u001b[0m` : text
    const write = (text: string) => Effect.sync(() => void output.write(text))
    const prompt = ctx.config.prompt ?? "> "
    const eventName = ctx.config.event ?? "stdin_message"

    const inbox = yield* Queue.unbounded<Input>()
    const rl = yield* Effect.acquireRelease(
      Effect.sync(() => readline.createInterface({ input, output, terminal, prompt })),
      (rl) => Effect.sync(() => rl.close())
    )
    // readline's callbacks only offer to the queue; the chat loop below does the work.
    rl.on("line", (line) => void Queue.unsafeOffer(inbox, { _tag: "Line", line }))
    rl.on("SIGINT", () => void Queue.unsafeOffer(inbox, { _tag: "Interrupt" }))
    rl.on("close", () => void Queue.unsafeOffer(inbox, { _tag: "End" }))

    // A line per tool call, printed above the streaming reply.
    let streaming = false
    const line = (text: string) =>
      Effect.suspend(() => {
        const before = streaming ? "\n" : ""
        streaming = false
        return write(`${before}${text}\n`)
      })
    yield* ctx.runtimeEvents.pipe(
      Stream.runForEach((e) => {
        // Model and tool text is shown, never obeyed by the terminal (internal/terminalText.ts).
        const who = safe(`${e.agentName}@${e.instanceKey}`)
        if (e.type === "tool.called") return line(paint("2", `  ${who} -> ${safe(e.toolName)}`))
        if (e.type === "tool.completed") {
          return line(paint(e.status === "ok" ? "2" : "33", `  ${who} <- ${safe(e.toolName)} ${e.status}`))
        }
        if (e.type === "tool.failed") {
          return line(paint("31", `  ${who} <- ${safe(e.toolName)} failed: ${safe(e.errorMessage)}`))
        }
        return Effect.void
      }),
      Effect.forkScoped
    )

    const ask = (text: string) =>
      Effect.gen(function*() {
        const { channel, text: message } = parseLine(text)
        const reply = yield* ctx.request(
          {
            name: eventName,
            message: { type: "text", text: message },
            properties: channel === undefined ? { line: text } : { line: text, channel }
          },
          {
            onDelta: (delta) =>
              Effect.suspend(() => {
                const head = streaming ? "" : `${paint("1", "assistant>")} `
                streaming = true
                return write(`${head}${safe(delta)}`)
              })
          }
        )
        if (!streaming && reply.text.length > 0) yield* write(`${paint("1", "assistant>")} ${safe(reply.text)}`)
        if (streaming || reply.text.length > 0) yield* write("\n")
        streaming = false
        if (reply.finishReason !== "text_response") {
          yield* write(paint("33", `(${safe(reply.address)}: turn ended with ${reply.finishReason})\n`))
        }
      }).pipe(
        Effect.catchAll((e) => write(paint("31", `error: ${safe(e.message)}\n`)))
      )

    const showPrompt = terminal ? Effect.sync(() => rl.prompt()) : Effect.void
    yield* showPrompt
    // Lines typed while a turn ran, in order, before anything newer.
    const pending: Array<Input> = []
    while (true) {
      const next = pending.shift() ?? (yield* Queue.take(inbox))
      if (next._tag === "End" || next._tag === "Interrupt") break
      if (next.line.trim().length === 0) {
        yield* showPrompt
        continue
      }
      // The turn runs in its own fiber: a Ctrl-C meanwhile interrupts it; lines typed meanwhile wait.
      const turn = yield* Effect.fork(ask(next.line))
      while (true) {
        const event = yield* Effect.raceFirst(
          Effect.as(Fiber.await(turn), undefined),
          Queue.take(inbox)
        )
        if (event === undefined) break
        if (event._tag === "Interrupt") {
          yield* Fiber.interrupt(turn)
          streaming = false
          yield* write(paint("33", "\n(cancelled; Ctrl-C again at the prompt exits)\n"))
          break
        }
        pending.push(event)
      }
      yield* showPrompt
    }
    yield* write("\n")
    if (options.quit !== undefined) yield* Deferred.succeed(options.quit, undefined)
  })
