/**
 * The loaded bundle's models, and the context and issue reporter the loader passes around.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { BundleIssue } from "../../BundleError.js"
import { formatPath } from "../../BundleError.js"
import type * as Resource from "../../Resource.js"
import type * as Yaml from "../../Yaml.js"

// ---------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------

/**
 * A loaded resource and where it came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry<R extends Resource.Resource = Resource.Resource> {
  readonly resource: R
  /** The display path of the file: relative to the bundle root, or `<package>/<file>` for dependencies. */
  readonly file: string
  /** The absolute path of the file. */
  readonly filePath: string
  readonly document: number
  readonly line: number
  /** The package scope: the dependency's name, the local Package's name, or `undefined`. */
  readonly package: string | undefined
  /** Whether the resource comes from a dependency package. */
  readonly dependency: boolean
  /** The directory `entry` and `systemRef` paths are relative to. */
  readonly rootDir: string
  /** The resolved entry file (Tool, Extension, Connector), absolute. */
  readonly entryFile: string | undefined
  /** The resolved `prompt.systemRef` file (Agent), absolute. */
  readonly systemPromptFile: string | undefined
  /** A Model's validated script steps: inline, or read from its script file. */
  readonly script: ReadonlyArray<Resource.ScriptStep> | undefined
  /** The resolved script file (Model with `script: path`), absolute. */
  readonly scriptFile: string | undefined
}

/**
 * A resolved package dependency.
 *
 * @since 0.1.0
 * @category models
 */
export interface Dependency {
  readonly name: string
  readonly version: string
  readonly root: string
  readonly manifest: string
}

/**
 * A validated bundle.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bundle {
  /** The absolute bundle directory. */
  readonly root: string
  /** The YAML files loaded, relative to the root, in load order. */
  readonly files: ReadonlyArray<string>
  /** The local Package document, when there is one. */
  readonly package: Entry<Resource.PackageResource> | undefined
  /** Every resource: dependency resources first, then local ones in file and document order. */
  readonly entries: ReadonlyArray<Entry>
  readonly dependencies: ReadonlyArray<Dependency>
  /** Problems that do not stop the bundle from loading. */
  readonly warnings: ReadonlyArray<BundleIssue>
  /** Entries by identity (`ObjectRef.identity`). */
  readonly byIdentity: ReadonlyMap<string, Entry>
}

/**
 * Options of {@link load}.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  /** YAML limits (file size, documents per file, aliases, depth); defaults are `Yaml.defaultLimits`. */
  readonly limits?: Partial<Yaml.Limits> | undefined
  /** The state root holding `packages/`; defaults to `StateRoot.resolve` (`EFFECT_SWARM_HOME`). */
  readonly stateRoot?: string | undefined
  /** Load package dependencies (default `true`). */
  readonly dependencies?: boolean | undefined
}

// ---------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------

/**
 * A resource as loaded, before file checks.
 *
 * @since 0.1.0
 */
export interface Loaded {
  readonly resource: Resource.Resource
  readonly file: string
  readonly filePath: string
  readonly document: number
  readonly line: number
  readonly scope: string | undefined
  readonly dependency: boolean
  readonly rootDir: string
}

/**
 * What the loader passes to its steps.
 *
 * @since 0.1.0
 */
export interface Context {
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly limits: Yaml.Limits
  readonly issues: Array<BundleIssue>
  /** Finds the line of a field, per `file#document`, for issues reported after parsing (references...). */
  readonly lines: Map<string, (path: ReadonlyArray<string | number>) => number>
}

/**
 * Records one issue (or warning) at a file, document and field.
 *
 * @since 0.1.0
 */
export type Report = (
  code: string,
  file: string,
  document: number | undefined,
  path: ReadonlyArray<string | number> | string,
  message: string,
  options?: { readonly suggestion?: string | undefined; readonly severity?: "error" | "warning"; line?: number }
) => void

/**
 * A `Report` into `issues`, finding field lines through `lines`.
 *
 * @since 0.1.0
 */
export const makeReport = (
  issues: Array<BundleIssue>,
  lines?: Context["lines"]
): Report =>
(code, file, document, path, message, options) => {
  const issue: {
    -readonly [K in keyof BundleIssue]: BundleIssue[K]
  } = {
    code,
    severity: options?.severity ?? "error",
    file,
    path: typeof path === "string" ? path : formatPath(path),
    message
  }
  if (document !== undefined) issue.document = document
  const line = options?.line ??
    (document === undefined || typeof path === "string" ? undefined : lines?.get(`${file}#${document}`)?.(path))
  if (line !== undefined) issue.line = line
  if (options?.suggestion !== undefined) issue.suggestion = options.suggestion
  issues.push(issue)
}
