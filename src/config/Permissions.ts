/**
 * Runtime-neutral permission flags (`--allow-read`, `--allow-net=api.example.com`, ...): parsing,
 * normalisation and the merged grant view the sandbox enforces.
 *
 * The syntax is Deno's, which the seed also used for Bun: `--allow-<kind>` grants the whole kind and
 * `--allow-<kind>=a,b` grants only the listed paths, hosts, variables or programs.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type PermissionKind = "read" | "write" | "net" | "env" | "run" | "all"

/**
 * The permission kinds, in the order they are documented.
 *
 * @since 0.1.0
 * @category constants
 */
export const kinds: ReadonlyArray<PermissionKind> = ["read", "write", "net", "env", "run", "all"]

/**
 * One parsed permission. `scope` is `undefined` when the whole kind is granted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Permission {
  readonly kind: PermissionKind
  readonly scope: ReadonlyArray<string> | undefined
}

const flagToKind: Record<string, PermissionKind | undefined> = {
  "--allow-read": "read",
  "--allow-write": "write",
  "--allow-net": "net",
  "--allow-env": "env",
  "--allow-run": "run",
  "--allow-all": "all"
}

/**
 * Parses one entry, tolerating surrounding whitespace and upper-case flag names. Returns `undefined`
 * for anything that is not a valid permission (so callers can report the entry).
 *
 * @example
 * ```ts
 * import { parse } from "effect-swarm/config/Permissions"
 * parse(" --ALLOW-NET= a.com , b.com ") // { kind: "net", scope: ["a.com", "b.com"] }
 * parse("--preload=x.ts")               // undefined
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (entry: string): Permission | undefined => {
  const trimmed = entry.trim()
  const eq = trimmed.indexOf("=")
  const flag = (eq === -1 ? trimmed : trimmed.slice(0, eq)).toLowerCase()
  const kind = Object.hasOwn(flagToKind, flag) ? flagToKind[flag] : undefined
  if (kind === undefined) return undefined
  if (eq === -1) return { kind, scope: undefined }
  if (kind === "all") return undefined
  const items = trimmed.slice(eq + 1).split(",")
  const scope: Array<string> = []
  for (const raw of items) {
    const item = raw.trim()
    if (item.length === 0 || /[\0\n\r]/.test(item)) return undefined
    if (!scope.includes(item)) scope.push(item)
  }
  return { kind, scope }
}

/**
 * Renders a permission in its normal form: lower-case flag, trimmed de-duplicated scope.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (permission: Permission): string =>
  permission.scope === undefined
    ? `--allow-${permission.kind}`
    : `--allow-${permission.kind}=${permission.scope.join(",")}`

/**
 * Normalises one entry (`undefined` when invalid).
 *
 * @since 0.1.0
 * @category parsing
 */
export const normalizeEntry = (entry: string): string | undefined => {
  const parsed = parse(entry)
  return parsed === undefined ? undefined : format(parsed)
}

/**
 * The message used for an invalid entry, shared by every validator so they agree word for word.
 *
 * @since 0.1.0
 * @category formatting
 */
export const invalidEntryMessage = (field: string, entry: string): string =>
  `${field} entry ${JSON.stringify(entry)} is not a valid permission; use one of --allow-read, --allow-write, ` +
  `--allow-net, --allow-env, --allow-run, --allow-all, optionally with =<comma list> (e.g. --allow-net=api.example.com)`

/**
 * What a list of permissions grants, per kind: `"all"`, `"none"`, or the granted scope.
 * `--allow-all` grants every kind.
 *
 * @since 0.1.0
 * @category models
 */
export interface Grants {
  readonly read: Grant
  readonly write: Grant
  readonly net: Grant
  readonly env: Grant
  readonly run: Grant
}

/**
 * @since 0.1.0
 * @category models
 */
export type Grant = "all" | "none" | ReadonlyArray<string>

/**
 * Merges normalised entries into {@link Grants}. Invalid entries are ignored here: validation happens
 * when the config is built.
 *
 * @example
 * ```ts
 * import { grants } from "effect-swarm/config/Permissions"
 * grants(["--allow-read=/data", "--allow-net"]) // { read: ["/data"], net: "all", write: "none", ... }
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const grants = (entries: ReadonlyArray<string>): Grants => {
  const out: Record<Exclude<PermissionKind, "all">, Grant> = {
    read: "none",
    write: "none",
    net: "none",
    env: "none",
    run: "none"
  }
  for (const entry of entries) {
    const parsed = parse(entry)
    if (parsed === undefined) continue
    const targets = parsed.kind === "all" ? (["read", "write", "net", "env", "run"] as const) : [parsed.kind]
    for (const kind of targets) {
      const current = out[kind]
      if (current === "all") continue
      if (parsed.scope === undefined) out[kind] = "all"
      else out[kind] = current === "none" ? [...parsed.scope] : [...new Set([...current, ...parsed.scope])]
    }
  }
  return out
}
