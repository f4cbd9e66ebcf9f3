/**
 * TypeScript entries (tools, extensions, connectors that run in-process) from the installed bin: Node 20
 * cannot import a `.ts` file, and the bin is plain JavaScript (no `tsx` in front of it). When a bundle has
 * such an entry and this Node does not strip types itself, the CLI registers `tsx`'s loaders
 * (`tsx/esm/api` and `tsx/cjs/api`; tsx is a dependency of this package) for the process before any entry is imported: the entry
 * and the TypeScript files it imports then load as they do under `tsx`. Sandboxed tools are not concerned:
 * they run in their own runtime (Bun and Deno run TypeScript; the sandbox handles Node).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Bundle from "../resource/Bundle.js"

/**
 * The TypeScript loader could not be registered (tsx missing from the installation, or a Node without
 * `module.register`, before 20.6).
 *
 * @since 0.1.0
 * @category errors
 */
export class TypeScriptLoaderError
  extends Schema.TaggedError<TypeScriptLoaderError>("effect-swarm/cli/TypeScriptLoaderError")("TypeScriptLoaderError", {
    files: Schema.Array(Schema.String),
    detail: Schema.String
  })
{
  override get message(): string {
    return `cannot load TypeScript entries (${this.files.join(", ")}) on Node ${process.versions.node}: ` +
      `${this.detail}. Reinstall effect-swarm (it depends on tsx), use Node >= 20.6, or compile the entries ` +
      `to .js beside the .ts (the bundle then loads the .js).`
  }
}

const isTypeScript = (file: string) => /\.(?:ts|mts|cts|tsx)$/.test(file)

/**
 * Whether this Node imports `.ts` files itself (22.6+ with `--experimental-strip-types`, 23.6+ by
 * default).
 *
 * @example
 * ```ts
 * import { TypeScript } from "effect-swarm/cli/TypeScript"
 * TypeScript.nodeStripsTypes() // false on Node 20
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const nodeStripsTypes = (): boolean => {
  const features = process.features as { readonly typescript?: string | boolean | undefined }
  return features.typescript !== undefined && features.typescript !== false
}

/**
 * The in-process entries of a bundle that are TypeScript (Tools without `spec.runtime`, Extensions,
 * Connectors), as the files the bundle resolved.
 *
 * @since 0.1.0
 * @category loading
 */
export const typeScriptEntries = (bundle: Bundle.Bundle): ReadonlyArray<string> =>
  bundle.entries.flatMap((e) => {
    const r = e.resource
    const inProcess = r.kind === "Extension" || r.kind === "Connector" ||
      (r.kind === "Tool" && r.spec.runtime === undefined)
    return inProcess && e.entryFile !== undefined && isTypeScript(e.entryFile) ? [e.entryFile] : []
  })

let registered = false

/**
 * Registers tsx's loader when `files` holds TypeScript and this Node cannot import it; once per process.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle } from "effect-swarm"
 * import { TypeScript } from "effect-swarm/cli/TypeScript"
 * const program = Effect.gen(function*() {
 *   const bundle = yield* Bundle.load("./my-bundle")
 *   yield* TypeScript.ensureLoader(TypeScript.typeScriptEntries(bundle))
 * })
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const ensureLoader = (files: ReadonlyArray<string>): Effect.Effect<boolean, TypeScriptLoaderError> =>
  Effect.gen(function*() {
    if (registered || files.length === 0 || nodeStripsTypes()) return false
    const [esm, cjs] = yield* Effect.tryPromise({
      try: () => Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]),
      catch: (e) => new TypeScriptLoaderError({ files, detail: `tsx is not installed (${String(e)})` })
    })
    // Both: a .ts file outside a `"type": "module"` package is CommonJS to Node, and goes through require.
    yield* Effect.try({
      try: () => {
        cjs.register()
        esm.register()
      },
      catch: (e) => new TypeScriptLoaderError({ files, detail: String(e) })
    })
    registered = true
    return true
  })
