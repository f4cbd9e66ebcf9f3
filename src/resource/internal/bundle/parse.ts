/**
 * Reading a YAML file (with limits) and decoding each document into a resource.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { BundleIssue } from "../../BundleError.js"
import * as Resource from "../../Resource.js"
import * as Yaml from "../../Yaml.js"
import * as IssueMessage from "../issueMessage.js"
import { type Context, type Loaded, makeReport, type Report } from "./types.js"

/**
 * The documents of one YAML file, within the limits.
 *
 * @since 0.1.0
 */
export const readYaml = (ctx: Context, filePath: string, display: string, report: Report) =>
  Effect.gen(function*() {
    const { fs } = ctx
    const info = yield* fs.stat(filePath).pipe(Effect.option)
    if (Option.isNone(info) || info.value.type !== "File") {
      report("E_CONFIG_PARSE_ERROR", display, undefined, "", `${display} is not a readable file`)
      return [] as ReadonlyArray<Yaml.Document>
    }
    const size = Number(info.value.size)
    if (size > ctx.limits.maxFileBytes) {
      report(
        "E_CONFIG_FILE_TOO_LARGE",
        display,
        undefined,
        "",
        `YAML file is ${size} bytes, over the limit of ${ctx.limits.maxFileBytes} bytes`,
        { suggestion: "split the resources over several files" }
      )
      return []
    }
    const bytes = yield* fs.readFile(filePath).pipe(Effect.either)
    if (Either.isLeft(bytes)) {
      report("E_CONFIG_PARSE_ERROR", display, undefined, "", `${display} could not be read: ${bytes.left.message}`)
      return []
    }
    const parsed = Yaml.parseBytes(bytes.right, ctx.limits)
    for (const issue of parsed.issues) {
      report(issue.code, display, issue.document, "", issue.message, {
        suggestion: issue.suggestion,
        severity: issue.severity,
        ...(issue.line === undefined ? {} : { line: issue.line })
      })
    }
    return parsed.documents
  })

/**
 * The resources of one file, their issues, and the names of the invalid ones.
 *
 * @since 0.1.0
 */
export const loadFile = (
  ctx: Context,
  filePath: string,
  display: string,
  dependency: string | undefined,
  rootDir: string
) =>
  Effect.gen(function*() {
    const issues: Array<BundleIssue> = []
    const report = makeReport(issues)
    const documents = yield* readYaml(ctx, filePath, display, report)
    for (const doc of documents) ctx.lines.set(`${display}#${doc.index}`, doc.lineAt)
    const loaded: Array<Loaded> = []
    // Resources that exist but failed validation: references to them are not "not found".
    const invalid: Array<{ readonly kind: Resource.Kind; readonly name: string }> = []
    for (const doc of documents) {
      const decoded = Resource.decode(doc.value, doc.numberSources)
      if (Either.isLeft(decoded)) {
        const raw = doc.value
        if (IssueMessage.isRecord(raw) && Resource.isKind(raw.kind) && IssueMessage.isRecord(raw.metadata)) {
          const name = raw.metadata.name
          if (typeof name === "string") invalid.push({ kind: raw.kind, name })
        }
        for (const issue of decoded.left) {
          report(issue.code, display, doc.index, issue.path, issue.message, {
            suggestion: issue.suggestion,
            line: doc.lineAt(issue.path)
          })
        }
        continue
      }
      loaded.push({
        resource: decoded.right,
        file: display,
        filePath,
        document: doc.index,
        line: doc.line,
        scope: dependency,
        dependency: dependency !== undefined,
        rootDir
      })
    }
    return { loaded, issues, invalid }
  })
