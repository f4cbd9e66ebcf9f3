/**
 * Schema failures carry an error code and a suggestion inside their message, so any filter or
 * transformation can say precisely what a bundle author should do; the bundle validator splits them.
 *
 * @internal
 */

/** @internal */
export interface IssueParts {
  readonly code: string | undefined
  readonly message: string
  readonly suggestion: string | undefined
}

const CODE = "\u0000"
const SUGGESTION = "\u0001"

/** @internal */
export const encode = (message: string, options?: {
  readonly code?: string | undefined
  readonly suggestion?: string | undefined
}): string =>
  `${options?.code === undefined ? "" : `${CODE}${options.code}${CODE}`}${message}${
    options?.suggestion === undefined ? "" : `${SUGGESTION}${options.suggestion}`
  }`

/** @internal */
export const decode = (raw: string): IssueParts => {
  let code: string | undefined
  let rest = raw
  if (rest.startsWith(CODE)) {
    const end = rest.indexOf(CODE, 1)
    code = rest.slice(1, end)
    rest = rest.slice(end + 1)
  }
  const sep = rest.indexOf(SUGGESTION)
  return sep === -1 ?
    { code, message: rest, suggestion: undefined } :
    { code, message: rest.slice(0, sep), suggestion: rest.slice(sep + 1) }
}

/** @internal */
export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** @internal A short JSON rendering of a value for messages. */
export const show = (u: unknown): string => {
  if (u === undefined) return "nothing"
  let json: string | undefined
  try {
    json = JSON.stringify(u)
  } catch {
    json = undefined
  }
  if (json === undefined) return String(u)
  return json.length > 80 ? json.slice(0, 77) + "..." : json
}

/** @internal Optimal string alignment distance, for "did you mean" suggestions. */
export const distance = (a: string, b: string): number => {
  const al = a.length
  const bl = b.length
  if (al === 0) return bl
  if (bl === 0) return al
  const d: Array<Array<number>> = []
  for (let i = 0; i <= al; i++) d.push([i, ...new Array<number>(bl).fill(0)])
  for (let j = 0; j <= bl; j++) d[0]![j] = j
  for (let i = 1; i <= al; i++) {
    for (let j = 1; j <= bl; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[al]![bl]!
}

/** @internal The closest candidate within a small edit distance (case-insensitive), if any. */
export const nearest = (word: string, candidates: Iterable<string>): string | undefined => {
  const w = word.toLowerCase()
  let best: string | undefined
  let bestScore = Infinity
  for (const candidate of candidates) {
    const c = candidate.toLowerCase()
    const score = c === w ? 0 : c.startsWith(w) || w.startsWith(c) ? 1 : distance(w, c)
    if (score < bestScore) {
      best = candidate
      bestScore = score
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3))
  return bestScore <= limit ? best : undefined
}

/** @internal The default code for failures under a schema annotated with it. */
export const CodeAnnotationId: unique symbol = Symbol.for("effect-swarm/resource/IssueCode")
