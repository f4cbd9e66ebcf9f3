// Builds the `effect-swarm` bin into dist/bin/ (run by `npm run build` after tsc):
// - cli.cjs: src/cli/bin.ts and everything it imports (effect, @effect/cli, @effect/platform-node, yaml,
//   ajv, ...) bundled by esbuild into one CommonJS file. Command implementations are imported with
//   `import()` in src/cli/Cli.ts, so esbuild wraps them in lazy initialisers: `--help` evaluates only the
//   command tree.
// - effect-swarm.cjs: the launcher (scripts/launcher.cjs), which runs cli.cjs through a V8 code cache.
// Why: Node 20 spends about 0.9 s loading the hundreds of ES modules of `effect` and
// `@effect/platform-node`; one bundled script with a code cache starts in a fraction of that (BENCHMARKS.md,
// cli-startup).
import * as esbuild from "esbuild"
import { copyFileSync, mkdirSync, rmSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
// `node scripts/bundle-bin.mjs [outdir]` (tests build into a temporary directory).
const outdir = path.resolve(process.argv[2] ?? path.join(root, "dist", "bin"))
rmSync(outdir, { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })

// Node 20 cannot run a dynamic import() from a function that V8 restored from a code cache
// (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and the launcher compiles the bundle with one. So the
// import() calls that stay dynamic (tool and extension modules, tsx) go through `__esImport`, which the
// launcher defines in its own (normally loaded) module; relative literal imports are bundled by esbuild
// and left alone, and so is the sandbox worker, whose source is a string run in another process.
const dynamicImports = {
  name: "dynamic-imports-through-launcher",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const { readFile } = await import("node:fs/promises")
      const source = await readFile(args.path, "utf8")
      if (args.path.includes(`${path.sep}sandbox${path.sep}worker${path.sep}`)) {
        return { contents: source, loader: "ts" }
      }
      return { contents: source.replace(/\bimport\((?!\s*["']\.\.?\/)/g, "__esImport("), loader: "ts" }
    })
  }
}

await esbuild.build({
  plugins: [dynamicImports],
  absWorkingDir: root,
  entryPoints: ["src/cli/bin.ts"],
  outfile: path.join(outdir, "cli.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  // The sources are ES modules: `import.meta.url` becomes the bundle's own file URL.
  define: { "import.meta.url": "__importMetaUrl" },
  banner: {
    js: "var __importMetaUrl = require(\"node:url\").pathToFileURL(__filename).href;" +
      "var __esImport = globalThis.__effectSwarmImport || ((specifier) => import(specifier));"
  },
  // tsx registers its loader by file path inside its own package: it stays a dependency, not bundled.
  external: ["tsx", "tsx/*", "@opentelemetry/*"],
  logLevel: "warning"
})

copyFileSync(path.join(root, "scripts", "launcher.cjs"), path.join(outdir, "effect-swarm.cjs"))
