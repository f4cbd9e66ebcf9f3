import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import * as path from "node:path"
import { cli } from "../../src/cli/Cli.js"
import { validate } from "../../src/cli/Validate.js"

const repo = path.resolve(__dirname, "../..")
const hostile = path.join(repo, "test/fixtures/bundles/hostile")

/** Runs `effect` with a console whose `log` lines are collected. */
const captureLog = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const current = yield* Effect.console
    const exit = yield* effect.pipe(
      Effect.withConsole({
        ...current,
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
      }),
      Effect.either
    )
    return { lines, exit }
  })

/** Spawns the real CLI (`tsx src/cli/bin.ts ...`) and returns its stdout and exit status. */
const spawnCli = (...args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const proc = yield* Command.make(path.join(repo, "node_modules/.bin/tsx"), "src/cli/bin.ts", ...args).pipe(
      Command.workingDirectory(repo),
      Command.env({ NO_COLOR: "1" }),
      Command.start
    )
    const [stdout, code] = yield* Effect.all(
      [proc.stdout.pipe(Stream.decodeText(), Stream.mkString), proc.exitCode],
      { concurrency: 2 }
    )
    return { stdout, code: Number(code) }
  })).pipe(Effect.provide(NodeContext.layer))

describe("effect-swarm validate", () => {
  it.effect("prints file:document path (line N)  CODE  message with the suggestion, and fails with CliExit(1)", () =>
    Effect.gen(function*() {
      const { exit, lines } = yield* captureLog(
        validate(path.join(hostile, "entry-escape"), { json: false, color: false })
      )
      assert.deepStrictEqual(lines, [
        `tools.yaml:0 spec.entry (line 6)  E_CONFIG_ENTRY_OUTSIDE_ROOT  path "../../etc/passwd" escapes the bundle root\n` +
        `    suggestion: keep the file inside the bundle directory and reference it as ./path/to/file`,
        `failed ${path.join(hostile, "entry-escape")}: 1 error`
      ])
      assert.isTrue(Either.isLeft(exit) && exit.left._tag === "CliExit" && exit.left.code === 1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("on a terminal, a progress line shows while loading and is erased before the results", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const progress = { write: (text: string) => void written.push(text) }
      const dir = path.join(repo, "examples/bundles/minimal")
      const { lines } = yield* captureLog(validate(dir, { json: false, color: false, progress }))
      assert.deepStrictEqual(written, [`\r\u001b[Kvalidating ${dir}…`, "\r\u001b[K"])
      assert.strictEqual(lines.length, 1)
      // --json output is for programs: no progress at all.
      written.length = 0
      yield* captureLog(validate(dir, { json: true, progress }))
      assert.deepStrictEqual(written, [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("--json through the command parser prints a JSON array of issues", () =>
    Effect.gen(function*() {
      const { exit, lines } = yield* captureLog(
        cli(["node", "effect-swarm", "validate", path.join(hostile, "symlink-file"), "--json"])
      )
      const issues = JSON.parse(lines.join("\n"))
      assert.deepStrictEqual(issues.map((i: { code: string }) => i.code), ["E_CONFIG_FILE_OUTSIDE_ROOT"])
      assert.isTrue(Either.isLeft(exit))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("colours only when asked (or on a terminal)", () =>
    Effect.gen(function*() {
      const plain = yield* captureLog(validate(path.join(repo, "examples/bundles/minimal"), { json: false }))
      assert.deepStrictEqual(plain.lines, [`ok ${path.join(repo, "examples/bundles/minimal")}: 4 resources in 1 file`])
      const colored = yield* captureLog(
        validate(path.join(hostile, "entry-escape"), { json: false, color: true })
      )
      assert.include(colored.lines[0]!, "\u001b[31;1mE_CONFIG_ENTRY_OUTSIDE_ROOT\u001b[0m")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("the example bundles validate clean", () =>
    Effect.gen(function*() {
      for (const [dir, summary] of [["minimal", "4 resources in 1 file"], ["multi-agent", "14 resources in 8 files"]]) {
        const bundle = path.join(repo, "examples/bundles", dir!)
        const { exit, lines } = yield* captureLog(validate(bundle, { json: false, color: false }))
        assert.isTrue(Either.isRight(exit))
        assert.deepStrictEqual(lines, [`ok ${bundle}: ${summary}`])
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("the real process prints the issues and exits 1 on a broken bundle", () =>
    Effect.gen(function*() {
      const bad = yield* spawnCli("validate", "test/fixtures/bundles/hostile/billion-laughs", "--json")
      assert.strictEqual(bad.code, 1)
      assert.deepStrictEqual(JSON.parse(bad.stdout).map((i: { code: string }) => i.code), ["E_CONFIG_ALIAS_LIMIT"])
    }), { timeout: 120_000 })
})
