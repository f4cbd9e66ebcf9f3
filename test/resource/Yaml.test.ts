import { assert, describe, it } from "@effect/vitest"
import { Yaml } from "effect-swarm"

describe("Yaml", () => {
  it("reads what the reference parser mishandled", () => {
    const { documents, issues } = Yaml.parseText(
      [
        "required: [a, b]",
        "inline: value # a comment",
        "\"quoted: key\": 1",
        "block: |",
        "  line one",
        "  line two",
        "folded: >",
        "  folded",
        "  text",
        "version: 1.0",
        "props: { command: { type: string } }",
        "base: &b { x: 1 }",
        "copy: *b"
      ].join("\n")
    )
    assert.deepStrictEqual(issues, [])
    assert.deepStrictEqual(documents[0]!.value, {
      required: ["a", "b"],
      inline: "value",
      "quoted: key": 1,
      block: "line one\nline two\n",
      folded: "folded text\n",
      version: 1,
      props: { command: { type: "string" } },
      base: { x: 1 },
      copy: { x: 1 }
    })
    assert.strictEqual(documents[0]!.numberSources.get(Yaml.pathKey(["version"])), "1.0")
  })

  it("lineAt finds a field's line: the key of a mapping entry, a sequence item, the nearest parent if missing", () => {
    const { documents } = Yaml.parseText(
      ["a: 1", "---", "# comment", "kind: Tool", "spec:", "  exports:", "    - name: x", "    - name: y", "      n: 2"]
        .join("\n")
    )
    const doc = documents[1]!
    assert.strictEqual(doc.line, 4)
    assert.strictEqual(doc.lineAt([]), 4)
    assert.strictEqual(doc.lineAt(["spec"]), 5)
    assert.strictEqual(doc.lineAt(["spec", "exports"]), 6)
    assert.strictEqual(doc.lineAt(["spec", "exports", 1]), 8)
    assert.strictEqual(doc.lineAt(["spec", "exports", 1, "n"]), 9)
    assert.strictEqual(doc.lineAt(["spec", "entry"]), 5) // missing: its parent
    assert.strictEqual(doc.lineAt(["spec", "exports", 7, "name"]), 6)
    assert.strictEqual(doc.lineAt(["kind", "deeper"]), 4) // a scalar has no children
  })

  it("splits documents, skips blank ones and keeps their file positions", () => {
    const { documents } = Yaml.parseText("a: 1\n---\n---\nb: 2\n")
    assert.deepStrictEqual(documents.map((d) => [d.index, d.value]), [[0, { a: 1 }], [2, { b: 2 }]])
  })

  it("a syntax error fails only its own document", () => {
    const { documents, issues } = Yaml.parseText("a: 1\n---\nb: 1\nb: 2\n---\nc: 3\n")
    assert.deepStrictEqual(documents.map((d) => d.index), [0, 2])
    assert.strictEqual(issues[0]!.code, "E_CONFIG_PARSE_ERROR")
    assert.strictEqual(issues[0]!.document, 1)
    assert.strictEqual(issues[0]!.line, 4)
    assert.match(issues[0]!.message, /^Map keys must be unique \(line 4\)$/)
  })

  it("rejects duplicate keys", () => {
    const { issues } = Yaml.parseText("a: 1\na: 2\n")
    assert.strictEqual(issues[0]!.code, "E_CONFIG_PARSE_ERROR")
  })

  it("stops a billion-laughs document at the alias cap", () => {
    const lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    const names = "abcdefghi"
    for (let i = 1; i < names.length; i++) {
      lines.push(`${names[i]}: &${names[i]} [${new Array(9).fill(`*${names[i - 1]}`).join(", ")}]`)
    }
    const { documents, issues } = Yaml.parseText(lines.join("\n"))
    assert.strictEqual(documents.length, 0)
    assert.strictEqual(issues[0]!.code, "E_CONFIG_ALIAS_LIMIT")
  })

  it("refuses oversized files, too many documents, deep nesting and binary data", () => {
    const big = new Uint8Array(2 * 1024 * 1024).fill(0x61)
    assert.strictEqual(Yaml.parseBytes(big).issues[0]!.code, "E_CONFIG_FILE_TOO_LARGE")
    const many = Array.from({ length: 101 }, (_, i) => `n: ${i}`).join("\n---\n")
    const parsed = Yaml.parseText(many)
    assert.strictEqual(parsed.documents.length, 100)
    assert.strictEqual(parsed.issues[0]!.code, "E_CONFIG_TOO_MANY_DOCUMENTS")
    assert.strictEqual(Yaml.parseText("a: " + "[".repeat(100_000)).issues[0]!.code, "E_CONFIG_PARSE_ERROR")
    const garbage = new Uint8Array([0xff, 0xfe, 0x00, 0x81, 0x10, 0xc3, 0x28])
    assert.strictEqual(Yaml.parseBytes(garbage).issues[0]!.code, "E_CONFIG_PARSE_ERROR")
  })

  it("accepts nesting within the limit, and apostrophes in plain text", () => {
    const { issues } = Yaml.parseText("a: don't [[[[x]]]]\nb: " + "[".repeat(30) + "]".repeat(30))
    assert.deepStrictEqual(issues, [])
  })
})
