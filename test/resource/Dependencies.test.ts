import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { Bundle } from "effect-swarm"
import * as path from "node:path"
import { agent, docs, issueLines, model, provideNode, tool, writeBundle, writeFiles } from "./helpers.js"

const pkg = (name: string, deps: ReadonlyArray<readonly [string, string]> = [], version?: string) => {
  const lines = [
    ...(version === undefined ? [] : [`  version: "${version}"`]),
    ...(deps.length === 0 ? [] : [
      "  dependencies:",
      ...deps.map(([n, v]) => `    - { name: "${n}", version: "${v}" }`)
    ])
  ]
  return `apiVersion: effect-swarm/v1
kind: Package
metadata: { name: "${name}" }
spec:${lines.length === 0 ? " {}" : `\n${lines.join("\n")}`}
`
}

const lock = (...keys: ReadonlyArray<string>) =>
  `lockfileVersion: 1\npackages:\n${keys.map((k) => `  "${k}": {}`).join("\n")}\n`

/** A bundle depending on `deps`, with `home` holding installed packages. */
const setup = (
  deps: ReadonlyArray<readonly [string, string]>,
  locked: ReadonlyArray<string> | undefined,
  installed: Record<string, string>,
  local = ""
) =>
  Effect.gen(function*() {
    const home = yield* writeBundle(installed)
    const files: Record<string, string> = {
      "effect-swarm.yaml": docs(pkg("@acme/app", deps), ...(local ? [local] : []))
    }
    if (locked !== undefined) files["effect-swarm.lock.yaml"] = lock(...locked)
    const dir = yield* writeBundle(files)
    return { dir, home }
  })

const baseManifest = (name = "@acme/base", extra = "", deps: ReadonlyArray<readonly [string, string]> = []) =>
  docs(pkg(name, deps), tool("bash", "./dist/tools/bash.js"), ...(extra ? [extra] : []))

describe("Bundle.load: package dependencies", () => {
  it.scoped("loads an installed dependency through the lockfile, scoped by package, dist manifest first", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup(
        [["@acme/base", "^0.1.0"]],
        ["@acme/base@0.1.0", "@acme/base@0.1.3", "@acme/base@0.2.0"],
        {
          "packages/acme/base/0.1.3/dist/effect-swarm.yaml": baseManifest(),
          "packages/acme/base/0.1.3/effect-swarm.yaml": docs(pkg("@acme/base"), tool("root-only", "./x.js")),
          "packages/acme/base/0.1.3/dist/tools/bash.js": ""
        },
        docs(
          model(),
          tool("bash", "./tools/bash.js"),
          agent("a", "  tools:\n    - Tool/bash\n    - { kind: Tool, name: bash, package: \"@acme/base\" }\n")
        )
      )
      yield* writeFiles(dir, { "tools/bash.js": "" })
      const bundle = yield* Bundle.load(dir, { stateRoot: home })
      assert.deepStrictEqual(bundle.dependencies.map((d) => `${d.name}@${d.version}`), ["@acme/base@0.1.3"])
      const tools = Bundle.entriesOf(bundle, "Tool").map((t) => `${t.package}|${t.resource.metadata.name}`)
      // dependency resources come first; the local bash and the package's bash do not collide
      assert.deepStrictEqual(tools, ["@acme/base|bash", "@acme/app|bash"])
      const dep = Bundle.find(bundle, "Tool", "bash", "@acme/base")!
      assert.strictEqual(dep.rootDir, path.join(home, "packages/acme/base/0.1.3"))
      assert.strictEqual(dep.entryFile, path.join(home, "packages/acme/base/0.1.3/dist/tools/bash.js"))
      assert.strictEqual(dep.file, "@acme/base/dist/effect-swarm.yaml")
      const a = Bundle.find(bundle, "Agent", "a")!
      assert.deepStrictEqual(
        Bundle.toolCatalog(bundle, a).map((t) => `${t.tool.package}:${t.name}`),
        ["@acme/app:bash__say", "@acme/base:bash__say"]
      )
    })))

  it.scoped("reads the state root from EFFECT_SWARM_HOME (StateRoot) when no option is given", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["base", "1.2.3"]], undefined, {
        "packages/base/1.2.3/goondan.yaml": baseManifest("base"),
        "packages/base/1.2.3/dist/tools/bash.js": ""
      })
      const bundle = yield* Bundle.load(dir).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_SWARM_HOME", home]])))
      )
      assert.deepStrictEqual(bundle.dependencies.map((d) => d.root), [path.join(home, "packages/base/1.2.3")])
    })))

  it.scoped("a range without a lockfile entry: E_CONFIG_PACKAGE_LOCK_MISSING", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["@acme/base", "^0.1.0"]], undefined, {})
      assert.deepStrictEqual(yield* issueLines(dir, { stateRoot: home }), [
        "effect-swarm.yaml:0 spec.dependencies[0].version E_CONFIG_PACKAGE_LOCK_MISSING"
      ])
    })))

  it.scoped("an exact version that the lockfile does not list: E_CONFIG_PACKAGE_LOCK_MISSING", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["@acme/base", "0.3.0"]], ["@acme/base@0.1.0"], {})
      assert.deepStrictEqual(yield* issueLines(dir, { stateRoot: home }), [
        "effect-swarm.yaml:0 spec.dependencies[0].version E_CONFIG_PACKAGE_LOCK_MISSING"
      ])
    })))

  it.scoped("a range that no locked version satisfies: E_CONFIG_PACKAGE_VERSION_MISMATCH", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["@acme/base", "^2.0.0"]], ["@acme/base@1.4.0"], {
        "packages/acme/base/1.4.0/effect-swarm.yaml": baseManifest()
      })
      const error = yield* Bundle.load(dir, { stateRoot: home }).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues.map((i) => [i.code, i.path, i.message]), [[
        "E_CONFIG_PACKAGE_VERSION_MISMATCH",
        "spec.dependencies[0].version",
        "no locked version of @acme/base satisfies ^2.0.0 (locked: 1.4.0)"
      ]])
    })))

  it.scoped("pre-releases follow npm's rules (numeric parts, only the range's own major.minor.patch)", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup(
        [["base", ">=0.0.3-alpha.2"]],
        ["base@0.0.3-alpha.17", "base@0.0.3-alpha.2", "base@0.0.4-beta.1", "base@0.0.2"],
        { "packages/base/0.0.3-alpha.17/goondan.yaml": pkg("base") }
      )
      const bundle = yield* Bundle.load(dir, { stateRoot: home })
      assert.deepStrictEqual(bundle.dependencies.map((d) => d.version), ["0.0.3-alpha.17"])
    })))

  it.scoped("not installed, and installed without a manifest", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup(
        [["@acme/base", "1.0.0"], ["other", "2.0.0"]],
        ["@acme/base@1.0.0", "other@2.0.0"],
        { "packages/other/2.0.0/README.md": "no manifest" }
      )
      assert.deepStrictEqual(yield* issueLines(dir, { stateRoot: home }), [
        "effect-swarm.yaml:0 spec.dependencies[0] E_CONFIG_PACKAGE_NOT_INSTALLED",
        "effect-swarm.yaml:0 spec.dependencies[1] E_CONFIG_PACKAGE_MANIFEST_MISSING"
      ])
    })))

  it.scoped("refs into a package that failed to load are not reported twice", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup(
        [["@acme/base", "1.0.0"]],
        ["@acme/base@1.0.0"],
        {},
        docs(model(), agent("a", "  tools: [{ kind: Tool, name: bash, package: \"@acme/base\" }]\n"))
      )
      assert.deepStrictEqual(yield* issueLines(dir, { stateRoot: home }), [
        "effect-swarm.yaml:0 spec.dependencies[0] E_CONFIG_PACKAGE_NOT_INSTALLED"
      ])
    })))

  it.scoped("a ref into a package that is not a dependency says so", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        "resources.yaml": docs(model(), agent("a", "  tools: [{ kind: Tool, name: bash, package: \"@acme/base\" }]\n"))
      })
      const error = yield* Bundle.load(dir).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues.map((i) => i.code), ["E_CONFIG_REF_NOT_FOUND"])
      assert.include(error.issues[0]!.suggestion!, "is not a dependency")
    })))

  it.scoped("dependency cycles are reported, not looped", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["b", "1.0.0"]], ["b@1.0.0", "c@1.0.0", "@acme/app@1.0.0"], {
        "packages/b/1.0.0/effect-swarm.yaml": pkg("b", [["c", "1.0.0"]]),
        "packages/c/1.0.0/effect-swarm.yaml": pkg("c", [["b", "1.0.0"], ["@acme/app", "1.0.0"]])
      })
      const error = yield* Bundle.load(dir, { stateRoot: home }).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues.map((i) => `${i.file} ${i.path} ${i.code} ${i.message}`), [
        "c/effect-swarm.yaml spec.dependencies[0] E_CONFIG_PACKAGE_CYCLE package dependencies form a cycle: b -> c -> b",
        "c/effect-swarm.yaml spec.dependencies[1] E_CONFIG_PACKAGE_CYCLE package dependencies form a cycle: @acme/app -> b -> c -> @acme/app"
      ])
    })))

  it.scoped("two versions of one package: E_CONFIG_PACKAGE_VERSION_CONFLICT", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["b", "1.0.0"], ["c", "1.0.0"]], ["b@1.0.0", "b@2.0.0", "c@1.0.0"], {
        "packages/b/1.0.0/effect-swarm.yaml": pkg("b"),
        "packages/c/1.0.0/effect-swarm.yaml": pkg("c", [["b", "2.0.0"]])
      })
      assert.deepStrictEqual(yield* issueLines(dir, { stateRoot: home }), [
        "c/effect-swarm.yaml:0 spec.dependencies[0].version E_CONFIG_PACKAGE_VERSION_CONFLICT"
      ])
    })))

  it.scoped("issues inside a dependency's manifest name the package file", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup([["b", "1.0.0"]], ["b@1.0.0"], {
        "packages/b/1.0.0/effect-swarm.yaml": docs(pkg("b"), tool("t", "./missing.js"))
      })
      assert.deepStrictEqual(yield* issueLines(dir, { stateRoot: home }), [
        "b/effect-swarm.yaml:1 spec.entry E_CONFIG_ENTRY_NOT_FOUND"
      ])
      // with dependencies off, nothing of the package is read
      const bundle = yield* Bundle.load(dir, { stateRoot: home, dependencies: false })
      assert.deepStrictEqual(bundle.dependencies, [])
    })))

  it.scoped("a dependency whose Package document names another package or version: E_CONFIG_PACKAGE_IDENTITY_MISMATCH", () =>
    provideNode(Effect.gen(function*() {
      const { dir, home } = yield* setup(
        [["@acme/base", "1.0.0"], ["other", "2.0.0"], ["fine", "3.0.0"]],
        ["@acme/base@1.0.0", "other@2.0.0", "fine@3.0.0"],
        {
          "packages/acme/base/1.0.0/effect-swarm.yaml": docs(pkg("@evil/base")),
          "packages/other/2.0.0/effect-swarm.yaml": docs(pkg("other", [], "2.0.1")),
          "packages/fine/3.0.0/effect-swarm.yaml": docs(pkg("fine", [], "3.0.0"))
        }
      )
      const error = yield* Bundle.load(dir, { stateRoot: home }).pipe(Effect.flip)
      assert.deepStrictEqual(
        error.issues.map((i) => `${i.file}:${i.line} ${i.path} ${i.code}`),
        [
          "@acme/base/effect-swarm.yaml:3 metadata.name E_CONFIG_PACKAGE_IDENTITY_MISMATCH",
          "other/effect-swarm.yaml:5 spec.version E_CONFIG_PACKAGE_IDENTITY_MISMATCH"
        ]
      )
      assert.include(error.issues[0]!.message, `installed as @acme/base@1.0.0`)
      assert.include(error.issues[0]!.message, `named "@evil/base"`)
      assert.include(error.issues[1]!.message, "says version 2.0.1")
    })))
})
