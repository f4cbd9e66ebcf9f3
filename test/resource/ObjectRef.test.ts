import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import { ObjectRef } from "effect-swarm"

describe("ObjectRef", () => {
  it("parses strings, objects and ref wrappers to one form", () => {
    assert.deepStrictEqual(ObjectRef.parse("Tool/echo"), Either.right({ kind: "Tool", name: "echo" }))
    assert.deepStrictEqual(
      ObjectRef.parse({ kind: "Tool", name: "agents", package: "@goondan/base" }),
      Either.right({ kind: "Tool", name: "agents", package: "@goondan/base" })
    )
    assert.deepStrictEqual(ObjectRef.parse({ ref: "Agent/a" }), Either.right({ kind: "Agent", name: "a" }))
    assert.deepStrictEqual(
      ObjectRef.parse({ ref: { kind: "Agent", name: "a" } }),
      Either.right({ kind: "Agent", name: "a" })
    )
  })

  it("rejects malformed references with a reason", () => {
    for (const bad of ["Tool-bash", "/x", "Tool/", "Tool/a/b", "", 3, null, { kind: "Tool" }, { ref: "x", y: 1 }]) {
      const r = ObjectRef.parse(bad)
      assert.isTrue(Either.isLeft(r), JSON.stringify(bad))
    }
    const r = ObjectRef.parse("bash", "Tool")
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) assert.strictEqual(r.left.suggestion, `write "Tool/bash"`)
  })

  it("schema checks the expected kind", () => {
    const decode = Schema.decodeUnknownEither(ObjectRef.schema("Model"))
    assert.deepStrictEqual(decode("Model/m"), Either.right({ kind: "Model", name: "m" }))
    assert.isTrue(Either.isLeft(decode("Tool/m")))
  })

  it("sameTarget ignores the package unless both sides name one", () => {
    assert.isTrue(ObjectRef.sameTarget({ kind: "Agent", name: "a" }, { kind: "Agent", name: "a", package: "p" }))
    assert.isFalse(
      ObjectRef.sameTarget({ kind: "Agent", name: "a", package: "q" }, { kind: "Agent", name: "a", package: "p" })
    )
    assert.strictEqual(ObjectRef.identity(undefined, "Tool", "x"), "<local>|Tool/x")
  })

  const label = FastCheck.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/)
  const kind = FastCheck.constantFrom("Model", "Tool", "Extension", "Agent", "Swarm", "Connector", "Connection")

  it.prop("every written form parses to the same reference", [kind, label, FastCheck.option(label)], ([k, n, p]) => {
    const expected = p === null ? { kind: k, name: n } : { kind: k, name: n, package: p }
    const forms: Array<unknown> = [
      { kind: k, name: n, ...(p === null ? {} : { package: p }) },
      { ref: { kind: k, name: n, ...(p === null ? {} : { package: p }) } }
    ]
    if (p === null) forms.push(`${k}/${n}`, { ref: `${k}/${n}` }, ` ${k}/${n} `)
    return forms.every((form) => {
      const parsed = ObjectRef.parse(form, k)
      return Either.isRight(parsed) && JSON.stringify(parsed.right) === JSON.stringify(expected) &&
        ObjectRef.sameTarget(parsed.right, expected)
    })
  })
})
