/**
 * The package as a user installs it: `npm pack` (which builds), the tarball unpacked into a clean
 * project outside this repository as `npm install` would lay it out (its dependencies linked from this
 * repository's node_modules: the test runs offline), then the bin runs a bundle whose in-process tool is
 * TypeScript, on this Node (20: no type stripping), without tsx in front of it.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { repo, spawn } from "./bin.js"

const exec = (argv: ReadonlyArray<string>, cwd: string, env?: Record<string, string>) => spawn(argv, { cwd, env })

describe("the packed package", () => {
  it.scoped(
    "npm pack, unpacked into a clean project: the bin loads a TypeScript tool on Node 20",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const tmp = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-pack-" })
        const npm = process.platform === "win32" ? "npm.cmd" : "npm"
        // `npm pack` builds (prepack). .ci/run has just built the same tree and says so with ES_PACK_PREBUILT=1:
        // packing that build skips a second tsc + bundle (about a minute of CI), and packs the same files.
        const prebuilt = process.env["ES_PACK_PREBUILT"] === "1"
        const packed = yield* exec(
          [npm, "pack", "--json", "--pack-destination", tmp, ...(prebuilt ? ["--ignore-scripts"] : [])],
          repo
        )
        assert.strictEqual(packed.code, 0, packed.stderr)
        const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")))
        const files: ReadonlyArray<string> = info.files.map((f: { path: string }) => f.path)
        for (
          const f of ["dist/bin/effect-swarm.cjs", "dist/bin/cli.cjs", "dist/src/index.js", "LICENSE", "README.md"]
        ) {
          assert.include(files, f)
        }
        assert.isFalse(files.some((f) => f.startsWith("test/")), "no tests in the package")

        // A clean project: package.json, the tarball unpacked as node_modules/effect-swarm, the bin link.
        const project = path.join(tmp, "project")
        const modules = path.join(project, "node_modules")
        yield* fs.makeDirectory(path.join(modules, ".bin"), { recursive: true })
        yield* fs.writeFileString(path.join(project, "package.json"), `{ "name": "demo", "private": true }\n`)
        const untar = yield* exec(["tar", "-xzf", path.join(tmp, info.filename), "-C", tmp], tmp)
        assert.strictEqual(untar.code, 0, untar.stderr)
        yield* fs.rename(path.join(tmp, "package"), path.join(modules, "effect-swarm"))
        for (const name of yield* fs.readDirectory(path.join(repo, "node_modules"))) {
          if (name === ".bin" || name.startsWith(".") || name === "effect-swarm") continue
          yield* fs.symlink(path.join(repo, "node_modules", name), path.join(modules, name))
        }
        const target = path.join(modules, "effect-swarm", "dist", "bin", "effect-swarm.cjs")
        yield* fs.chmod(target, 0o755)
        yield* fs.symlink("../effect-swarm/dist/bin/effect-swarm.cjs", path.join(modules, ".bin", "effect-swarm"))
        // The bundle, with no package.json of its own: its .ts files are CommonJS to Node.
        yield* fs.copy(path.join(repo, "test/fixtures/bundles/cli"), path.join(project, "bundle"))

        const home = path.join(tmp, "home")
        const bin = path.join(modules, ".bin", "effect-swarm")
        for (let run = 0; run < 2; run++) { // the second run starts from the code cache the first wrote
          const r = yield* exec([bin, "send", "helper", "greet Ada", "--dir", "bundle"], project, {
            EFFECT_SWARM_HOME: home
          })
          assert.strictEqual(r.stderr, "")
          assert.strictEqual(r.code, 0)
          assert.strictEqual(r.stdout, "HELLO ADA!\n")
        }
        const validate = yield* exec([bin, "validate", "bundle"], project, { EFFECT_SWARM_HOME: home })
        assert.strictEqual(validate.stdout, "ok bundle: 4 resources in 2 files\n")

        // The package's types, as a strict TypeScript project that checks its libraries (skipLibCheck: false)
        // reads them: every public entry point and the module paths the docs import. (Declarations marked
        // internal were stripped from the .d.ts files, and the public ones that named them did not compile.)
        yield* fs.writeFileString(
          path.join(project, "consumer.ts"),
          [
            `import * as Swarm from "effect-swarm"`,
            `import * as Testing from "effect-swarm/testing"`,
            `import * as Observability from "effect-swarm/observability"`,
            `import * as Cli from "effect-swarm/cli/Cli"`,
            `import * as CliExit from "effect-swarm/cli/CliExit"`,
            `import * as McpServers from "effect-swarm/mcp/McpServers"`,
            `import * as EffectAi from "effect-swarm/model/providers/EffectAi"`,
            `import * as WorkerProcess from "effect-swarm/sandbox/WorkerProcess"`,
            `import * as WorkerPool from "effect-swarm/sandbox/WorkerPool"`,
            `import * as Limits from "effect-swarm/sandbox/Limits"`,
            `export const modules = [Swarm, Testing, Observability, Cli, CliExit, McpServers, EffectAi, WorkerProcess, WorkerPool, Limits]`,
            ``
          ].join("\n")
        )
        yield* fs.writeFileString(
          path.join(project, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              module: "NodeNext",
              moduleResolution: "NodeNext",
              target: "ES2022",
              noEmit: true,
              skipLibCheck: false,
              types: ["node"]
            },
            files: ["consumer.ts"]
          })
        )
        const tsc = yield* exec(
          [process.execPath, path.join(repo, "node_modules/typescript/bin/tsc"), "-p", "."],
          project
        )
        assert.strictEqual(tsc.stdout, "", "the package's .d.ts files compile in a strict project")
        assert.strictEqual(tsc.code, 0, tsc.stderr)

        // A consumer reaching into an area's internal/ modules is refused, by Node and by TypeScript.
        const reach = yield* exec(
          [
            process.execPath,
            "--input-type=module",
            "-e",
            `import("effect-swarm/workspace/internal/jsonlWriter").then(() => console.log("imported"), (e) => console.log(e.code))`
          ],
          project
        )
        assert.strictEqual(reach.stdout, "ERR_PACKAGE_PATH_NOT_EXPORTED\n", reach.stderr)
        yield* fs.writeFileString(
          path.join(project, "consumer.ts"),
          `import * as Writer from "effect-swarm/workspace/internal/jsonlWriter"\nexport const w = Writer\n`
        )
        const internal = yield* exec(
          [process.execPath, path.join(repo, "node_modules/typescript/bin/tsc"), "-p", "."],
          project
        )
        assert.notStrictEqual(internal.code, 0, "TypeScript resolves an internal module")
        assert.include(internal.stdout, "effect-swarm/workspace/internal/jsonlWriter")
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 600_000 }
  )

  // Every internal/ folder, at any depth, is closed by package.json "exports" ("./*" opens every other
  // module): checked with Node's own resolver in a project where the package's files are stubs.
  it.scoped(
    "exports: no module under an internal/ folder can be imported by a consumer; public modules can",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const tmp = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-exports-" })
        const pkg = path.join(tmp, "node_modules", "effect-swarm")
        yield* fs.makeDirectory(pkg, { recursive: true })
        yield* fs.copyFile(path.join(repo, "package.json"), path.join(pkg, "package.json"))
        const internal: Array<string> = []
        const walk = (dir: string): Effect.Effect<void, unknown> =>
          fs.readDirectory(path.join(repo, "src", dir)).pipe(
            Effect.flatMap((names) =>
              Effect.forEach(names, (name) => {
                const rel = dir === "" ? name : `${dir}/${name}`
                return Effect.flatMap(fs.stat(path.join(repo, "src", rel)), (info) =>
                  info.type === "Directory"
                    ? walk(rel)
                    : rel.endsWith(".ts") && rel.split("/").includes("internal")
                    ? Effect.sync(() => void internal.push(rel.slice(0, -3)))
                    : Effect.void)
              }, { discard: true })
            )
          )
        yield* walk("")
        assert.isAbove(internal.length, 20)
        const publicModules = ["index", "observability", "workspace/MessageStore", "sandbox/worker/WorkerScript"]
        for (const module of [...internal, ...publicModules]) {
          const file = path.join(pkg, "dist", "src", `${module}.js`)
          yield* fs.makeDirectory(path.dirname(file), { recursive: true })
          yield* fs.writeFileString(file, "export const ok = 1\n")
        }
        const script = `const specs = ${JSON.stringify([...internal, ...publicModules])}
for (const m of specs) {
  const spec = m === "index" ? "effect-swarm" : "effect-swarm/" + m
  try { await import(spec); console.log("open " + m) } catch (e) { console.log((e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" ? "closed " : "error " + e.code + " ") + m) }
}`
        const r = yield* exec([process.execPath, "--input-type=module", "-e", script], tmp)
        assert.strictEqual(r.code, 0, r.stderr)
        const lines = r.stdout.trim().split("\n")
        assert.deepStrictEqual(lines.filter((l) => l.startsWith("open ")), publicModules.map((m) => `open ${m}`))
        assert.deepStrictEqual(lines.filter((l) => !l.startsWith("open ")), internal.map((m) => `closed ${m}`))
      }).pipe(Effect.provide(NodeContext.layer)),
    { timeout: 60_000 }
  )
})
