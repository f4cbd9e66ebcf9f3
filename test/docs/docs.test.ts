/**
 * docs/: every page's example is the file under docs/examples/ it names (no drift between page and file),
 * and every example runs: the TypeScript ones under tsx, the CLI one with the built bin on PATH.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import * as Bin from "../cli/bin.js"

const repo = Bin.repo
const Live = Layer.merge(Bin.layer, NodeContext.layer)

const exec = (argv: ReadonlyArray<string>, env: Record<string, string>) =>
  Bin.spawn(argv, { cwd: repo, env: { NO_COLOR: "1", ...env } })

const expected: Record<string, ReadonlyArray<string>> = {
  "runtime-config.ts": [
    "deno production: --allow-read=./data --allow-net=api.example.com, 30s",
    "node development: --allow-all, 10s",
    "build failed with 3 errors:"
  ],
  "bundles.ts": ["Swarm/default", "E_CONFIG_ENTRY_OUTSIDE_ROOT"],
  "tools-and-sandbox.ts": [`{"sum":3}`],
  "conversations-and-storage.ts": ["durable at seq 1", "user: What is in README.md?"],
  "models.ts": ["tool calls: clock__now", "text: You are welcome."],
  "agents-and-extensions.ts": ["tool ops__echo: ok", "text_response: done"],
  "events-and-middleware.ts": [
    `call-1: {"wrapped":3}`,
    "CODE: E_TOOL_INVALID_ARGS",
    "CODE: E_TOOL_NOT_IN_CATALOG",
    "events: turn.started, step.started, tool.called, tool.completed"
  ],
  "context-windows.ts": ["1 pinned, omitted seq 1..6", "user: [context window: 4 earlier messages"],
  "mcp.ts": ["catalog: words__word_x002ecount", `words__word_x002ecount: ok "4"`, "reply: That text has four words."],
  "observability.ts": ["name: 'invoke_agent sandboxed'", "name: 'effect-swarm.sandbox.worker'", "turn: text_response"],
  "orchestrator.ts": ["reply: text_response", "inputs: plan the week, monday, tuesday, wednesday, summary"],
  "connectors.ts": [
    "lines-in: ping -> pong (helpdesk@lines-config, streamed 4 chars)",
    "web-in: 200 Order 42 ships tomorrow. (helpdesk@web-ada)",
    "web-in without a signature: 401"
  ]
}

describe("docs", () => {
  layer(Live, { timeout: 300_000 })((it) => {
    it.effect("each page shows its example file verbatim", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const pages = (yield* fs.readDirectory(path.join(repo, "docs"))).filter((f) => f.endsWith(".md"))
        let checked = 0
        for (const page of pages) {
          const text = yield* fs.readFileString(path.join(repo, "docs", page))
          const named = /`docs\/examples\/([\w.-]+)`/.exec(text)
          if (named === null) continue
          const example = yield* fs.readFileString(path.join(repo, "docs/examples", named[1]!))
          assert.include(text, "\n" + example.trimEnd() + "\n```", `${page} shows ${named[1]} as it is`)
          checked++
        }
        assert.strictEqual(checked, 13)
      }))

    // One test per example, each with its own time budget: on a loaded machine one tsx start can take a while.
    for (const [file, lines] of Object.entries(expected)) {
      it.effect(`the TypeScript example ${file} runs`, () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-docs-home-" })
          const r = yield* exec([path.join(repo, "node_modules/.bin/tsx"), `docs/examples/${file}`], {
            EFFECT_SWARM_HOME: home
          })
          assert.strictEqual(r.code, 0, `${file}: ${r.stderr}`)
          for (const line of lines) assert.include(r.stdout, line, file)
        }).pipe(Effect.scoped), { timeout: 300_000 })
    }

    it.effect("the CLI example runs with the built bin", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const bin = yield* Bin.Bin
        const pathDir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-docs-path-" })
        const wrapper = path.join(pathDir, "effect-swarm")
        yield* fs.writeFileString(
          wrapper,
          `#!/bin/sh\nexec "${process.execPath}" "${path.join(bin.dir, "effect-swarm.cjs")}" "$@"\n`
        )
        yield* fs.chmod(wrapper, 0o755)
        const r = yield* exec(["sh", "docs/examples/cli.sh"], {
          PATH: `${pathDir}:${process.env.PATH ?? ""}`,
          EFFECT_SWARM_HOME: bin.home
        })
        assert.strictEqual(r.code, 0, r.stderr)
        assert.include(r.stdout, "ok test/fixtures/bundles/cli: 4 resources in 2 files")
        assert.include(r.stdout, "HELLO ADA!")
        assert.include(r.stdout, "helper@docs")
        assert.include(r.stdout, "tool.completed")
      }).pipe(Effect.scoped), { timeout: 300_000 })
  })
})
