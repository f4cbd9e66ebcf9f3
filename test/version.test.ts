import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { version } from "../src/version.js"

describe("package", () => {
  it("src/version.ts matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    assert.strictEqual(version, pkg.version)
  })
})
