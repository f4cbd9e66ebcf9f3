import { assert, describe, it } from "@effect/vitest"
import { Permissions } from "effect-swarm"
import * as Limits from "effect-swarm/sandbox/Limits"
import * as fs from "node:fs"
import * as path from "node:path"

const base = {
  maxMemoryMB: 256,
  nodeOptions: [] as ReadonlyArray<string>,
  workerPath: "/p/worker/worker.mjs",
  implicitRead: ["/p/worker", "/e/tools.mjs"],
  scratchDir: "/p/calls/c-1",
  callEnvNames: [] as ReadonlyArray<string>
}

describe("Limits.launchArgs", () => {
  it("node 20: permission model with the worker, entrypoint and scratch readable; heap cap after nodeOptions", () => {
    const args = Limits.launchArgs({
      ...base,
      capabilities: Limits.capabilitiesOf("node", "20.20.2"),
      grants: Permissions.grants(["--allow-read=/data", "--allow-net", "--allow-env"]),
      nodeOptions: ["--max-old-space-size=8192", "--stack-size=2000"]
    })
    assert.deepStrictEqual(args, [
      "--experimental-permission",
      "--disable-warning=ExperimentalWarning",
      "--allow-fs-read=/data",
      "--allow-fs-read=/p/worker",
      "--allow-fs-read=/e/tools.mjs",
      "--allow-fs-read=/p/calls/c-1",
      "--allow-fs-write=/p/calls/c-1",
      "--max-old-space-size=8192",
      "--stack-size=2000",
      "--max-old-space-size=256",
      "/p/worker/worker.mjs"
    ])
  })

  it("a path granted twice (or with a trailing slash) is passed once: Node 20 aborts on duplicates", () => {
    const args = Limits.launchArgs({
      ...base,
      capabilities: Limits.capabilitiesOf("node", "20.20.2"),
      grants: Permissions.grants(["--allow-read=/p/worker/,/e,/e", "--allow-write=/p/calls/c-1", "--allow-net"])
    })
    const reads = args.filter((a) => a.startsWith("--allow-fs-read="))
    assert.deepStrictEqual(reads, [
      "--allow-fs-read=/p/worker",
      "--allow-fs-read=/e",
      "--allow-fs-read=/e/tools.mjs",
      "--allow-fs-read=/p/calls/c-1"
    ])
    assert.deepStrictEqual(args.filter((a) => a.startsWith("--allow-fs-write=")), ["--allow-fs-write=/p/calls/c-1"])
  })

  it("node 22+: --permission; everything granted: no permission model at all", () => {
    const caps = Limits.capabilitiesOf("node", "22.3.0")
    assert.strictEqual(
      Limits.launchArgs({ ...base, capabilities: caps, grants: Permissions.grants(["--allow-read"]) })[0],
      "--permission"
    )
    assert.deepStrictEqual(
      Limits.launchArgs({ ...base, capabilities: caps, grants: Permissions.grants(["--allow-all"]) }),
      ["--max-old-space-size=256", "/p/worker/worker.mjs"]
    )
  })

  it("deno: native flags per kind, call env names readable, -A only when everything is granted", () => {
    const caps = Limits.capabilitiesOf("deno", "2.9.6")
    assert.deepStrictEqual(
      Limits.launchArgs({
        ...base,
        capabilities: caps,
        grants: Permissions.grants(["--allow-net=api.example.com:443", "--allow-env=API_KEY", "--allow-run=git"]),
        callEnvNames: ["MODE"]
      }),
      [
        "run",
        "-q",
        "--no-prompt",
        "--no-lock",
        "--no-config",
        "--v8-flags=--max-old-space-size=256",
        "--allow-read=/p/worker,/e/tools.mjs,/p/calls/c-1",
        "--allow-write=/p/calls/c-1",
        "--allow-net=api.example.com:443",
        "--allow-env=API_KEY,MODE",
        "--allow-run=git",
        "/p/worker/worker.mjs"
      ]
    )
    assert.include(
      Limits.launchArgs({ ...base, capabilities: caps, grants: Permissions.grants(["--allow-all"]) }),
      "--allow-all"
    )
  })

  it("bun: no permission flags (it has none), no .env autoload, no auto-install", () => {
    assert.deepStrictEqual(
      Limits.launchArgs({
        ...base,
        capabilities: Limits.capabilitiesOf("bun", "1.4.5"),
        grants: Permissions.grants(["--allow-all"])
      }),
      ["--no-env-file", "--no-install", "/p/worker/worker.mjs"]
    )
  })
})

/**
 * The table "What each runtime enforces with its own flags" of docs/tools-and-sandbox.md, read from the page:
 * for each runtime column, the permission kinds whose cell says **refused**.
 */
const documentedRefusals = (): Record<string, ReadonlyArray<string>> => {
  const page = fs.readFileSync(path.resolve(__dirname, "../../docs/tools-and-sandbox.md"), "utf8")
  const start = page.indexOf("### What each runtime enforces with its own flags")
  assert.isAtLeast(start, 0, "the page has the table")
  const rows = page.slice(start).split("\n").filter((l) => l.startsWith("|")).slice(0, 9)
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim()))
  const [header, , ...body] = rows
  const kinds: Record<string, ReadonlyArray<string>> = {
    "read / write paths": ["read", "write"],
    network: ["net"],
    subprocesses: ["run"],
    environment: ["env"]
  }
  const out: Record<string, Array<string>> = {}
  header!.slice(1).forEach((runtime, i) => {
    out[runtime] = body.filter((row) => row[0]! in kinds && row[i + 1]!.startsWith("**refused**"))
      .flatMap((row) => kinds[row[0]!]!)
  })
  return out
}

describe("Limits.unenforced and capabilities", () => {
  it("matches the table of docs/tools-and-sandbox.md", () => {
    const none = Permissions.grants([])
    const refused = (runtime: "bun" | "node" | "deno", version: string) =>
      Limits.unenforced(Limits.capabilitiesOf(runtime, version), none).map((u) => u.permission)
    const documented = documentedRefusals()
    assert.deepStrictEqual(Object.keys(documented), ["Deno", "Node 20-24", "Node >= 25", "Bun"])
    assert.deepStrictEqual(refused("deno", "2.9.6"), documented["Deno"])
    assert.deepStrictEqual(refused("node", "20.20.2"), documented["Node 20-24"])
    assert.deepStrictEqual(refused("node", "25.0.0"), documented["Node >= 25"])
    assert.deepStrictEqual(refused("bun", "1.4.5"), documented["Bun"])
  })

  it("refuses what the runtime cannot enforce, kind by kind", () => {
    const none = Permissions.grants([])
    const kinds = (runtime: "bun" | "node" | "deno", version: string) =>
      Limits.unenforced(Limits.capabilitiesOf(runtime, version), none).map((u) => u.permission)
    assert.deepStrictEqual(kinds("bun", "1.4.5"), ["read", "write", "net", "run", "env"])
    assert.deepStrictEqual(kinds("node", "20.20.2"), ["net"])
    assert.deepStrictEqual(kinds("node", "25.0.0"), [])
    assert.deepStrictEqual(kinds("deno", "2.9.6"), [])
    const scoped = Permissions.grants(["--allow-read", "--allow-write", "--allow-run=git", "--allow-net=a.com"])
    assert.deepStrictEqual(
      Limits.unenforced(Limits.capabilitiesOf("node", "25.1.0"), scoped).map((u) => u.permission),
      ["net", "run"]
    )
  })
})

describe("Limits environment", () => {
  it("forwards only explicitly granted host variables; --allow-all forwards none", () => {
    assert.strictEqual(Limits.hostEnvGrant(["--allow-all"]), "none")
    assert.deepStrictEqual(Limits.hostEnvGrant(["--allow-all", "--allow-env=A"]), ["A"])
    assert.strictEqual(Limits.hostEnvGrant(["--allow-env"]), "all")
    const env = Limits.childEnv({
      hostEnv: { A: "1", B: "2", NODE_OPTIONS: "--require x", LD_PRELOAD: "y", PATH: "/bin" },
      envGrant: "all",
      scratchDir: "/s",
      callEnv: { C: "3" },
      extra: {}
    })
    assert.deepStrictEqual(env, { A: "1", B: "2", PATH: "/bin", HOME: "/s", TMPDIR: "/s", C: "3" })
  })

  it("validates call env names and values", () => {
    assert.isUndefined(Limits.validateCallEnv({ http_proxy: "x", _A1: "y" }))
    for (
      const bad of [{ "1A": "x" }, { "A-B": "x" }, { DYLD_INSERT_LIBRARIES: "x" }, { BUN_CONFIG_X: "x" }, { A: "\0" }]
    ) {
      assert.strictEqual(Limits.validateCallEnv(bad as Record<string, string>)?._tag, "InvalidToolEnv")
    }
  })
})

describe("Limits.bunUnsafeDirectory", () => {
  it("finds the deepest `?` in the path; `#` and other characters are safe", () => {
    assert.strictEqual(Limits.bunUnsafeDirectory("/w/a?b/tools?v=2/lib/main.mjs"), "/w/a?b/tools?v=2")
    assert.strictEqual(Limits.bunUnsafeDirectory("/w/tools/what?.mjs"), "/w/tools/what?.mjs")
    assert.isUndefined(Limits.bunUnsafeDirectory("/w/tools #1 %20 ü/main.mjs"))
  })

  it("bun gets --preserve-symlinks only when the entry is imported through a link", () => {
    const caps = Limits.capabilitiesOf("bun", "1.4.5")
    const grants = Permissions.grants(["--allow-all"])
    assert.deepStrictEqual(
      Limits.launchArgs({ ...base, capabilities: caps, grants }),
      ["--no-env-file", "--no-install", "/p/worker/worker.mjs"]
    )
    assert.deepStrictEqual(
      Limits.launchArgs({ ...base, capabilities: caps, grants, preserveSymlinks: true }),
      ["--no-env-file", "--no-install", "--preserve-symlinks", "/p/worker/worker.mjs"]
    )
  })
})
