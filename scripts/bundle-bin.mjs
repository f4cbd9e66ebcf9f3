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

await esbuild.build({
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
  banner: { js: "var __importMetaUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
  logLevel: "warning"
})

copyFileSync(path.join(root, "scripts", "launcher.cjs"), path.join(outdir, "effect-swarm.cjs"))
