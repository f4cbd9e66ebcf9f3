/**
 * In-process entry modules (a Tool without `spec.runtime`, an Extension, a Connector module) imported at
 * their content version, so that an edited entry is imported again and an unchanged one never is.
 *
 * Node keeps every ES module it imported, by URL, for the life of the process: `import(file)` after an
 * edit returns the first version. {@link load} imports `file:///…/entry.ts?version=<hash>`, the hash being the
 * first 16 hex digits of the SHA-256 of the file's content: the same content is the same URL (Node's cache
 * answers, the module is not evaluated again), an edited file is a new URL (evaluated once, its new code
 * runs). A CommonJS entry (a `.cjs`, a `.js` outside a `"type": "module"` package, a `.ts` there under tsx)
 * lives in `require.cache` by path, not by URL: its entry there is dropped when the content changed since
 * this process last imported it. `?version=` rather than `?v=`: vitest's module runner drops `v` and `t`.
 *
 * Limits, as they are:
 * - A plain `import(file)` of the same entry elsewhere (a test reading a tool module's state) is another
 *   module instance than the one loaded here: use {@link load} to get the same one.
 * - Only the entry file is versioned: a module it imports (`./helper.ts`, a package) stays as first imported.
 * - Node never frees a module it imported by URL: every edited version of an entry stays in memory until
 *   the process exits (one module instance per distinct content; unchanged files add nothing). A long
 *   `run --watch` session that edits a tool many times grows by one copy of that module per saved edit.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

/**
 * What {@link load} imported.
 *
 * @since 0.1.0
 * @category models
 */
export interface Imported {
  /** The module namespace. */
  readonly module: unknown
  /** The content version imported (16 hex digits), or `undefined` when the file could not be read first. */
  readonly version: string | undefined
  /** The URL imported. */
  readonly url: string
}

/**
 * The entry module could not be imported (missing file, syntax error, a throw at its top level). `reason`
 * is the importer's own message.
 *
 * @since 0.1.0
 * @category errors
 */
export class EntryImportError extends Schema.TaggedError<EntryImportError>("effect-swarm/EntryImportError")(
  "EntryImportError",
  {
    /** The entry module, absolute. */
    file: Schema.String,
    reason: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `cannot import ${this.file}: ${this.reason}`
  }
}

/**
 * The content version of a module source: the first 16 hex digits of its SHA-256.
 *
 * @example
 * ```ts
 * import { EntryModule } from "effect-swarm"
 * EntryModule.versionOf("export const a = 1\n") // "…16 hex digits…"
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const versionOf = (source: string | Uint8Array): string =>
  createHash("sha256").update(source).digest("hex").slice(0, 16)

/**
 * The URL {@link load} imports for `file` at `version`.
 *
 * @example
 * ```ts
 * import { EntryModule } from "effect-swarm"
 * EntryModule.urlOf("/abs/tools/clock.ts", "0123456789abcdef") // "file:///abs/tools/clock.ts?version=0123456789abcdef"
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const urlOf = (file: string, version: string | undefined): string => {
  const url = pathToFileURL(path.resolve(file)).href
  return version === undefined ? url : `${url}?version=${version}`
}

/**
 * The content version of a file (see {@link versionOf}), or `undefined` when it cannot be read.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EntryModule } from "effect-swarm"
 * const changed = Effect.map(EntryModule.versionOfFile("/abs/tools/clock.ts"), (v) => v !== "0123456789abcdef")
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const versionOfFile = (file: string): Effect.Effect<string | undefined> =>
  Effect.promise(() => readFile(path.resolve(file)).then(versionOf, () => undefined))

/** The version of each file this process last imported (to drop a CommonJS entry's stale cache entry). */
const lastImported = new Map<string, string>()

const messageOf = (u: unknown): string => u instanceof Error ? u.message : String(u)

/**
 * Imports `file` at its current content version (see the module documentation): an unchanged file is the
 * module already imported, an edited one its new code.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EntryModule } from "effect-swarm"
 * const program = Effect.map(EntryModule.load("/abs/tools/clock.ts"), (imported) => imported.module)
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const load = (file: string): Effect.Effect<Imported, EntryImportError> =>
  Effect.tryPromise({
    try: async () => {
      const absolute = path.resolve(file)
      // Unreadable: import the plain URL, so that the error is the importer's own ("Cannot find module").
      const version = await readFile(absolute).then(versionOf, () => undefined)
      const url = urlOf(absolute, version)
      if (version !== undefined) {
        const previous = lastImported.get(absolute)
        if (previous !== undefined && previous !== version) delete createRequire(absolute).cache[absolute]
      }
      const module: unknown = await import(url)
      if (version !== undefined) lastImported.set(absolute, version)
      return { module, version, url }
    },
    catch: (cause) => new EntryImportError({ file: path.resolve(file), reason: messageOf(cause), cause })
  })
