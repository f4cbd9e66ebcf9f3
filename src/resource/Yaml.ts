/**
 * Safe YAML 1.2 loading for bundles, through the `yaml` package: block scalars, flow collections,
 * anchors, comments and quoted keys all work, and the limits stop hostile input before it costs
 * memory: a file-size cap (checked before parsing), a documents-per-file cap (checked while the
 * documents stream out of the parser, so document 101 is never built) and an alias-expansion cap
 * (the `yaml` package's `maxAliasCount`, which stops billion-laughs files).
 *
 * Each document keeps the source text of plain scalars that YAML read as numbers (`version: 1.0`),
 * so a field that wants a string gets `"1.0"`, not `"1"`.
 *
 * @since 0.1.0
 */
import { Composer, isMap, isScalar, isSeq, LineCounter, Parser } from "yaml"
import type { Document as YamlDocument, Node as YamlNode } from "yaml"

/**
 * Parsing limits.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  /** Bytes per file (default 1 MiB). */
  readonly maxFileBytes: number
  /** Documents per file (default 100). */
  readonly maxDocuments: number
  /** Alias expansions per document, as the `yaml` package counts them (default 100). */
  readonly maxAliasCount: number
  /** Nesting depth of collections (default 128); deeper input is refused before it is parsed. */
  readonly maxDepth: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Limits = {
  maxFileBytes: 1024 * 1024,
  maxDocuments: 100,
  maxAliasCount: 100,
  maxDepth: 128
}

/**
 * One parsed document. `index` is its position in the file (0-based), `line` its first line
 * (1-based).
 *
 * @since 0.1.0
 * @category models
 */
export interface Document {
  readonly index: number
  readonly line: number
  readonly value: unknown
  /** Source text of numbers whose text differs from `String(value)`, keyed by {@link pathKey}. */
  readonly numberSources: ReadonlyMap<string, string>
  /**
   * The 1-based line of the field at `path` (of its key, for a mapping entry), or of its deepest existing
   * parent when the field is missing; `line` for an empty path.
   */
  readonly lineAt: (path: ReadonlyArray<string | number>) => number
}

/**
 * The codes a YAML file can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type IssueCode =
  | "E_CONFIG_FILE_TOO_LARGE"
  | "E_CONFIG_TOO_MANY_DOCUMENTS"
  | "E_CONFIG_PARSE_ERROR"
  | "E_CONFIG_ALIAS_LIMIT"

/**
 * A problem with a file or one of its documents (`document` is `undefined` for the whole file).
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly code: IssueCode
  readonly severity: "error" | "warning"
  readonly document: number | undefined
  readonly line: number | undefined
  readonly message: string
  readonly suggestion?: string | undefined
}

/**
 * The result of parsing one file: the documents that parsed, and every issue.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parsed {
  readonly documents: ReadonlyArray<Document>
  readonly issues: ReadonlyArray<Issue>
}

/**
 * The key of a field path in {@link Document.numberSources}.
 *
 * @example
 * ```ts
 * import { Yaml } from "effect-swarm"
 * declare const doc: Yaml.Document
 * doc.numberSources.get(Yaml.pathKey(["spec", "version"])) // "1.0" for `version: 1.0`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const pathKey = (path: ReadonlyArray<string | number>): string => path.join("\u0000")

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Parses the bytes of a file: checks the size, decodes strict UTF-8 (binary files are refused), then
 * {@link parseText}.
 *
 * @example
 * ```ts
 * import { Yaml } from "effect-swarm"
 * const { documents, issues } = Yaml.parseBytes(new TextEncoder().encode("a: 1\n---\nb: [x, y]\n"))
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseBytes = (bytes: Uint8Array, limits: Limits = defaultLimits): Parsed => {
  if (bytes.byteLength > limits.maxFileBytes) return tooLarge(bytes.byteLength, limits)
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return fileIssue("E_CONFIG_PARSE_ERROR", "file is not UTF-8 text", "save the file as UTF-8 YAML")
  }
  return parseText(text, limits)
}

const tooLarge = (size: number, limits: Limits): Parsed =>
  fileIssue(
    "E_CONFIG_FILE_TOO_LARGE",
    `YAML file is ${size} bytes, over the limit of ${limits.maxFileBytes} bytes`,
    "split the resources over several files"
  )

const fileIssue = (code: IssueCode, message: string, suggestion?: string): Parsed => ({
  documents: [],
  issues: [{ code, severity: "error", document: undefined, line: undefined, message, suggestion }]
})

// A quote opens a quoted scalar only after a separator (so the apostrophe in "don't" does not).
const opensQuote = (text: string, i: number): boolean => {
  if (i === 0) return true
  const p = text.charCodeAt(i - 1)
  return p <= 32 || p === 58 || p === 91 || p === 123 || p === 44 || p === 45 || p === 63
}

// Flow and block nesting both count; quoted text and comments are skipped. This runs before the
// parser so a hostile `[[[[...` cannot exhaust its stack.
const maxNesting = (text: string): number => {
  let depth = 0
  let max = 0
  let indentDepth = 0
  let i = 0
  const n = text.length
  let lineStart = true
  while (i < n) {
    const c = text.charCodeAt(i)
    if (lineStart) {
      let j = i
      while (j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 45)) j++
      indentDepth = Math.floor((j - i) / 2)
      if (indentDepth > max) max = indentDepth
      lineStart = false
    }
    if (c === 10) {
      lineStart = true
    } else if (c === 35 && (i === 0 || text.charCodeAt(i - 1) <= 32)) {
      while (i < n && text.charCodeAt(i) !== 10) i++
      continue
    } else if ((c === 34 || c === 39) && opensQuote(text, i)) {
      const quote = c
      i++
      while (i < n && text.charCodeAt(i) !== quote) {
        if (quote === 34 && text.charCodeAt(i) === 92) i++
        i++
      }
    } else if (c === 91 || c === 123) {
      depth++
      if (depth + indentDepth > max) max = depth + indentDepth
    } else if ((c === 93 || c === 125) && depth > 0) {
      depth--
    }
    i++
  }
  return max
}

/**
 * Parses YAML text into documents under the limits. Each document fails on its own: a syntax error
 * in document 2 does not hide documents 0 and 1.
 *
 * @example
 * ```ts
 * import { Yaml } from "effect-swarm"
 * const { documents, issues } = Yaml.parseText("kind: Model\n---\nkind: Tool\n", { ...Yaml.defaultLimits, maxDocuments: 10 })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseText = (text: string, limits: Limits = defaultLimits): Parsed => {
  if (text.length > limits.maxFileBytes && Buffer.byteLength(text) > limits.maxFileBytes) {
    return tooLarge(Buffer.byteLength(text), limits)
  }
  if (text.indexOf("\u0000") !== -1) {
    return fileIssue("E_CONFIG_PARSE_ERROR", "file contains NUL characters: not a YAML text file")
  }
  if (maxNesting(text) > limits.maxDepth) {
    return fileIssue(
      "E_CONFIG_PARSE_ERROR",
      `YAML nesting is deeper than ${limits.maxDepth} levels`,
      "flatten the document"
    )
  }
  const lineCounter = new LineCounter()
  const parser = new Parser(lineCounter.addNewLine)
  const composer = new Composer({ stringKeys: true, uniqueKeys: true, prettyErrors: true, version: "1.2" })
  const documents: Array<Document> = []
  const issues: Array<Issue> = []
  let index = 0
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line
  try {
    for (const doc of composer.compose(parser.parse(text), true, text.length)) {
      if (index >= limits.maxDocuments) {
        issues.push({
          code: "E_CONFIG_TOO_MANY_DOCUMENTS",
          severity: "error",
          document: undefined,
          line: lineOf(doc.range[0]),
          message: `YAML file has more than ${limits.maxDocuments} documents`,
          suggestion: "split the resources over several files"
        })
        break
      }
      const parsed = toDocument(doc as YamlDocument.Parsed, index, limits, lineOf, issues)
      if (parsed !== undefined) documents.push(parsed)
      index++
    }
  } catch (cause) {
    issues.push({
      code: "E_CONFIG_PARSE_ERROR",
      severity: "error",
      document: index,
      line: undefined,
      message: `YAML could not be parsed: ${cause instanceof Error ? cause.message : String(cause)}`
    })
  }
  return { documents, issues }
}

const toDocument = (
  doc: YamlDocument.Parsed,
  index: number,
  limits: Limits,
  lineOf: (offset: number | undefined) => number | undefined,
  issues: Array<Issue>
): Document | undefined => {
  const line = lineOf(doc.contents?.range[0] ?? doc.range[0]) ?? 1
  for (const warning of doc.warnings) {
    issues.push({
      code: "E_CONFIG_PARSE_ERROR",
      severity: "warning",
      document: index,
      line: lineOf(warning.pos[0]),
      message: `${firstLine(warning.message)} (line ${lineOf(warning.pos[0])})`
    })
  }
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      issues.push({
        code: "E_CONFIG_PARSE_ERROR",
        severity: "error",
        document: index,
        line: lineOf(error.pos[0]),
        message: `${firstLine(error.message)} (line ${lineOf(error.pos[0])})`
      })
    }
    return undefined
  }
  if (doc.contents === null) return undefined
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: limits.maxAliasCount })
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    const alias = /alias/i.test(message)
    issues.push({
      code: alias ? "E_CONFIG_ALIAS_LIMIT" : "E_CONFIG_PARSE_ERROR",
      severity: "error",
      document: index,
      line,
      message: alias ?
        `YAML aliases expand beyond the limit of ${limits.maxAliasCount} (a "billion laughs" document?)` :
        firstLine(message),
      suggestion: alias ? "repeat the values instead of nesting aliases" : undefined
    })
    return undefined
  }
  if (value === null || value === undefined) return undefined
  const numberSources = new Map<string, string>()
  collectNumberSources(doc.contents, [], numberSources, 0)
  const contents = doc.contents
  const lineAt = (path: ReadonlyArray<string | number>): number => {
    let node: unknown = contents
    let at = line
    for (const segment of path) {
      let next: unknown
      let start: number | undefined
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment))
        if (pair === undefined) break
        next = pair.value
        start = (pair.key as YamlNode).range?.[0]
      } else if (isSeq(node) && typeof segment === "number") {
        next = node.items[segment]
        start = (next as YamlNode | undefined)?.range?.[0]
      } else {
        break
      }
      at = lineOf(start) ?? at
      node = next
    }
    return at
  }
  return { index, line, value, numberSources, lineAt }
}

const firstLine = (message: string): string => {
  const nl = message.indexOf("\n")
  return nl === -1 ? message : message.slice(0, nl)
}

const collectNumberSources = (
  node: YamlNode | null | undefined,
  path: Array<string | number>,
  out: Map<string, string>,
  depth: number
): void => {
  if (node === null || node === undefined || depth > 128) return
  if (isScalar(node)) {
    if (typeof node.value === "number" && typeof node.source === "string" && node.source !== String(node.value)) {
      out.set(pathKey(path), node.source)
    }
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue
      path.push(String(pair.key.value))
      collectNumberSources(pair.value as YamlNode | null, path, out, depth + 1)
      path.pop()
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      path.push(i)
      collectNumberSources(node.items[i] as YamlNode | null, path, out, depth + 1)
      path.pop()
    }
  }
}
