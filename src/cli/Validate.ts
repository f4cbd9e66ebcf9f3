/**
 * `effect-swarm validate [dir] [--json]`: loads the bundle in `dir` (default `.`) and prints every
 * issue as `file:document path (line N)  CODE  message` with its suggestion, or with `--json` a JSON
 * array of the issues. Exits with status 1 when there are errors (warnings alone exit 0). Colour only on
 * a terminal, and never when `NO_COLOR` is set; on a terminal, a progress line on stderr says what is
 * being read while the bundle loads (erased before the results).
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Bundle from "../resource/Bundle.js"
import type { BundleIssue } from "../resource/BundleError.js"
import { formatIssue, location } from "../resource/BundleError.js"
import { CliExit } from "./CliExit.js"
import { detectColor, paint, statusLine, terminalStderr } from "./Output.js"

/**
 * Output options of {@link validate}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidateOptions {
  readonly json: boolean
  /** Colour the output (by default: stdout is a terminal and `NO_COLOR` is unset). */
  readonly color?: boolean | undefined
  /**
   * Where to show progress while loading (by default stderr, when it is a terminal and the output is
   * not `--json`); `undefined` or `false` for none. The line is erased before the results print.
   */
  readonly progress?: { readonly write: (text: string) => void } | false | undefined
}

const render = (issue: BundleIssue, color: boolean): string => {
  if (!color) return formatIssue(issue)
  const c = paint(true)
  const code = c(issue.severity === "error" ? "31;1" : "33;1", issue.code)
  const head = `${c("2", location(issue))}  ${code}  ${issue.message}`
  return issue.suggestion === undefined ? head : `${head}\n    ${c("36", "suggestion:")} ${issue.suggestion}`
}

/**
 * Validates the bundle in `dir` and prints the result; fails with {@link CliExit} (status 1) when the
 * bundle has errors.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Validate } from "effect-swarm/cli/Validate"
 * Validate.validate("examples/bundles/minimal", { json: false }).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const validate = Effect.fn("Validate.validate")(function*(dir: string, options: ValidateOptions) {
  const color = options.json ? false : options.color ?? (yield* detectColor)
  const sink = options.json || options.progress === false
    ? undefined
    : options.progress ?? (yield* terminalStderr)
  const progress = sink === undefined ? undefined : statusLine(sink)
  if (progress !== undefined) yield* progress.show(`validating ${dir}…`)
  const result = yield* Bundle.load(dir).pipe(
    Effect.either,
    Effect.ensuring(progress === undefined ? Effect.void : progress.clear)
  )
  const issues = result._tag === "Left" ? result.left.issues : result.right.warnings
  const errors = issues.filter((i) => i.severity === "error").length
  const warnings = issues.length - errors
  if (options.json) {
    yield* Console.log(JSON.stringify(issues, null, 2))
  } else {
    for (const issue of issues) yield* Console.log(render(issue, color))
    if (result._tag === "Right") {
      const bundle = result.right
      const local = bundle.entries.filter((e) => !e.dependency).length
      const deps = bundle.dependencies.length
      yield* Console.log(
        paint(color)("32", "ok") +
          ` ${dir}: ${local} resource${local === 1 ? "" : "s"} in ${bundle.files.length - deps} file${
            bundle.files.length - deps === 1 ? "" : "s"
          }` +
          (deps > 0 ? `, ${deps} package${deps === 1 ? "" : "s"}` : "") +
          (warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : "")
      )
    } else {
      yield* Console.log(
        paint(color)("31;1", "failed") +
          ` ${dir}: ${errors} error${errors === 1 ? "" : "s"}` +
          (warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : "")
      )
    }
  }
  if (errors > 0) return yield* new CliExit({ code: 1 })
})
