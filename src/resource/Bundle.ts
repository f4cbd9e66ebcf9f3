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
 * This module is the public facade and the loader; the steps live in `internal/bundle/` (scanning,
 * parsing, packages, references, files, accessors).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as StateRoot from "../config/StateRoot.js"
import type { BundleIssue } from "./BundleError.js"
import { BundleError } from "./BundleError.js"
import { checkFile, checkNodeTypeScript, loadScript } from "./internal/bundle/files.js"
import { loadDependencies } from "./internal/bundle/packages.js"
import { loadFile } from "./internal/bundle/parse.js"
import { crossChecks, identityOf } from "./internal/bundle/references.js"
import { manifestFile, scan } from "./internal/bundle/scan.js"
import type { Bundle, Context, Dependency, Entry, Loaded, LoadOptions } from "./internal/bundle/types.js"
import { makeReport } from "./internal/bundle/types.js"
import * as ObjectRef from "./ObjectRef.js"
import type * as Resource from "./Resource.js"
import * as Yaml from "./Yaml.js"

export {
  type CatalogTool,
  entriesOf,
  type ExtensionUse,
  extensionUses,
  find,
  modelScript,
  selectSwarm,
  systemPrompt,
  toolCatalog
} from "./internal/bundle/accessors.js"
export { identityOf, referencesOf, resolve } from "./internal/bundle/references.js"
export { isBundleFileName } from "./internal/bundle/scan.js"
export type { Bundle, Dependency, Entry, LoadOptions } from "./internal/bundle/types.js"

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
        const entryPath = r.kind === "Tool" || r.kind === "Extension" || r.kind === "Connector" ?
          r.spec.entry :
          undefined
        const entryFile = entryPath !== undefined ?
          yield* checkFile(ctx, entry, "entry", entryPath, realRoots, report) :
          undefined
        if (r.kind === "Tool" && entryFile !== undefined) checkNodeTypeScript(entry, r, report)
        const systemRef = r.kind === "Agent" ? r.spec.prompt?.systemRef : undefined
        const systemPromptFile = systemRef === undefined ?
          undefined :
          yield* checkFile(ctx, entry, "systemRef", systemRef, realRoots, report)
        const { display: scriptDisplay, script, scriptFile } = r.kind === "Model" ?
          yield* loadScript(ctx, entry, r, realRoots, report) :
          { script: undefined, scriptFile: undefined, display: undefined }
        return { entryFile, systemPromptFile, script, scriptFile, scriptDisplay }
      }), { concurrency: 8 })

    const order = new Map<string, number>()
    for (const f of [...files.map((f) => path.relative(root, f).split(path.sep).join("/")), ...dependencyFiles]) {
      order.set(f, order.size)
    }
    // Script files sort after the bundle files (they are not bundle files).
    const sortOrder = new Map(order)
    for (const { scriptDisplay } of resolvedFiles) {
      if (scriptDisplay !== undefined && !sortOrder.has(scriptDisplay)) sortOrder.set(scriptDisplay, sortOrder.size)
    }
    // A YAML file at the root that a Model uses as its script is not an ignored bundle file.
    const scriptFiles = new Set(resolvedFiles.flatMap((r) => (r.scriptDisplay === undefined ? [] : [r.scriptDisplay])))
    const sorted = issues
      .filter((issue) => !(issue.code === "E_CONFIG_FILE_IGNORED" && scriptFiles.has(issue.file)))
      .map((issue, i) => [issue, i] as const)
      .sort(([a, i], [b, j]) =>
        (sortOrder.get(a.file) ?? -1) - (sortOrder.get(b.file) ?? -1) || (a.document ?? -1) - (b.document ?? -1) ||
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
      systemPromptFile: resolvedFiles[i]!.systemPromptFile,
      script: resolvedFiles[i]!.script,
      scriptFile: resolvedFiles[i]!.scriptFile
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
