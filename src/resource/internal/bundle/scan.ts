/**
 * Which files belong to a bundle, and finding them under the root without following links out of it.
 *
 * @since 0.1.0
 */
import type * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Context, Report } from "./types.js"

const bundleBaseNames = new Set([
  "effect-swarm",
  "goondan",
  "model",
  "models",
  "agent",
  "agents",
  "tool",
  "tools",
  "mcp",
  "mcp-servers",
  "mcpservers",
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

/**
 * The base names of a bundle's manifest file.
 *
 * @since 0.1.0
 */
export const manifestBaseNames = new Set(["effect-swarm", "goondan"])
const skippedDirectories = new Set(["node_modules", "dist", ".git"])
/**
 * The lockfile names, in lookup order.
 *
 * @since 0.1.0
 */
export const lockfileNames = ["effect-swarm.lock.yaml", "goondan.lock.yaml"]
/**
 * Where an installed package keeps its manifest, in lookup order.
 *
 * @since 0.1.0
 */
export const dependencyManifests = [
  "dist/effect-swarm.yaml",
  "dist/goondan.yaml",
  "effect-swarm.yaml",
  "goondan.yaml"
]

/**
 * `.yaml` / `.yml`.
 *
 * @since 0.1.0
 */
export const yamlExtension = /\.ya?ml$/i

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

/**
 * Whether `target` is `root` or inside it.
 *
 * @since 0.1.0
 */
export const within = (path: Path.Path, root: string, target: string): boolean => {
  const rel = path.relative(root, target)
  return rel === "" || (!rel.startsWith(`..${path.sep}`) && rel !== ".." && !path.isAbsolute(rel))
}

// Only the head of a file is read: a resource's apiVersion comes first in practice, and a large
// unrelated YAML file must not slow loading down.
const headBytes = 16 * 1024
const ourApiVersion = /^apiVersion:[ \t]*["']?(effect-swarm\/v1|goondan\.ai\/v1)["']?[ \t]*(?:#.*)?$/m

const declaredApiVersion = (ctx: Context, file: string) =>
  ctx.fs.open(file, { flag: "r" }).pipe(
    Effect.flatMap((handle) => handle.readAlloc(headBytes)),
    Effect.map((bytes) =>
      Option.isSome(bytes) ? ourApiVersion.exec(new TextDecoder().decode(bytes.value))?.[1] : undefined
    ),
    Effect.scoped,
    Effect.orElseSucceed(() => undefined)
  )

/**
 * The bundle files under `root`, sorted; links out of the root are reported.
 *
 * @since 0.1.0
 */
export const scan = (ctx: Context, root: string, realRoot: string, report: Report) =>
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
            if (yamlExtension.test(name) && !lockfileNames.includes(name.toLowerCase())) {
              // At the root every YAML file is reported; deeper down only one that declares a resource of
              // ours, so CI configs, fixtures and Kubernetes manifests in subdirectories stay quiet.
              const declares = dir === root ? undefined : yield* declaredApiVersion(ctx, full)
              if (dir === root || declares !== undefined) {
                report(
                  "E_CONFIG_FILE_IGNORED",
                  rel,
                  undefined,
                  "",
                  declares === undefined
                    ? `${rel} is not loaded: its name is not a bundle file name`
                    : `${rel} declares apiVersion ${declares} but is not loaded: its name is not a bundle file name`,
                  {
                    severity: "warning",
                    suggestion: "name it resources.yaml, tools.yaml, agents.yaml, ... (see docs/bundles.md) to load it"
                  }
                )
              }
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

/**
 * Whether a file is the bundle manifest (`effect-swarm.yaml`, `goondan.yaml`).
 *
 * @since 0.1.0
 */
export const manifestFile = (path: Path.Path, file: string): boolean =>
  manifestBaseNames.has(path.basename(file).replace(yamlExtension, "").toLowerCase())
