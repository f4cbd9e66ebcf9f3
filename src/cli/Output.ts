/**
 * How the CLI writes: colour and a progress line only on a terminal (and never with `NO_COLOR`), plain
 * text otherwise; `--json` output is always plain.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

const noColor = Config.string("NO_COLOR").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))

/**
 * Whether to colour stdout: it is a terminal and `NO_COLOR` is unset or empty.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Output } from "effect-swarm/cli/Output"
 * const program = Effect.map(Output.detectColor, (color) => color ? "\u001b[32mok\u001b[0m" : "ok")
 * ```
 *
 * @since 0.1.0
 * @category terminal
 */
export const detectColor: Effect.Effect<boolean> = Effect.gen(function*() {
  return (yield* noColor) === "" && (yield* Effect.sync(() => process.stdout.isTTY === true))
})

// One instance each, so providing {@link logToStderr} twice (the bin, then a command) keeps one logger.
const stderrLoggers = {
  plain: Logger.prettyLogger({ stderr: true, colors: false }),
  colored: Logger.prettyLogger({ stderr: true, colors: true })
}

/**
 * Effect's log lines on stderr (the pretty format; coloured when stderr is a terminal and `NO_COLOR` is
 * unset), in place of the default logger: stdout carries only what a command prints (replies, tables,
 * `--json`), so a script piping it never reads a log line.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Output } from "effect-swarm/cli/Output"
 * const program = Effect.logInfo("on stderr").pipe(Effect.provide(Output.logToStderr))
 * ```
 *
 * @since 0.1.0
 * @category terminal
 */
export const logToStderr: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const colored = (yield* noColor) === "" && (yield* Effect.sync(() => process.stderr.isTTY === true))
    return Logger.replace(Logger.defaultLogger, colored ? stderrLoggers.colored : stderrLoggers.plain)
  })
)

/**
 * Wraps `text` in an SGR colour sequence when `color` is on.
 *
 * @example
 * ```ts
 * import { Output } from "effect-swarm/cli/Output"
 * Output.paint(false)("32", "ok") // "ok"
 * ```
 *
 * @since 0.1.0
 * @category terminal
 */
export const paint = (color: boolean) => (code: string, text: string): string =>
  color ? `\u001b[${code}m${text}\u001b[0m` : text

// SGR sequences (colours, bold): what @effect/cli's help and error messages use.
const sgr = /\u001b\[[0-9;]*m/g

/**
 * Runs `self` with a console that drops colour sequences when stdout is not a terminal or `NO_COLOR` is
 * set (the help and usage errors of `@effect/cli` are coloured unconditionally).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Output } from "effect-swarm/cli/Output"
 * const program = Output.plainWhenPiped(Effect.log("hi"))
 * ```
 *
 * @since 0.1.0
 * @category terminal
 */
export const plainWhenPiped = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    detectColor,
    (color) =>
      color ? self : Effect.flatMap(Effect.console, (current) =>
        Effect.withConsole(self, {
          ...current,
          log: (...args: ReadonlyArray<unknown>) => current.log(...args.map(strip)),
          error: (...args: ReadonlyArray<unknown>) => current.error(...args.map(strip))
        }))
  )

const strip = (value: unknown): unknown => typeof value === "string" ? value.replace(sgr, "") : value

/**
 * A status line on stderr, rewritten in place (carriage return, erase line), when stderr is a terminal:
 * `show` replaces the text, `clear` erases it before results print. A no-op otherwise.
 *
 * @example
 * ```ts
 * import { Output } from "effect-swarm/cli/Output"
 * const line = Output.statusLine({ write: (text) => process.stderr.write(text) })
 * ```
 *
 * @since 0.1.0
 * @category terminal
 */
export const statusLine = (sink: { readonly write: (text: string) => void } | undefined) => ({
  show: (text: string) => Effect.sync(() => sink?.write(`\r\u001b[K${text}`)),
  clear: Effect.sync(() => sink?.write("\r\u001b[K"))
})

/**
 * stderr when it is a terminal, for {@link statusLine}.
 *
 * @since 0.1.0
 * @category terminal
 */
export const terminalStderr: Effect.Effect<{ readonly write: (text: string) => void } | undefined> = Effect.sync(
  () => process.stderr.isTTY === true ? process.stderr : undefined
)
