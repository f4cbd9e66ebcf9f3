import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { findOnPath } from "effect-swarm/sandbox/Sandbox"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "./helpers.js"

describe("Sandbox.findOnPath (shared with the MCP stdio client)", () => {
  it.scoped("looks a bare name up in the PATH it is given, never the process's own", () =>
    Effect.gen(function*() {
      const a = yield* tempDir()
      const b = yield* tempDir()
      fs.writeFileSync(path.join(a, "not-executable"), "", { mode: 0o644 })
      fs.writeFileSync(path.join(b, "not-executable"), "#!/bin/sh\n", { mode: 0o755 })
      fs.writeFileSync(path.join(b, "es-tool"), "#!/bin/sh\n", { mode: 0o755 })
      const searchPath = ["", a, b].join(path.delimiter)
      assert.strictEqual(findOnPath("es-tool", { searchPath }), path.join(b, "es-tool"))
      assert.strictEqual(findOnPath("not-executable", { searchPath }), path.join(b, "not-executable"))
      assert.isUndefined(findOnPath("es-tool", { searchPath: a }))
      assert.isUndefined(findOnPath("node", { searchPath: "" }), "the host PATH is not consulted")
      assert.strictEqual(findOnPath("./bin/x", { searchPath, cwd: "/srv/app" }), "/srv/app/bin/x")
    }))
})
