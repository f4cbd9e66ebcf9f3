/**
 * Package dependencies: the lockfile, version choice, installed packages and cycles.
 *
 * @since 0.1.0
 */
import type * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BundleIssue } from "../../BundleError.js"
import * as ObjectRef from "../../ObjectRef.js"
import * as IssueMessage from "../issueMessage.js"
import * as Semver from "../semver.js"
import { loadFile, readYaml } from "./parse.js"
import { dependencyManifests, lockfileNames } from "./scan.js"
import type { Context, Dependency, Loaded, Report } from "./types.js"

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

/**
 * Loads the declared dependencies (and theirs) from the state root, checking versions and cycles.
 *
 * @since 0.1.0
 */
export const loadDependencies = (
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
