import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as fs from "node:fs"
import * as path from "node:path"
import { fixture, tempDir } from "./helpers.js"

const tools = fixture("sandbox", "tools.mjs")
const bwrapOnHost = (process.env.PATH ?? "").split(path.delimiter).some((dir) =>
  dir.length > 0 && fs.existsSync(path.join(dir, "bwrap"))
)

/** A node ToolRuntime built under a ConfigProvider whose PATH is `searchPath` (process.env untouched). */
const underPath = (
  searchPath: string,
  isolation: RuntimeConfig.Isolation,
  binaries?: ToolRuntime.Options["binaries"]
) =>
<A, E>(self: Effect.Effect<A, E, ToolRuntime.ToolRuntime>) =>
  self.pipe(
    Effect.provide(
      ToolRuntime.layerWith({ killGrace: "500 millis", ...(binaries === undefined ? {} : { binaries }) }).pipe(
        Layer.provide(
          RuntimeConfig.layer(
            "node",
            RuntimeConfig.withEntrypointPath(tools),
            RuntimeConfig.withIsolation(isolation),
            RuntimeConfig.withPrespawn(0)
          )
        )
      )
    ),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PATH", searchPath]])))
  )

describe("ToolRuntime reads the host PATH through effect Config", () => {
  it.scoped("tools get the PATH of the ConfigProvider, and a bare runtime name is found on it", () =>
    Effect.gen(function*() {
      const bin = yield* tempDir("es-hostenv-")
      // A bare name no PATH of this machine knows: found only through the configured PATH.
      fs.symlinkSync(process.execPath, path.join(bin, "es-config-path-node"))
      const searchPath = [bin, "/usr/local/bin", "/usr/bin", "/bin"].join(path.delimiter)
      assert.notStrictEqual(process.env.PATH, searchPath)
      for (const isolation of bwrapOnHost ? ["runtime", "os"] as const : ["runtime"] as const) {
        const seen = (yield* ToolRuntime.ToolRuntime.pipe(
          Effect.flatMap((runtime) => runtime.execute({ toolId: "env", input: { names: ["PATH"] } })),
          underPath(searchPath, isolation, { node: "es-config-path-node" })
        )) as { process: Record<string, string> }
        assert.strictEqual(seen.process.PATH, searchPath, isolation)
      }
    }))

  it.scoped.skipIf(!bwrapOnHost)(
    "bwrap is looked up on the configured PATH: without it there, isolation os is refused",
    () =>
      Effect.gen(function*() {
        const empty = yield* tempDir("es-hostenv-")
        const error = yield* ToolRuntime.ToolRuntime.pipe(
          Effect.flatMap((runtime) => runtime.execute({ toolId: "env", input: { names: [] } })),
          underPath(empty, "os"),
          Effect.flip
        )
        assert.strictEqual(error._tag, "IsolationUnavailable")
        assert.include(error.message, "no bwrap binary on PATH")
      })
  )
})
