/**
 * Loads and validates a bundle directory: every YAML file with a bundle name, every document in it,
 * the package dependencies named by the bundle's Package document, the references between resources
 * and the files they point at. The result is a {@link Bundle} of typed resources, or one
 * `BundleError` listing every issue found.
 *
 * What is checked, beyond each kind's schema (see `Resource`): duplicate identities per package
 * scope, references that resolve to a resource of the right kind, `requiredTools` within the agent's
 * tool catalog, ingress rules against the connector's declared events and the swarm's agents, the
 * Package document's position, dependency versions against the lockfile (ranges included) and
 * dependency cycles, and `entry` / `systemRef` files that exist and stay inside their root (symlinks
 * included).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as StateRoot from "../config/StateRoot.js"
import type { BundleIssue } from "./BundleError.js"
import { BundleError, formatPath } from "./BundleError.js"
import * as IssueMessage from "./internal/issueMessage.js"
import * as Semver from "./internal/semver.js"
import * as ObjectRef from "./ObjectRef.js"
import * as Resource from "./Resource.js"
import * as Yaml from "./Yaml.js"

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
// Names
// ---------------------------------------------------------------------------------------------------

const bundleBaseNames = new Set([
  "effect-swarm",
  "goondan",
  "model",
  "models",
  "agent",
  "agents",
  "tool",
  "tools",
  "extension",
  "extensions",
  "connector",
  "connectors",
  "connection",
  "connections",
  "swarm",
  "swarms",
  "resources"
])

const manifestBaseNames = new Set(["effect-swarm", "goondan"])
const skippedDirectories = new Set(["node_modules", "dist", ".git"])
const lockfileNames = ["effect-swarm.lock.yaml", "goondan.lock.yaml"]
const dependencyManifests = [
  "dist/effect-swarm.yaml",
  "dist/goondan.yaml",
  "effect-swarm.yaml",
  "goondan.yaml"
]

const yamlExtension = /\.ya?ml$/i

/**
 * Whether a file name is loaded as part of a bundle (`goondan.yaml`, `effect-swarm.yaml`,
 * `tools.yaml`, `agent.yml`, `resources.yaml`, ...).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * Bundle.isBundleFileName("tools.yaml") // true
 * Bundle.isBundleFileName("notes.yaml") // false
 * ```
 *
 * @since 0.1.0
 * @category names
 */
export const isBundleFileName = (fileName: string): boolean =>
  yamlExtension.test(fileName) && bundleBaseNames.has(fileName.replace(yamlExtension, "").toLowerCase())

// ---------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------

interface Loaded {
  readonly resource: Resource.Resource
  readonly file: string
  readonly filePath: string
  readonly document: number
  readonly line: number
  readonly scope: string | undefined
  readonly dependency: boolean
  readonly rootDir: string
}

interface Context {
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly limits: Yaml.Limits
  readonly issues: Array<BundleIssue>
  /** Finds the line of a field, per `file#document`, for issues reported after parsing (references...). */
  readonly lines: Map<string, (path: ReadonlyArray<string | number>) => number>
}

type Report = (
  code: string,
  file: string,
  document: number | undefined,
  path: ReadonlyArray<string | number> | string,
  message: string,
  options?: { readonly suggestion?: string | undefined; readonly severity?: "error" | "warning"; line?: number }
) => void

const makeReport = (
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

const within = (path: Path.Path, root: string, target: string): boolean => {
  const rel = path.relative(root, target)
  return rel === "" || (!rel.startsWith(`..${path.sep}`) && rel !== ".." && !path.isAbsolute(rel))
}

const scan = (ctx: Context, root: string, realRoot: string, report: Report) =>
  Effect.gen(function*() {
    const { fs, path } = ctx
    const found: Array<string> = []
    const visit = (dir: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        const names = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as Array<string>))
        names.sort((a, b) => a.localeCompare(b))
        for (const name of names) {
          if (skippedDirectories.has(name.toLowerCase())) continue
          const full = path.join(dir, name)
          const rel = path.relative(root, full)
          const info = yield* fs.stat(full).pipe(Effect.option)
          if (Option.isNone(info)) continue
          const type = info.value.type
          if (type === "File" && !isBundleFileName(name)) {
            if (dir === root && yamlExtension.test(name) && !lockfileNames.includes(name.toLowerCase())) {
              report(
                "E_CONFIG_FILE_IGNORED",
                rel,
                undefined,
                "",
                `${rel} is not loaded: its name is not a bundle file name`,
                {
                  severity: "warning",
                  suggestion: "name it resources.yaml, tools.yaml, agents.yaml, ... (see the README) to load it"
                }
              )
            }
            continue
          }
          if (type !== "File" && type !== "Directory") continue
          const real = yield* fs.realPath(full).pipe(Effect.orElseSucceed(() => full))
          if (type === "Directory") {
            // Symlinked directories are not followed: no loops, no escapes.
            if (real === path.join(realRoot, rel)) yield* visit(full)
            else {
              report(
                "E_CONFIG_FILE_IGNORED",
                rel,
                undefined,
                "",
                `${rel} is a symlinked directory and is not scanned`,
                {
                  severity: "warning",
                  suggestion: "move the files into the bundle instead of linking the directory"
                }
              )
            }
            continue
          }
          if (!within(path, realRoot, real)) {
            report(
              "E_CONFIG_FILE_OUTSIDE_ROOT",
              rel,
              undefined,
              "",
              `${rel} is a symlink to ${real}, outside the bundle root`,
              {
                suggestion: "copy the file into the bundle instead of linking it"
              }
            )
            continue
          }
          found.push(full)
        }
      })
    yield* visit(root)
    return found
  })

const readYaml = (ctx: Context, filePath: string, display: string, report: Report) =>
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

const loadFile = (
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

// ---------------------------------------------------------------------------------------------------
// Package dependencies (B10)
// ---------------------------------------------------------------------------------------------------

const installDir = (path: Path.Path, stateRoot: string, name: string, version: string): string =>
  name.startsWith("@") ?
    path.join(stateRoot, "packages", ...name.slice(1).split("/"), version) :
    path.join(stateRoot, "packages", name, version)

interface Lockfile {
  readonly file: string | undefined
  readonly versions: ReadonlyMap<string, ReadonlyArray<string>>
}

const readLockfile = (ctx: Context, root: string, report: Report) =>
  Effect.gen(function*() {
    for (const name of lockfileNames) {
      const file = ctx.path.join(root, name)
      if (!(yield* ctx.fs.exists(file).pipe(Effect.orElseSucceed(() => false)))) continue
      const documents = yield* readYaml(ctx, file, name, report)
      const packages = IssueMessage.isRecord(documents[0]?.value) ? documents[0].value.packages : undefined
      const versions = new Map<string, Array<string>>()
      if (!IssueMessage.isRecord(packages)) {
        report("E_CONFIG_PARSE_ERROR", name, 0, "packages", "the lockfile has no packages mapping", {
          suggestion: `packages: { "@scope/name@1.2.3": {} }`
        })
        return { file: name, versions } satisfies Lockfile
      }
      for (const key of Object.keys(packages)) {
        const at = key.lastIndexOf("@")
        if (at <= 0) {
          report(
            "E_CONFIG_PARSE_ERROR",
            name,
            0,
            ["packages", key],
            `lockfile key ${JSON.stringify(key)} is not name@version`
          )
          continue
        }
        const pkg = key.slice(0, at)
        const list = versions.get(pkg) ?? []
        list.push(key.slice(at + 1))
        versions.set(pkg, list)
      }
      return { file: name, versions } satisfies Lockfile
    }
    return { file: undefined, versions: new Map() } satisfies Lockfile
  })

interface Declared {
  readonly file: string
  readonly document: number
  readonly index: number
}

interface DependencyRequest {
  readonly name: string
  readonly range: string
  readonly from: string
  readonly at: Declared
}

const chooseVersion = (
  req: DependencyRequest,
  lock: Lockfile,
  report: Report
): string | undefined => {
  const where = ["spec", "dependencies", req.at.index, "version"] as const
  const locked = lock.versions.get(req.name) ?? []
  const exact = Semver.parse(req.range)
  if (exact !== undefined) {
    const version = Semver.format(exact)
    if (locked.length === 0 || locked.some((v) => v === version || v === req.range.trim())) return version
    report(
      "E_CONFIG_PACKAGE_LOCK_MISSING",
      req.at.file,
      req.at.document,
      where,
      `${req.name}@${version} is not in the lockfile (locked: ${locked.join(", ")})`,
      { suggestion: "update the lockfile or the declared version" }
    )
    return undefined
  }
  const range = Semver.parseRange(req.range)
  if (range === undefined) {
    report(
      "E_CONFIG_SCHEMA_INVALID",
      req.at.file,
      req.at.document,
      where,
      `${JSON.stringify(req.range)} is not a version or range`,
      {
        suggestion: `use a version such as "1.2.3" or a range such as "^1.2.0"`
      }
    )
    return undefined
  }
  if (locked.length === 0) {
    report(
      "E_CONFIG_PACKAGE_LOCK_MISSING",
      req.at.file,
      req.at.document,
      where,
      `the version of ${req.name} (${req.range}) cannot be confirmed: ${
        lock.file === undefined ? "there is no lockfile" : `${lock.file} does not list it`
      }`,
      { suggestion: `add "${req.name}@<version>" to effect-swarm.lock.yaml, or declare an exact version` }
    )
    return undefined
  }
  const candidates = locked
    .map((v) => [v, Semver.parse(v)] as const)
    .filter((pair): pair is readonly [string, Semver.Version] =>
      pair[1] !== undefined && Semver.satisfies(pair[1], range)
    )
    .sort((a, b) => Semver.compare(b[1], a[1]))
  if (candidates.length === 0) {
    report(
      "E_CONFIG_PACKAGE_VERSION_MISMATCH",
      req.at.file,
      req.at.document,
      where,
      `no locked version of ${req.name} satisfies ${req.range} (locked: ${locked.join(", ")})`,
      { suggestion: "update the lockfile or widen the range" }
    )
    return undefined
  }
  return candidates[0]![0]
}

const loadDependencies = (
  ctx: Context,
  root: string,
  stateRoot: string,
  rootName: string,
  requests: ReadonlyArray<DependencyRequest>,
  report: Report
) =>
  Effect.gen(function*() {
    const { fs, path } = ctx
    const lock = yield* readLockfile(ctx, root, report)
    const resolved = new Map<string, Dependency>()
    const failed = new Set<string>()
    const loaded: Array<Loaded> = []
    const fileIssues: Array<BundleIssue> = []
    const files: Array<string> = []
    const invalidIds: Array<string> = []
    const edges = new Map<string, Array<{ readonly to: string; readonly at: Declared }>>()
    const queue = [...requests]
    while (queue.length > 0) {
      const req = queue.shift()!
      const out = edges.get(req.from) ?? []
      out.push({ to: req.name, at: req.at })
      edges.set(req.from, out)
      if (req.name === rootName || failed.has(req.name)) continue
      const version = chooseVersion(req, lock, report)
      if (version === undefined) {
        failed.add(req.name)
        continue
      }
      const known = resolved.get(req.name)
      if (known !== undefined) {
        if (known.version !== version) {
          report(
            "E_CONFIG_PACKAGE_VERSION_CONFLICT",
            req.at.file,
            req.at.document,
            ["spec", "dependencies", req.at.index, "version"],
            `${req.name}@${version} is required here, but ${req.name}@${known.version} is already loaded`,
            { suggestion: "align the declared ranges on one version" }
          )
        }
        continue
      }
      const dir = installDir(path, stateRoot, req.name, version)
      const info = yield* fs.stat(dir).pipe(Effect.option)
      if (Option.isNone(info) || info.value.type !== "Directory") {
        failed.add(req.name)
        report(
          "E_CONFIG_PACKAGE_NOT_INSTALLED",
          req.at.file,
          req.at.document,
          ["spec", "dependencies", req.at.index],
          `${req.name}@${version} is not installed: ${dir} does not exist`,
          { suggestion: `install the package into ${path.join(stateRoot, "packages")} (EFFECT_SWARM_HOME)` }
        )
        continue
      }
      let manifest: string | undefined
      for (const candidate of dependencyManifests) {
        const file = path.join(dir, candidate)
        const stat = yield* fs.stat(file).pipe(Effect.option)
        if (Option.isSome(stat) && stat.value.type === "File") {
          manifest = candidate
          break
        }
      }
      if (manifest === undefined) {
        failed.add(req.name)
        report(
          "E_CONFIG_PACKAGE_MANIFEST_MISSING",
          req.at.file,
          req.at.document,
          ["spec", "dependencies", req.at.index],
          `${req.name}@${version} at ${dir} has no manifest (${dependencyManifests.join(", ")})`
        )
        continue
      }
      resolved.set(req.name, { name: req.name, version, root: dir, manifest: path.join(dir, manifest) })
      const display = `${req.name}/${manifest}`
      files.push(display)
      const result = yield* loadFile(ctx, path.join(dir, manifest), display, req.name, dir)
      fileIssues.push(...result.issues)
      loaded.push(...result.loaded)
      for (const i of result.invalid) invalidIds.push(ObjectRef.identity(req.name, i.kind, i.name))
      const pkg = result.loaded.find((l) => l.resource.kind === "Package")
      if (pkg !== undefined && pkg.resource.kind === "Package") {
        // The directory an install was found in names the package; a manifest saying otherwise means a
        // wrong or tampered install, and its resources would be scoped under a name they do not claim.
        const declared = pkg.resource.metadata.name
        const declaredVersion = pkg.resource.spec?.version
        if (declared !== req.name) {
          report(
            "E_CONFIG_PACKAGE_IDENTITY_MISMATCH",
            display,
            pkg.document,
            ["metadata", "name"],
            `installed as ${req.name}@${version} (${dir}), but its Package document is named "${declared}"`,
            { suggestion: `reinstall ${req.name}, or fix the dependency's name in ${req.at.file}` }
          )
        } else if (declaredVersion !== undefined && declaredVersion !== version) {
          report(
            "E_CONFIG_PACKAGE_IDENTITY_MISMATCH",
            display,
            pkg.document,
            ["spec", "version"],
            `installed as ${req.name}@${version} (${dir}), but its Package document says version ${declaredVersion}`,
            { suggestion: `reinstall ${req.name}@${version}` }
          )
        }
        const deps = pkg.resource.spec?.dependencies ?? []
        deps.forEach((dep, index) =>
          queue.push({
            name: dep.name,
            range: dep.version,
            from: req.name,
            at: { file: display, document: pkg.document, index }
          })
        )
      }
    }
    // Cycles: depth-first over the declared edges; each back edge is reported where it is declared.
    const state = new Map<string, "active" | "done">()
    const stack: Array<string> = []
    const visit = (node: string): void => {
      state.set(node, "active")
      stack.push(node)
      for (const edge of edges.get(node) ?? []) {
        const s = state.get(edge.to)
        if (s === "active") {
          const cycle = [...stack.slice(stack.indexOf(edge.to)), edge.to]
          report(
            "E_CONFIG_PACKAGE_CYCLE",
            edge.at.file,
            edge.at.document,
            ["spec", "dependencies", edge.at.index],
            `package dependencies form a cycle: ${cycle.join(" -> ")}`,
            { suggestion: "remove one of the dependencies in the cycle" }
          )
        } else if (s === undefined) visit(edge.to)
      }
      stack.pop()
      state.set(node, "done")
    }
    visit(rootName)
    return { loaded, failed, dependencies: [...resolved.values()], fileIssues, files, invalidIds }
  })

// ---------------------------------------------------------------------------------------------------
// References and cross-resource rules
// ---------------------------------------------------------------------------------------------------

interface RefUse {
  readonly ref: ObjectRef.ObjectRef
  readonly path: ReadonlyArray<string | number>
}

/**
 * The references a resource makes, with their field paths.
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const agent: Resource.AgentResource
 * Bundle.referencesOf(agent) // [{ ref: { kind: "Model", name: "default" }, path: ["spec", "modelConfig", "modelRef"] }, ...]
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const referencesOf = (resource: Resource.Resource): ReadonlyArray<RefUse> => {
  const out: Array<RefUse> = []
  switch (resource.kind) {
    case "Agent": {
      out.push({ ref: resource.spec.modelConfig.modelRef, path: ["spec", "modelConfig", "modelRef"] })
      resource.spec.tools?.forEach((ref, i) => out.push({ ref, path: ["spec", "tools", i] }))
      resource.spec.extensions?.forEach((use, i) => out.push({ ref: use.ref, path: ["spec", "extensions", i] }))
      break
    }
    case "Swarm": {
      out.push({ ref: resource.spec.entryAgent, path: ["spec", "entryAgent"] })
      resource.spec.agents.forEach((ref, i) => out.push({ ref, path: ["spec", "agents", i] }))
      break
    }
    case "Connection": {
      out.push({ ref: resource.spec.connectorRef, path: ["spec", "connectorRef"] })
      if (resource.spec.swarmRef !== undefined) out.push({ ref: resource.spec.swarmRef, path: ["spec", "swarmRef"] })
      resource.spec.ingress?.rules?.forEach((rule, i) => {
        if (rule.route.agentRef !== undefined) {
          out.push({ ref: rule.route.agentRef, path: ["spec", "ingress", "rules", i, "route", "agentRef"] })
        }
      })
      break
    }
    default:
      break
  }
  return out
}

/**
 * The identity of an entry (`"<scope>|Kind/name"`).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const entry: Bundle.Entry
 * Bundle.identityOf(entry) // "@acme/app|Tool/echo"
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const identityOf = (entry: Entry): string =>
  ObjectRef.identity(entry.package, entry.resource.kind, entry.resource.metadata.name)

/**
 * Resolves a reference made by `from` (a ref without `package` resolves in `from`'s own scope).
 *
 * @example
 * ```ts
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * declare const agent: Bundle.Entry<import("effect-swarm").Resource.AgentResource>
 * const model = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
 * ```
 *
 * @since 0.1.0
 * @category references
 */
export const resolve = (bundle: Bundle, ref: ObjectRef.ObjectRef, from?: Entry): Entry | undefined =>
  bundle.byIdentity.get(
    ObjectRef.identity(ref.package ?? from?.package ?? bundle.package?.resource.metadata.name, ref.kind, ref.name)
  )

/**
 * The entries of one kind.
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const agents = Bundle.entriesOf(bundle, "Agent") // ReadonlyArray<Bundle.Entry<Resource.AgentResource>>
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const entriesOf = <K extends Resource.Kind>(bundle: Bundle, kind: K): ReadonlyArray<Entry<Resource.OfKind<K>>> =>
  bundle.entries.filter((e): e is Entry<Resource.OfKind<K>> => e.resource.kind === kind)

/**
 * One entry by kind and name (in the local scope unless `scope` is given).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const base = Bundle.find(bundle, "Tool", "bash", "@goondan/base")
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const find = <K extends Resource.Kind>(
  bundle: Bundle,
  kind: K,
  name: string,
  scope?: string
): Entry<Resource.OfKind<K>> | undefined =>
  bundle.byIdentity.get(ObjectRef.identity(scope ?? bundle.package?.resource.metadata.name, kind, name)) as
    | Entry<Resource.OfKind<K>>
    | undefined

/**
 * One function of an agent's tool catalog: its model-facing name (`<tool>__<export>`) and source.
 *
 * @since 0.1.0
 * @category models
 */
export interface CatalogTool {
  readonly name: string
  readonly tool: Entry<Resource.ToolResource>
  readonly export: Resource.ToolExport
}

/**
 * The tool catalog an agent declares (its `tools`, each export as `<tool>__<export>`).
 *
 * @example
 * ```ts
 * import { Bundle, Resource } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * for (const agent of Bundle.entriesOf(bundle, "Agent")) {
 *   Bundle.toolCatalog(bundle, agent).map((t) => t.name) // ["echo__say", ...]
 * }
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const toolCatalog = (bundle: Bundle, agent: Entry<Resource.AgentResource>): ReadonlyArray<CatalogTool> => {
  const out: Array<CatalogTool> = []
  for (const ref of agent.resource.spec.tools ?? []) {
    const tool = resolve(bundle, ref, agent)
    if (tool === undefined || tool.resource.kind !== "Tool") continue
    for (const exp of tool.resource.spec.exports) {
      out.push({
        name: `${tool.resource.metadata.name}__${exp.name}`,
        tool: tool as Entry<Resource.ToolResource>,
        export: exp
      })
    }
  }
  return out
}

/**
 * An Extension used by an agent, with its config merged: the Extension's own `spec.config`, then the
 * agent's per-use `config` over it (shallow, as in the reference runtime).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtensionUse {
  readonly extension: Entry<Resource.ExtensionResource>
  readonly config: { readonly [key: string]: unknown }
}

/**
 * The Extensions an agent uses, in declaration order, each with its merged config.
 *
 * @example
 * ```ts
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * for (const agent of Bundle.entriesOf(bundle, "Agent")) {
 *   Bundle.extensionUses(bundle, agent).map((u) => [u.extension.resource.metadata.name, u.config])
 * }
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const extensionUses = (bundle: Bundle, agent: Entry<Resource.AgentResource>): ReadonlyArray<ExtensionUse> => {
  const out: Array<ExtensionUse> = []
  for (const use of agent.resource.spec.extensions ?? []) {
    const extension = resolve(bundle, use.ref, agent)
    if (extension === undefined || extension.resource.kind !== "Extension") continue
    out.push({
      extension: extension as Entry<Resource.ExtensionResource>,
      config: { ...extension.resource.spec.config, ...use.config }
    })
  }
  return out
}

/**
 * An agent's system prompt: `prompt.system` when it is not blank, otherwise the `systemRef` file's
 * text (read now, so an edited file is picked up), otherwise `undefined` (also for a blank file).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const prompts = Effect.forEach(Bundle.entriesOf(bundle, "Agent"), (agent) => Bundle.systemPrompt(agent))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const systemPrompt = (
  agent: Entry<Resource.AgentResource>
): Effect.Effect<string | undefined, BundleError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const prompt = agent.resource.spec.prompt
    if (prompt?.system !== undefined && prompt.system.trim().length > 0) return prompt.system
    const file = agent.systemPromptFile
    if (file === undefined) return undefined
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError(() =>
        new BundleError({
          root: agent.rootDir,
          issues: [{
            code: "E_CONFIG_ENTRY_NOT_FOUND",
            severity: "error",
            file: agent.file,
            document: agent.document,
            path: "spec.prompt.systemRef",
            message: `Agent/${agent.resource.metadata.name} prompt.systemRef cannot be read: ${file}`
          }]
        })
      )
    )
    return text.trim().length > 0 ? text : undefined
  })

/**
 * Chooses the swarm to run, as the reference runtime does: the one named `name` when given, else the
 * local swarm named `default`, else the only local swarm. `Left` carries the reason and the candidates.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Bundle } from "effect-swarm"
 * declare const bundle: Bundle.Bundle
 * const swarm = Bundle.selectSwarm(bundle) // Either<Entry<SwarmResource>, string>
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const selectSwarm = (
  bundle: Bundle,
  name?: string
): Either.Either<Entry<Resource.SwarmResource>, string> => {
  const local = entriesOf(bundle, "Swarm").filter((s) => !s.dependency)
  const names = local.map((s) => s.resource.metadata.name)
  if (name !== undefined) {
    const found = local.find((s) => s.resource.metadata.name === name)
    return found !== undefined ?
      Either.right(found) :
      Either.left(`no Swarm named ${JSON.stringify(name)}; the bundle declares ${names.join(", ") || "none"}`)
  }
  const byDefault = local.find((s) => s.resource.metadata.name === "default")
  if (byDefault !== undefined) return Either.right(byDefault)
  if (local.length === 1) return Either.right(local[0]!)
  return Either.left(
    local.length === 0 ?
      "the bundle declares no Swarm" :
      `the bundle declares several Swarms (${names.join(", ")}) and none is named "default": choose one`
  )
}

const crossChecks = (
  entries: ReadonlyArray<Loaded>,
  byIdentity: ReadonlyMap<string, Loaded>,
  invalidIds: ReadonlySet<string>,
  unavailable: (scope: string | undefined) => boolean,
  known: (scope: string | undefined) => boolean,
  report: Report
): void => {
  const lookup = (ref: ObjectRef.ObjectRef, from: Loaded): Loaded | undefined =>
    byIdentity.get(ObjectRef.identity(ref.package ?? from.scope, ref.kind, ref.name))
  const namesByKind = new Map<string, Array<Loaded>>()
  for (const e of entries) {
    const list = namesByKind.get(e.resource.kind) ?? []
    list.push(e)
    namesByKind.set(e.resource.kind, list)
  }
  const unresolved = new Set<Loaded>()
  for (const entry of entries) {
    for (const use of referencesOf(entry.resource)) {
      const scope = use.ref.package ?? entry.scope
      if (lookup(use.ref, entry) !== undefined) continue
      unresolved.add(entry)
      if (unavailable(scope) || invalidIds.has(ObjectRef.identity(scope, use.ref.kind, use.ref.name))) continue
      const sameKind = namesByKind.get(use.ref.kind) ?? []
      const elsewhere = sameKind.find((e) => e.resource.metadata.name === use.ref.name)
      const prefix = ObjectRef.identity(scope, use.ref.kind, "")
      const near = IssueMessage.nearest(use.ref.name, [
        ...sameKind.filter((e) => e.scope === scope).map((e) => e.resource.metadata.name),
        ...[...invalidIds].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length))
      ])
      report(
        "E_CONFIG_REF_NOT_FOUND",
        entry.file,
        entry.document,
        use.path,
        `${ObjectRef.format(use.ref)} not found${scope === undefined ? "" : ` in package ${scope}`}`,
        {
          suggestion: !known(scope) ?
            `package ${scope} is not a dependency: add { name: "${scope}", version: ... } to the Package's spec.dependencies` :
            elsewhere !== undefined ?
            `${use.ref.kind}/${use.ref.name} is declared in ${
              elsewhere.scope === undefined ? "the local bundle" : `package ${elsewhere.scope}`
            }; set package: ${elsewhere.scope ?? "(omit it)"}` :
            near !== undefined ?
            `did you mean "${use.ref.kind}/${near}"?` :
            `declare a ${use.ref.kind} named ${use.ref.name}`
        }
      )
    }
  }
  for (const entry of entries) {
    const r = entry.resource
    if (r.kind === "Agent" && r.spec.requiredTools !== undefined && !unresolved.has(entry)) {
      const catalog: Array<string> = []
      for (const ref of r.spec.tools ?? []) {
        const tool = lookup(ref, entry)
        if (tool?.resource.kind === "Tool") {
          for (const exp of tool.resource.spec.exports) catalog.push(`${tool.resource.metadata.name}__${exp.name}`)
        }
      }
      r.spec.requiredTools.forEach((name, i) => {
        if (catalog.includes(name.trim())) return
        const near = IssueMessage.nearest(name, catalog)
        report(
          "E_CONFIG_REQUIRED_TOOL_MISSING",
          entry.file,
          entry.document,
          ["spec", "requiredTools", i],
          `required tool ${JSON.stringify(name)} is not in the agent's tool catalog`,
          {
            suggestion: near !== undefined ?
              `did you mean "${near}"?` :
              catalog.length === 0 ?
              "the agent declares no tools; add the Tool to spec.tools" :
              `the catalog has ${catalog.join(", ")}`
          }
        )
      })
    }
    if (r.kind === "Connection" && r.spec.ingress?.rules !== undefined) {
      const connector = lookup(r.spec.connectorRef, entry)
      const swarm = r.spec.swarmRef === undefined ? undefined : lookup(r.spec.swarmRef, entry)
      r.spec.ingress.rules.forEach((rule, i) => {
        const base = ["spec", "ingress", "rules", i] as const
        if (connector?.resource.kind === "Connector" && rule.match?.event !== undefined) {
          const events = connector.resource.spec.events
          const event = events.find((e) => e.name === rule.match!.event)
          if (event === undefined) {
            const near = IssueMessage.nearest(rule.match.event, events.map((e) => e.name))
            report(
              "E_CONFIG_INGRESS_EVENT_UNKNOWN",
              entry.file,
              entry.document,
              [...base, "match", "event"],
              `Connector/${connector.resource.metadata.name} declares no event ${JSON.stringify(rule.match.event)}`,
              {
                suggestion: near !== undefined ?
                  `did you mean "${near}"?` :
                  `declared events: ${events.map((e) => e.name).join(", ")}`
              }
            )
          } else if (event.properties !== undefined && rule.match.properties !== undefined) {
            const declared = Object.keys(event.properties)
            for (const key of Object.keys(rule.match.properties)) {
              if (declared.includes(key)) continue
              const near = IssueMessage.nearest(key, declared)
              report(
                "E_CONFIG_INGRESS_EVENT_UNKNOWN",
                entry.file,
                entry.document,
                [...base, "match", "properties", key],
                `event ${
                  JSON.stringify(event.name)
                } of Connector/${connector.resource.metadata.name} declares no property ${JSON.stringify(key)}`,
                {
                  suggestion: near !== undefined ?
                    `did you mean "${near}"?` :
                    `declared properties: ${declared.join(", ") || "(none)"}`
                }
              )
            }
          }
        }
        const agentRef = rule.route.agentRef
        if (agentRef !== undefined && swarm?.resource.kind === "Swarm") {
          const target = lookup(agentRef, entry)
          const member = swarm.resource.spec.agents.some((a) => {
            const resolved = lookup(a, swarm)
            return resolved !== undefined && resolved === target
          })
          if (target !== undefined && !member) {
            report(
              "E_CONFIG_INGRESS_AGENT_NOT_IN_SWARM",
              entry.file,
              entry.document,
              [...base, "route", "agentRef"],
              `${ObjectRef.format(agentRef)} is not one of the agents of Swarm/${swarm.resource.metadata.name}`,
              { suggestion: `add it to Swarm/${swarm.resource.metadata.name} spec.agents or route to a member` }
            )
          }
        }
      })
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Files referenced by resources (B9, B11)
// ---------------------------------------------------------------------------------------------------

const entryCandidates = (entry: string): Array<string> => {
  const rel = entry.replace(/^\.\//, "")
  if (!rel.endsWith(".ts")) return [rel]
  const base = rel.slice(0, -3)
  return [...(rel.startsWith("src/") ? [`dist/${base}.js`] : []), `${base}.js`, rel]
}

const checkFile = (
  ctx: Context,
  entry: Loaded,
  field: "entry" | "systemRef",
  relPath: string,
  realRoots: Map<string, string>,
  report: Report
) =>
  Effect.gen(function*() {
    const { fs, path } = ctx
    const candidates = field === "entry" ? entryCandidates(relPath) : [relPath.replace(/^\.\//, "")]
    const where = field === "entry" ? ["spec", "entry"] : ["spec", "prompt", "systemRef"]
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

const checkNodeTypeScript = (entry: Loaded, tool: Resource.ToolResource, report: Report): void => {
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

// ---------------------------------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------------------------------

const manifestFile = (path: Path.Path, file: string): boolean =>
  manifestBaseNames.has(path.basename(file).replace(yamlExtension, "").toLowerCase())

/**
 * Loads and validates the bundle in `dir`.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Bundle } from "effect-swarm"
 *
 * const program = Effect.gen(function*() {
 *   const bundle = yield* Bundle.load("examples/bundles/minimal")
 *   return Bundle.entriesOf(bundle, "Agent").map((a) => a.resource.metadata.name)
 * }).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category loading
 */
export const load: (
  dir: string,
  options?: LoadOptions
) => Effect.Effect<Bundle, BundleError, FileSystem.FileSystem | Path.Path> = Effect.fn("Bundle.load")(
  function*(dir: string, options?: LoadOptions) {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const limits: Yaml.Limits = { ...Yaml.defaultLimits, ...options?.limits }
    const root = path.resolve(dir)
    const ctx: Context = { fs, path, limits, issues: [], lines: new Map() }
    const rootInfo = yield* fs.stat(root).pipe(Effect.option)
    if (Option.isNone(rootInfo) || rootInfo.value.type !== "Directory") {
      return yield* new BundleError({
        root,
        issues: [{
          code: "E_CONFIG_BUNDLE_NOT_FOUND",
          severity: "error",
          file: root,
          path: "",
          message: `${root} is not a directory`,
          suggestion: "pass the directory that holds the bundle's YAML files"
        }]
      })
    }
    const realRoot = yield* fs.realPath(root).pipe(Effect.orElseSucceed(() => root))
    const scanIssues: Array<BundleIssue> = []
    const files = yield* scan(ctx, root, realRoot, makeReport(scanIssues))

    const results = yield* Effect.forEach(
      files,
      (file) => loadFile(ctx, file, path.relative(root, file).split(path.sep).join("/"), undefined, root),
      { concurrency: 8 }
    )
    const issues: Array<BundleIssue> = [...scanIssues]
    for (const r of results) issues.push(...r.issues)
    const report = makeReport(issues, ctx.lines)
    let local = results.flatMap((r) => r.loaded)

    // The local Package document names the local scope.
    const packages = local.filter((l) => l.resource.kind === "Package")
    packages.forEach((pkg, i) => {
      if (i > 0) {
        report(
          "E_CONFIG_PACKAGE_DOC_DUPLICATED",
          pkg.file,
          pkg.document,
          "",
          `a bundle has at most one Package document; the first is in ${packages[0]!.file}:${packages[0]!.document}`
        )
      } else if (pkg.document !== 0 || !manifestFile(path, pkg.file)) {
        report(
          "E_CONFIG_PACKAGE_DOC_POSITION",
          pkg.file,
          pkg.document,
          "",
          "the Package document must be the first document of effect-swarm.yaml (or goondan.yaml)",
          { suggestion: "move it to the top of effect-swarm.yaml, before the first ---" }
        )
      }
    })
    const localPackage = packages[0] as (Loaded & { readonly resource: Resource.PackageResource }) | undefined
    const localScope = localPackage?.resource.metadata.name
    if (localScope !== undefined) local = local.map((l) => ({ ...l, scope: localScope }))
    const invalidIds = new Set(
      results.flatMap((r) => r.invalid.map((i) => ObjectRef.identity(localScope, i.kind, i.name)))
    )

    // Dependencies.
    let dependencyLoaded: ReadonlyArray<Loaded> = []
    let dependencies: ReadonlyArray<Dependency> = []
    let failed: ReadonlySet<string> = new Set()
    const dependencyFiles: Array<string> = []
    const loadDeps = options?.dependencies ?? true
    const declared = localPackage?.resource.spec?.dependencies ?? []
    if (loadDeps && localPackage !== undefined && declared.length > 0) {
      const stateRoot = path.resolve(options?.stateRoot ?? (yield* StateRoot.resolve))
      const result = yield* loadDependencies(
        ctx,
        root,
        stateRoot,
        localPackage.resource.metadata.name,
        declared.map((dep, index) => ({
          name: dep.name,
          range: dep.version,
          from: localPackage.resource.metadata.name,
          at: { file: localPackage.file, document: localPackage.document, index }
        })),
        report
      )
      dependencyLoaded = result.loaded
      for (const id of result.invalidIds) invalidIds.add(id)
      dependencies = result.dependencies
      failed = result.failed
      issues.push(...result.fileIssues)
      dependencyFiles.push(...result.files)
    }
    const all = [...dependencyLoaded, ...local]

    // Identities.
    const byIdentity = new Map<string, Loaded>()
    for (const entry of all) {
      if (entry.resource.kind === "Package") continue
      const id = ObjectRef.identity(entry.scope, entry.resource.kind, entry.resource.metadata.name)
      const first = byIdentity.get(id)
      if (first !== undefined) {
        report(
          "E_CONFIG_DUPLICATE_NAME",
          entry.file,
          entry.document,
          ["metadata", "name"],
          `duplicate ${entry.resource.kind}/${entry.resource.metadata.name}${
            entry.scope === undefined ? "" : ` in package ${entry.scope}`
          }: first declared in ${first.file}:${first.document}`,
          { suggestion: "rename one of them" }
        )
      } else byIdentity.set(id, entry)
    }

    const declaredScopes = new Set([...declared.map((d) => d.name)])
    crossChecks(
      all,
      byIdentity,
      invalidIds,
      (scope) =>
        scope !== localScope && scope !== undefined && (failed.has(scope) || (!loadDeps && declaredScopes.has(scope))),
      (scope) =>
        scope === localScope || scope === undefined || declaredScopes.has(scope) ||
        dependencies.some((d) => d.name === scope),
      report
    )

    // Files referenced by resources.
    const realRoots = new Map<string, string>([[root, realRoot]])
    const resolvedFiles = yield* Effect.forEach(all, (entry) =>
      Effect.gen(function*() {
        const r = entry.resource
        const entryFile = r.kind === "Tool" || r.kind === "Extension" || r.kind === "Connector" ?
          yield* checkFile(ctx, entry, "entry", r.spec.entry, realRoots, report) :
          undefined
        if (r.kind === "Tool" && entryFile !== undefined) checkNodeTypeScript(entry, r, report)
        const systemRef = r.kind === "Agent" ? r.spec.prompt?.systemRef : undefined
        const systemPromptFile = systemRef === undefined ?
          undefined :
          yield* checkFile(ctx, entry, "systemRef", systemRef, realRoots, report)
        return { entryFile, systemPromptFile }
      }), { concurrency: 8 })

    const order = new Map<string, number>()
    for (const f of [...files.map((f) => path.relative(root, f).split(path.sep).join("/")), ...dependencyFiles]) {
      order.set(f, order.size)
    }
    const sorted = issues
      .map((issue, i) => [issue, i] as const)
      .sort(([a, i], [b, j]) =>
        (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || (a.document ?? -1) - (b.document ?? -1) ||
        (a.line ?? 0) - (b.line ?? 0) || i - j
      )
      .map(([issue]) => issue)
    if (sorted.some((i) => i.severity === "error")) return yield* new BundleError({ root, issues: sorted })

    const entries: Array<Entry> = all.map((l, i) => ({
      resource: l.resource,
      file: l.file,
      filePath: l.filePath,
      document: l.document,
      line: l.line,
      package: l.scope,
      dependency: l.dependency,
      rootDir: l.rootDir,
      entryFile: resolvedFiles[i]!.entryFile,
      systemPromptFile: resolvedFiles[i]!.systemPromptFile
    }))
    const index = new Map<string, Entry>()
    for (const e of entries) if (e.resource.kind !== "Package") index.set(identityOf(e), e)
    const pkgEntry = entries.find((e) => !e.dependency && e.resource.kind === "Package") as
      | Entry<Resource.PackageResource>
      | undefined
    return {
      root,
      files: [...order.keys()],
      package: pkgEntry,
      entries,
      dependencies,
      warnings: sorted,
      byIdentity: index
    } satisfies Bundle
  }
)
