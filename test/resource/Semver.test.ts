import { assert, describe, it } from "@effect/vitest"
import * as Semver from "../../src/resource/internal/semver.js"

const sat = (version: string, range: string): boolean => {
  const r = Semver.parseRange(range)
  const v = Semver.parse(version)
  assert.isDefined(r, range)
  assert.isDefined(v, version)
  return Semver.satisfies(v!, r!)
}

describe("semver (package dependency ranges)", () => {
  it("matches npm on common ranges", () => {
    const cases: ReadonlyArray<readonly [string, string, boolean]> = [
      ["1.2.3", "^1.2.0", true],
      ["2.0.0", "^1.2.0", false],
      ["0.2.5", "^0.2.1", true],
      ["0.3.0", "^0.2.1", false],
      ["0.0.3", "^0.0.3", true],
      ["0.0.4", "^0.0.3", false],
      ["1.2.9", "~1.2.3", true],
      ["1.3.0", "~1.2.3", false],
      ["1.9.9", "1.x", true],
      ["2.0.0", "1.x", false],
      ["5.0.0", "*", true],
      ["1.5.0", ">=1.2.0 <2.0.0", true],
      ["2.0.0", ">=1.2.0 <2.0.0", false],
      ["3.1.0", "^1.0.0 || ^3.0.0", true],
      ["1.5.0", "1.2.3 - 1.6", true],
      ["1.7.0", "1.2.3 - 1.6", false],
      ["1.0.0-rc.1", "^1.0.0", false],
      ["1.0.0-rc.2", "^1.0.0-rc.1", true],
      ["1.0.1-rc.1", "^1.0.0-rc.1", false],
      ["0.0.3-alpha17", "^0.0.3-alpha17", true]
    ]
    for (const [version, range, expected] of cases) {
      assert.strictEqual(sat(version, range), expected, `${version} ${range}`)
    }
  })

  it("orders pre-releases numerically where parts are numbers", () => {
    const order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0"]
    for (let i = 1; i < order.length; i++) {
      assert.isTrue(Semver.compare(Semver.parse(order[i - 1]!)!, Semver.parse(order[i]!)!) < 0, order[i])
    }
    assert.isUndefined(Semver.parseRange("not a range!"))
    assert.isUndefined(Semver.parse("1.2"))
  })
})
