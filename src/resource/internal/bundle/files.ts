/**
 * Files referenced by resources: entries, system prompts and model scripts exist and stay inside their root;
 * script files are read and validated.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Resource from "../../Resource.js"
import { readYaml } from "./parse.js"
import { within } from "./scan.js"
import type { Context, Loaded, Report } from "./types.js"

const entryCandidates = (entry: string): Array<string> => {
  const rel = entry.replace(/^\.\//, "")
  if (!rel.endsWith(".ts")) return [rel]
  const base = rel.slice(0, -3)
  return [...(rel.startsWith("src/") ? [`dist/${base}.js`] : []), `${base}.js`, rel]
}

/**
 * The absolute file an `entry`, `systemRef` or Model `script` points at, or an issue.
 *
 * @since 0.1.0
 */
export const checkFile = (
  ctx: Context,
  entry: Loaded,
  field: "entry" | "systemRef" | "script",
  relPath: string,
  realRoots: Map<string, string>,
  report: Report
) =>
  Effect.gen(function*() {
    const { fs, path } = ctx
    const candidates = field === "entry" ? entryCandidates(relPath) : [relPath.replace(/^\.\//, "")]
    const where = field === "systemRef" ? ["spec", "prompt", "systemRef"] : ["spec", field]
    const label = `${entry.resource.kind}/${entry.resource.metadata.name}`
    let realRoot = realRoots.get(entry.rootDir)
    if (realRoot === undefined) {
      realRoot = yield* fs.realPath(entry.rootDir).pipe(Effect.orElseSucceed(() => entry.rootDir))
      realRoots.set(entry.rootDir, realRoot)
    }
    for (const candidate of candidates) {
      const abs = path.join(entry.rootDir, candidate)
      const info = yield* fs.stat(abs).pipe(Effect.option)
      if (Option.isNone(info) || info.value.type !== "File") continue
      const real = yield* fs.realPath(abs).pipe(Effect.orElseSucceed(() => abs))
      if (!within(path, realRoot, real)) {
        report(
          "E_CONFIG_ENTRY_OUTSIDE_ROOT",
          entry.file,
          entry.document,
          where,
          `${label} ${field} ${candidate} resolves through a symlink to ${real}, outside ${
            entry.dependency ? "the package root" : "the bundle root"
          }`,
          { suggestion: "copy the file into the bundle instead of linking it" }
        )
        return undefined
      }
      return abs
    }
    report(
      "E_CONFIG_ENTRY_NOT_FOUND",
      entry.file,
      entry.document,
      where,
      `${label} ${field} file not found: ${candidates.join(", ")}`,
      { suggestion: `create ${candidates[candidates.length - 1]} relative to ${entry.rootDir}` }
    )
    return undefined
  })

// Node strips TypeScript types from 22.6 (behind a flag until 23.6, which the sandbox passes); before
// that the sandbox refuses a `.ts` entry when it is called (EntrypointUnsupported). The Node that runs
// the tools is normally the one running this loader, so its version decides; under Bun it is unknown.
const hostNodeStripsTypes = (): boolean => {
  if (process.versions.bun !== undefined) return true
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
  return major > 22 || (major === 22 && minor >= 6)
}

/**
 * Warns when a node-sandboxed tool has a TypeScript entry this Node cannot import.
 *
 * @since 0.1.0
 */
export const checkNodeTypeScript = (entry: Loaded, tool: Resource.ToolResource, report: Report): void => {
  if (tool.spec.runtime?.type !== "node" || !/\.[mc]?ts$/i.test(tool.spec.entry) || hostNodeStripsTypes()) return
  report(
    "E_CONFIG_ENTRY_UNSUPPORTED",
    entry.file,
    entry.document,
    ["spec", "entry"],
    `Tool/${tool.metadata.name} runs on node but its entry ${tool.spec.entry} is TypeScript, which Node ${process.versions.node} cannot import (type stripping needs Node 22.6 or later): its calls will fail with EntrypointUnsupported`,
    {
      severity: "warning",
      suggestion: "use runtime type bun or deno (they run TypeScript as is), point entry at compiled JavaScript " +
        "(.js or .mjs), or run on Node 22.6 or later"
    }
  )
}

/**
 * The steps of a Model's script: the inline ones, or those of its script file (checked like an
 * entry: it exists and stays inside the root), read and validated with issues naming that file.
 *
 * @since 0.1.0
 */
export const loadScript = (
  ctx: Context,
  entry: Loaded,
  model: Resource.ModelResource,
  realRoots: Map<string, string>,
  report: Report
) =>
  Effect.gen(function*() {
    const script = model.spec.script
    if (script === undefined) return { script: undefined, scriptFile: undefined, display: undefined }
    if (typeof script !== "string") return { script, scriptFile: undefined, display: undefined }
    const scriptFile = yield* checkFile(ctx, entry, "script", script, realRoots, report)
    if (scriptFile === undefined) return { script: undefined, scriptFile: undefined, display: undefined }
    const rel = script.replace(/^\.\//, "")
    const display = entry.dependency && entry.scope !== undefined ? `${entry.scope}/${rel}` : rel
    let reported = 0
    const documents = yield* readYaml(ctx, scriptFile, display, (...args) => {
      reported++
      report(...args)
    })
    if (documents.length !== 1) {
      if (documents.length === 0 && reported === 0) {
        report(
          "E_CONFIG_SCHEMA_INVALID",
          display,
          undefined,
          "",
          `the script of Model/${model.metadata.name} is empty: ${display} has no steps`,
          { suggestion: `list the steps, e.g. - { text: "Hello" }` }
        )
      } else if (documents.length > 1) {
        report(
          "E_CONFIG_SCHEMA_INVALID",
          display,
          1,
          "",
          `the script of Model/${model.metadata.name} must be one document, a list of steps; ${display} has ${documents.length}`,
          { suggestion: "remove the --- separators and list every step in one sequence" }
        )
      }
      return { script: undefined, scriptFile, display }
    }
    const doc = documents[0]!
    const decoded = Resource.decodeScript(doc.value)
    if (Either.isLeft(decoded)) {
      for (const issue of decoded.left) {
        report(issue.code, display, doc.index, issue.path, issue.message, {
          suggestion: issue.suggestion,
          line: doc.lineAt(issue.path)
        })
      }
      return { script: undefined, scriptFile, display }
    }
    return { script: decoded.right, scriptFile, display }
  })
