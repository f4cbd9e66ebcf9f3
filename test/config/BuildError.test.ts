import { assert, describe, it } from "@effect/vitest"
import { BuildError } from "effect-swarm"

describe("BuildError", () => {
  it("formats like the seed", () => {
    assert.strictEqual(new BuildError.BuildError({ errors: [] }).message, "build failed")
    assert.strictEqual(
      new BuildError.BuildError({ errors: [{ path: [], message: "missing workflow id" }] }).message,
      "build failed: missing workflow id"
    )
    assert.strictEqual(
      new BuildError.BuildError({
        errors: [
          { path: [], message: "missing workflow id" },
          { path: [], message: "agent must define at least one action" },
          { path: [], message: "runtime is required" }
        ]
      }).message,
      "build failed with 3 errors:\n  1. missing workflow id\n  2. agent must define at least one action\n  3. runtime is required"
    )
  })
})
