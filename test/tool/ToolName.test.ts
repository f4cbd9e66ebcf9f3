import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Option } from "effect"
import { ToolName } from "effect-swarm"

describe("ToolName", () => {
  it("parses at the first separator with the reference's edge cases (T1)", () => {
    assert.deepStrictEqual(ToolName.parse("a__b"), Option.some({ resourceName: "a", exportName: "b" }))
    assert.deepStrictEqual(ToolName.parse("a___b"), Option.some({ resourceName: "a", exportName: "_b" }))
    assert.deepStrictEqual(ToolName.parse("a_b__c-d"), Option.some({ resourceName: "a_b", exportName: "c-d" }))
    for (const bad of ["__b", "a__", "a__b__c", "ab", "", "__", "a____"]) {
      assert.isTrue(Option.isNone(ToolName.parse(bad)), bad)
      assert.isFalse(ToolName.isValid(bad), bad)
    }
  })

  it("builds names and refuses the ones the reference refused", () => {
    assert.deepStrictEqual(ToolName.make("bash", "exec"), Either.right("bash__exec"))
    const empty = ToolName.make("", "exec")
    assert.isTrue(Either.isLeft(empty) && empty.left.message === "resourceName and exportName must not be empty")
    const sep = ToolName.make("a__b", "c")
    assert.isTrue(Either.isLeft(sep) && sep.left.message === "resourceName and exportName must not include '__'")
    const sep2 = ToolName.make("a", "b__c")
    assert.isTrue(Either.isLeft(sep2))
  })

  it("refuses a resource name ending in '_' because it would not parse back", () => {
    const r = ToolName.make("a_", "b")
    assert.isTrue(Either.isLeft(r))
    // An export starting with "_" round-trips.
    const ok = ToolName.make("a", "_b")
    assert.deepStrictEqual(ok, Either.right("a___b"))
    assert.deepStrictEqual(ToolName.parse("a___b"), Option.some({ resourceName: "a", exportName: "_b" }))
  })
})

describe("ToolName properties", () => {
  const part = FastCheck.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
  it.prop("every name make accepts parses back to its parts", [part, part], ([resourceName, exportName]) => {
    const built = ToolName.make(resourceName, exportName)
    if (Either.isLeft(built)) return true
    return Option.getOrNull(ToolName.parse(built.right))?.resourceName === resourceName &&
      Option.getOrNull(ToolName.parse(built.right))?.exportName === exportName
  })
})
