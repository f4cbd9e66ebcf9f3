/**
 * Runs a suite's measurements on the code as `tsc` emits it: the suite's file is bundled with esbuild into
 * a temp file and run by plain `node` (with `childFlag` set in its environment, so the bundle measures
 * instead of bundling again). Under `tsx`, esbuild's `keepNames` wraps every closure in a `__name(...)`
 * call, which doubled the per-step cost of closure-heavy paths (measured on the pipeline: 84 vs 45 µs CPU
 * per step). Falls back to measuring in-process (and says so) if esbuild cannot be loaded.
 */
import type * as Esbuild from "esbuild"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const runBundled = async (options: {
  /** The suite's `import.meta.url`. */
  readonly entry: string
  readonly name: string
  readonly childFlag: string
  readonly measureAll: () => Promise<void>
  /** Flags for the node that runs the bundle (e.g. `--expose-gc`). */
  readonly nodeArgs?: ReadonlyArray<string>
}): Promise<void> => {
  let esbuild: typeof Esbuild | undefined
  try {
    esbuild = await import("esbuild")
  } catch {
    esbuild = undefined
  }
  if (esbuild === undefined) {
    console.log("(esbuild unavailable: measuring under tsx, with __name wrappers; figures are higher)")
    return options.measureAll()
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `bench-${options.name}-`))
  try {
    const outfile = path.join(dir, `${options.name}.mjs`)
    await esbuild.build({
      entryPoints: [fileURLToPath(options.entry)],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      logLevel: "warning",
      // Only our own code is bundled (that is what keepNames would distort); packages load from
      // node_modules as they are, so CommonJS ones (yaml) keep their own `require`.
      packages: "external"
    })
    // The bundle resolves its packages from this repository's node_modules.
    await fs.symlink(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../node_modules"),
      path.join(dir, "node_modules")
    )
    execFileSync(process.execPath, [...(options.nodeArgs ?? []), outfile], {
      stdio: "inherit",
      env: { ...process.env, [options.childFlag]: "1" }
    })
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
