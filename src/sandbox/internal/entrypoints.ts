/**
 * What a runtime makes of an entrypoint's path: TypeScript support per runtime and version, and the
 * paths Bun cannot import (re-exported by `Limits`).
 *
 * @internal
 */
import * as path from "node:path"
import type * as RuntimeConfig from "../../config/RuntimeConfig.js"
import { parseVersion } from "./version.js"

/**
 * True when an entrypoint is TypeScript (`.ts`, `.mts`, `.cts`): Bun and Deno run it as is, Node only
 * from 22.6 (behind `--experimental-strip-types` before 23.6).
 *
 * @example
 * ```ts
 * import { isTypeScriptEntry } from "effect-swarm/sandbox/Limits"
 * isTypeScriptEntry("/tools/notes.ts")  // true
 * isTypeScriptEntry("/tools/notes.mjs") // false
 * ```
 *
 * @since 0.1.0
 * @category typescript
 */
export const isTypeScriptEntry = (entrypoint: string): boolean => /\.[mc]?ts$/i.test(entrypoint)

/**
 * How a runtime at a given version runs a TypeScript entrypoint: natively, with extra flags, or not at
 * all (and why).
 *
 * @since 0.1.0
 * @category typescript
 */
export type TypeScriptSupport =
  | { readonly _tag: "Native" }
  | { readonly _tag: "Flags"; readonly flags: ReadonlyArray<string> }
  | { readonly _tag: "Unsupported"; readonly reason: string; readonly suggestion: string }

/**
 * Whether `runtimeType` at `version` can import a TypeScript entrypoint. Bun and Deno always can. Node
 * strips types natively from 23.6, with `--experimental-strip-types` from 22.6 (the flag is passed on
 * 22.6-23.5, where it is harmless even when a later 22.x enables stripping by default), and not at all
 * before 22.6: the sandbox cannot add a loader (`--import` is refused in `nodeOptions`, and loader
 * hooks need worker threads that the permission model forbids).
 *
 * @example
 * ```ts
 * import { typeScriptSupport } from "effect-swarm/sandbox/Limits"
 * typeScriptSupport("node", "20.20.2")._tag // "Unsupported"
 * typeScriptSupport("node", "22.12.0")      // { _tag: "Flags", flags: ["--experimental-strip-types"] }
 * typeScriptSupport("node", "24.1.0")._tag  // "Native"
 * typeScriptSupport("deno", "2.9.6")._tag   // "Native"
 * ```
 *
 * @since 0.1.0
 * @category typescript
 */
export const typeScriptSupport = (runtimeType: RuntimeConfig.RuntimeType, version: string): TypeScriptSupport => {
  if (runtimeType !== "node") return { _tag: "Native" }
  const [major, minor] = parseVersion(version)
  if (major > 23 || (major === 23 && minor >= 6)) return { _tag: "Native" }
  if (major === 23 || (major === 22 && minor >= 6)) return { _tag: "Flags", flags: ["--experimental-strip-types"] }
  return {
    _tag: "Unsupported",
    reason: `Node ${version} cannot import TypeScript (type stripping needs Node 22.6 or later)`,
    suggestion: "use runtime type bun or deno, which run TypeScript as is, compile the entry to JavaScript " +
      "(.js or .mjs), or run on Node 22.6 or later"
  }
}

/**
 * Bun 1.4 cannot import a module whose path contains `?`: it reads the `?` as the start of a query,
 * with a file URL (`%3F`), a plain path or `require` alike, and again after resolving a symlink. This
 * returns the deepest prefix of `entrypoint` whose last name contains `?` (usually a directory; the
 * entry itself when only its file name has one), or `undefined` when the path is safe. The runtime
 * imports such an entry through a symlink to that prefix in its private directory, with
 * `--preserve-symlinks`, so everything below it (sibling modules, subdirectories, a `node_modules`
 * inside it) resolves as usual; relative imports that climb above it and packages installed above it
 * do not. `#` needs nothing: Bun handles it.
 *
 * @example
 * ```ts
 * import { bunUnsafeDirectory } from "effect-swarm/sandbox/Limits"
 * bunUnsafeDirectory("/work/a?b/tools?v=2/lib/main.mjs") // "/work/a?b/tools?v=2"
 * bunUnsafeDirectory("/work/tools #1/main.mjs")          // undefined
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const bunUnsafeDirectory = (entrypoint: string): string | undefined => {
  const parts = entrypoint.split(path.sep)
  const index = parts.findLastIndex((part) => part.includes("?"))
  return index === -1 ? undefined : parts.slice(0, index + 1).join(path.sep)
}
