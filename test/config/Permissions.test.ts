import { assert, describe, it } from "@effect/vitest"
import { Permissions } from "effect-swarm"

describe("Permissions", () => {
  it("parses every kind, with and without scope", () => {
    assert.deepStrictEqual(Permissions.parse("--allow-read"), { kind: "read", scope: undefined })
    assert.deepStrictEqual(Permissions.parse(" --ALLOW-NET= a.com , b.com,a.com "), {
      kind: "net",
      scope: ["a.com", "b.com"]
    })
    for (const kind of Permissions.kinds) assert.strictEqual(Permissions.parse(`--allow-${kind}`)?.kind, kind)
  })

  it("rejects anything else", () => {
    for (
      const bad of [
        "",
        "invalid",
        "--allow-net=",
        "--allow-all=x",
        "--allow-read=a,,b",
        "--preload=x",
        "--allow-ffi",
        "--allow-readx"
      ]
    ) {
      assert.isUndefined(Permissions.parse(bad), bad)
    }
  })

  it("merges entries into per-kind grants", () => {
    assert.deepStrictEqual(Permissions.grants([]), {
      read: "none",
      write: "none",
      net: "none",
      env: "none",
      run: "none"
    })
    assert.deepStrictEqual(Permissions.grants(["--allow-all"]), {
      read: "all",
      write: "all",
      net: "all",
      env: "all",
      run: "all"
    })
    assert.deepStrictEqual(
      Permissions.grants(["--allow-read=/a", "--allow-read=/b,/a", "--allow-net", "--allow-net=x"]),
      {
        read: ["/a", "/b"],
        write: "none",
        net: "all",
        env: "none",
        run: "none"
      }
    )
  })
})
