/**
 * The part of semver that package dependencies need: versions with pre-releases, comparison, and npm
 * ranges (`1.2.3`, `=`, `>`, `>=`, `<`, `<=`, `^`, `~`, `x`/`*` wildcards, hyphen ranges, space = AND,
 * `||` = OR), with npm's pre-release rule: a pre-release only satisfies a comparator set that names
 * the same `major.minor.patch` with a pre-release.
 *
 * @internal
 */

/** @internal */
export interface Version {
  readonly major: number
  readonly minor: number
  readonly patch: number
  readonly prerelease: ReadonlyArray<string | number>
}

const versionRe = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

/** @internal */
export const parse = (s: string): Version | undefined => {
  const m = versionRe.exec(s.trim())
  if (m === null) return undefined
  const prerelease = m[4] === undefined ?
    [] :
    m[4].split(".").map((p) => (/^(0|[1-9]\d*)$/.test(p) ? Number(p) : p))
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease }
}

/** @internal */
export const format = (v: Version): string =>
  `${v.major}.${v.minor}.${v.patch}${v.prerelease.length > 0 ? `-${v.prerelease.join(".")}` : ""}`

/** @internal */
export const compare = (a: Version, b: Version): number => {
  if (a.major !== b.major) return a.major - b.major
  if (a.minor !== b.minor) return a.minor - b.minor
  if (a.patch !== b.patch) return a.patch - b.patch
  const ap = a.prerelease
  const bp = b.prerelease
  if (ap.length === 0 || bp.length === 0) return bp.length - ap.length
  for (let i = 0; i < Math.max(ap.length, bp.length); i++) {
    const x = ap[i]
    const y = bp[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    if (x === y) continue
    if (typeof x === "number" && typeof y === "number") return x - y
    if (typeof x === "number") return -1
    if (typeof y === "number") return 1
    return x < y ? -1 : 1
  }
  return 0
}

type Op = "<" | "<=" | ">" | ">=" | "="
interface Comparator {
  readonly op: Op
  readonly version: Version
}
type ComparatorSet = ReadonlyArray<Comparator>

const v = (major: number, minor: number, patch: number, prerelease: ReadonlyArray<string | number> = []): Version => ({
  major,
  minor,
  patch,
  prerelease
})

const partialRe = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

interface Partial {
  readonly major: number | undefined
  readonly minor: number | undefined
  readonly patch: number | undefined
  readonly prerelease: ReadonlyArray<string | number>
}

const parsePartial = (s: string): Partial | undefined => {
  const m = partialRe.exec(s)
  if (m === null) return undefined
  const num = (x: string | undefined) => (x === undefined || /^[xX*]$/.test(x) ? undefined : Number(x))
  const major = num(m[1])
  const minor = major === undefined ? undefined : num(m[2])
  const patch = minor === undefined ? undefined : num(m[3])
  const prerelease = m[4] === undefined || patch === undefined ?
    [] :
    m[4].split(".").map((p) => (/^(0|[1-9]\d*)$/.test(p) ? Number(p) : p))
  return { major, minor, patch, prerelease }
}

const comparatorsOf = (token: string): ReadonlyArray<Comparator> | undefined => {
  const m = /^(<=|>=|<|>|=|\^|~>?)?\s*(.*)$/.exec(token)
  if (m === null) return undefined
  const op = m[1] ?? ""
  const p = parsePartial(m[2]!)
  if (p === undefined) return undefined
  const { major, minor, patch, prerelease } = p
  if (major === undefined) return op === "<" || op === ">" ? [{ op: "<", version: v(0, 0, 0, [0]) }] : []
  const lower = v(major, minor ?? 0, patch ?? 0, prerelease)
  switch (op) {
    case "":
    case "=":
      if (patch !== undefined) return [{ op: "=", version: lower }]
      return minor === undefined ?
        [{ op: ">=", version: lower }, { op: "<", version: v(major + 1, 0, 0, [0]) }] :
        [{ op: ">=", version: lower }, { op: "<", version: v(major, minor + 1, 0, [0]) }]
    case ">":
      if (patch !== undefined) return [{ op: ">", version: lower }]
      return minor === undefined ?
        [{ op: ">=", version: v(major + 1, 0, 0) }] :
        [{ op: ">=", version: v(major, minor + 1, 0) }]
    case ">=":
      return [{ op: ">=", version: lower }]
    case "<":
      return [{ op: "<", version: patch === undefined ? v(major, minor ?? 0, 0, [0]) : lower }]
    case "<=":
      if (patch !== undefined) return [{ op: "<=", version: lower }]
      return minor === undefined ?
        [{ op: "<", version: v(major + 1, 0, 0, [0]) }] :
        [{ op: "<", version: v(major, minor + 1, 0, [0]) }]
    case "~":
    case "~>":
      return [
        { op: ">=", version: lower },
        { op: "<", version: minor === undefined ? v(major + 1, 0, 0, [0]) : v(major, minor + 1, 0, [0]) }
      ]
    case "^": {
      const upper = major > 0 || minor === undefined ?
        v(major + 1, 0, 0, [0]) :
        minor > 0 || patch === undefined ?
        v(0, minor + 1, 0, [0]) :
        v(0, 0, patch + 1, [0])
      return [{ op: ">=", version: lower }, { op: "<", version: upper }]
    }
    default:
      return undefined
  }
}

/** @internal Parses a range; `undefined` when it is not a valid range. */
export const parseRange = (range: string): ReadonlyArray<ComparatorSet> | undefined => {
  const sets: Array<ComparatorSet> = []
  for (const alternative of range.split("||")) {
    const text = alternative.trim().replace(/(<=|>=|<|>|=|\^|~>?)\s+/g, "$1")
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text)
    if (hyphen !== null) {
      const from = comparatorsOf(`>=${hyphen[1]}`)
      const to = comparatorsOf(`<=${hyphen[2]}`)
      if (from === undefined || to === undefined) return undefined
      sets.push([...from, ...to])
      continue
    }
    const set: Array<Comparator> = []
    for (const token of text.length === 0 ? ["*"] : text.split(/\s+/)) {
      const cs = comparatorsOf(token)
      if (cs === undefined) return undefined
      set.push(...cs)
    }
    sets.push(set)
  }
  return sets
}

const test = (c: Comparator, version: Version): boolean => {
  const r = compare(version, c.version)
  switch (c.op) {
    case "<":
      return r < 0
    case "<=":
      return r <= 0
    case ">":
      return r > 0
    case ">=":
      return r >= 0
    case "=":
      return r === 0
  }
}

const allows = (set: ComparatorSet, version: Version): boolean => {
  for (const c of set) if (!test(c, version)) return false
  if (version.prerelease.length === 0) return true
  // npm: a pre-release needs a comparator with the same tuple that is itself a pre-release.
  return set.some((c) =>
    c.version.prerelease.length > 0 && !(c.version.prerelease.length === 1 && c.version.prerelease[0] === 0 &&
      c.op === "<") &&
    c.version.major === version.major && c.version.minor === version.minor && c.version.patch === version.patch
  )
}

/** @internal */
export const satisfies = (version: Version, range: ReadonlyArray<ComparatorSet>): boolean =>
  range.some((set) => allows(set, version))
