import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { Bundle, BundleError } from "effect-swarm"
import * as path from "node:path"
import {
  agent,
  docs,
  issueCodes,
  issueLines,
  model,
  provideNode,
  swarm,
  tool,
  valid,
  writeBundle,
  writeFiles
} from "./helpers.js"

const fixtures = path.resolve(__dirname, "../fixtures/bundles")

describe("Bundle.load", () => {
  it.scoped("loads a valid bundle into typed entries with resolved files", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({ ...valid, "tools/echo.ts": "export {}\n", "notes.yaml": "a: 1\n" })
      const bundle = yield* Bundle.load(dir)
      assert.deepStrictEqual(bundle.files, ["resources.yaml"])
      assert.deepStrictEqual(
        bundle.entries.map((e) => `${e.resource.kind}/${e.resource.metadata.name}@${e.file}:${e.document}`),
        [
          "Model/default@resources.yaml:0",
          "Tool/echo@resources.yaml:1",
          "Agent/assistant@resources.yaml:2",
          "Swarm/default@resources.yaml:3"
        ]
      )
      const echo = Bundle.find(bundle, "Tool", "echo")!
      assert.strictEqual(echo.entryFile, path.join(dir, "tools/echo.js"))
      const assistant = Bundle.find(bundle, "Agent", "assistant")!
      assert.deepStrictEqual(Bundle.toolCatalog(bundle, assistant).map((t) => t.name), ["echo__say"])
      assert.strictEqual(
        Bundle.resolve(bundle, assistant.resource.spec.modelConfig.modelRef, assistant)?.resource.kind,
        "Model"
      )
      // a YAML file at the root with another name is reported, not loaded
      assert.deepStrictEqual(bundle.warnings.map((w) => `${w.file} ${w.code}`), ["notes.yaml E_CONFIG_FILE_IGNORED"])
    })))

  it.scoped("prefers the compiled .js of a .ts entry, and dist/src for src/ entries (B9)", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        "resources.yaml": docs(tool("a", "./tools/a.ts"), tool("b", "src/b.ts"), tool("c", "./tools/c.ts")),
        "tools/a.ts": "",
        "tools/a.js": "",
        "dist/src/b.js": "",
        "src/b.ts": "",
        "tools/c.ts": ""
      })
      const bundle = yield* Bundle.load(dir)
      assert.deepStrictEqual(
        Bundle.entriesOf(bundle, "Tool").map((t) => path.relative(dir, t.entryFile!)),
        ["tools/a.js", "dist/src/b.js", "tools/c.ts"]
      )
    })))

  it.scoped("skips dist, node_modules and .git while scanning", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        ...valid,
        "dist/goondan.yaml": "kind: Broken\n",
        "node_modules/x/tools.yaml": "::: not yaml",
        ".git/resources.yaml": "kind: Broken\n",
        "nested/models.yaml": model("other")
      })
      const bundle = yield* Bundle.load(dir)
      assert.deepStrictEqual(bundle.files, ["nested/models.yaml", "resources.yaml"])
    })))

  it.scoped("the goondan example bundle (reference 2.12) loads with no issues", () =>
    provideNode(Effect.gen(function*() {
      const bundle = yield* Bundle.load(path.join(fixtures, "goondan-example"), {
        stateRoot: path.join(fixtures, "goondan-example-home")
      })
      assert.deepStrictEqual(bundle.warnings, [])
      assert.deepStrictEqual(bundle.dependencies.map((d) => `${d.name}@${d.version}`), ["@goondan/base@0.0.3-alpha17"])
      const assistant = Bundle.find(bundle, "Agent", "assistant")!
      assert.strictEqual(assistant.resource.apiVersion, "goondan.ai/v1")
      assert.strictEqual(assistant.package, "@samples/demo")
      assert.isTrue(assistant.systemPromptFile!.endsWith("prompts/assistant.system.md"))
      assert.deepStrictEqual(Bundle.toolCatalog(bundle, assistant).map((t) => t.name), [
        "echo__say",
        "agents__request",
        "agents__send"
      ])
      const ext = Bundle.resolve(bundle, assistant.resource.spec.extensions![0]!.ref, assistant)!
      assert.strictEqual(ext.package, "@goondan/base")
      assert.isTrue(ext.dependency)
      // the required list survived YAML parsing (the reference parser dropped flow lists)
      const echo = Bundle.find(bundle, "Tool", "echo")!
      assert.deepStrictEqual(echo.resource.spec.exports[0]!.parameters.required, ["text"])
    })))

  it.scoped("extension configs merge per use; system prompts come from system or the systemRef file", () =>
    provideNode(Effect.gen(function*() {
      const bundle = yield* Bundle.load(path.resolve(__dirname, "../../examples/bundles/multi-agent"))
      const coordinator = Bundle.find(bundle, "Agent", "coordinator")!
      assert.deepStrictEqual(
        Bundle.extensionUses(bundle, coordinator).map((u) => [u.extension.resource.metadata.name, u.config]),
        [["audit-log", { level: "info", includeArgs: true }]]
      )
      assert.match((yield* Bundle.systemPrompt(coordinator))!, /^You coordinate a small team/)
      const researcher = Bundle.find(bundle, "Agent", "researcher")!
      assert.match(
        (yield* Bundle.systemPrompt(researcher))!,
        /^You research one question at a time with library__search and/
      )
      const dir = yield* writeBundle({
        "resources.yaml": docs(model(), agent("a", "  prompt: { systemRef: ./p.md }\n"), agent("b")),
        "p.md": "  \n"
      })
      const blank = yield* Bundle.load(dir)
      assert.isUndefined(yield* Bundle.systemPrompt(Bundle.find(blank, "Agent", "a")!))
      assert.isUndefined(yield* Bundle.systemPrompt(Bundle.find(blank, "Agent", "b")!))
    })))

  it.scoped("selectSwarm: by name, else default, else the only one", () =>
    provideNode(Effect.gen(function*() {
      const two = yield* Bundle.load(
        yield* writeBundle({
          "resources.yaml": docs(model(), agent("a"), swarm("one", ["a"]), swarm("two", ["a"]))
        })
      )
      assert.strictEqual(Either.getOrThrow(Bundle.selectSwarm(two, "two")).resource.metadata.name, "two")
      assert.isTrue(Either.isLeft(Bundle.selectSwarm(two)))
      assert.isTrue(Either.isLeft(Bundle.selectSwarm(two, "three")))
      const withDefault = yield* Bundle.load(
        yield* writeBundle({
          "resources.yaml": docs(model(), agent("a"), swarm("one", ["a"]), swarm("default", ["a"]))
        })
      )
      assert.strictEqual(Either.getOrThrow(Bundle.selectSwarm(withDefault)).resource.metadata.name, "default")
      const multi = yield* Bundle.load(path.resolve(__dirname, "../../examples/bundles/multi-agent"))
      assert.strictEqual(Either.getOrThrow(Bundle.selectSwarm(multi)).resource.metadata.name, "team")
    })))

  it.scoped("the example bundles are clean", () =>
    provideNode(Effect.gen(function*() {
      for (const name of ["minimal", "multi-agent"]) {
        const bundle = yield* Bundle.load(path.resolve(__dirname, "../../examples/bundles", name))
        assert.deepStrictEqual(bundle.warnings, [], name)
      }
      const multi = yield* Bundle.load(path.resolve(__dirname, "../../examples/bundles/multi-agent"))
      assert.deepStrictEqual(
        [...new Set(multi.entries.map((e) => e.resource.kind))].sort(),
        ["Agent", "Connection", "Connector", "Extension", "Model", "Package", "Swarm", "Tool"]
      )
    })))

  it.scoped("reports several issues of several files together, in file and document order", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        "models.yaml": docs(model("Bad_Name"), model("ok").replace("provider", "provder")),
        "agents.yaml": agent("assistant", "  tools: [Tool/missing]\n") + "---\n" + swarm("default", ["nobody"]),
        "tools.yaml": tool("echo", "./nope.js")
      })
      const lines = yield* issueLines(dir)
      assert.deepStrictEqual(lines, [
        "agents.yaml:0 spec.modelConfig.modelRef E_CONFIG_REF_NOT_FOUND",
        "agents.yaml:0 spec.tools[0] E_CONFIG_REF_NOT_FOUND",
        "agents.yaml:1 spec.entryAgent E_CONFIG_REF_NOT_FOUND",
        "agents.yaml:1 spec.agents[0] E_CONFIG_REF_NOT_FOUND",
        "models.yaml:0 metadata.name E_CONFIG_INVALID_NAME",
        "models.yaml:1 spec.provder E_CONFIG_UNKNOWN_FIELD",
        "models.yaml:1 spec.provider E_CONFIG_SCHEMA_INVALID",
        "tools.yaml:0 spec.entry E_CONFIG_ENTRY_NOT_FOUND"
      ])
      const error = yield* Bundle.load(dir).pipe(Effect.flip)
      const unknown = error.issues.find((i) => i.code === "E_CONFIG_UNKNOWN_FIELD")!
      assert.strictEqual(unknown.suggestion, `did you mean "provider"?`)
      assert.strictEqual(error.issues.find((i) => i.code === "E_CONFIG_INVALID_NAME")!.suggestion, `use "bad-name"`)
      assert.include(error.message, "has 8 errors")
    })))
})

describe("Bundle.load: the broken bundle of docs/bundles.md", () => {
  it.scoped("reports every mistake once; references to invalid resources are not 'not found'", () =>
    provideNode(Effect.gen(function*() {
      const error = yield* Bundle.load(path.join(fixtures, "broken")).pipe(Effect.flip)
      // Each issue carries the line of its field (of the key), or of the nearest parent when it is missing.
      assert.deepStrictEqual(
        error.issues.map((i) => `${i.document}:${i.line} ${i.path} ${i.code} ${i.suggestion ?? ""}`),
        [
          `0:5 metadata.name E_CONFIG_INVALID_NAME use "default-model"`,
          "1:14 spec.exports E_CONFIG_SCHEMA_INVALID ",
          `1:16 spec.exprots E_CONFIG_UNKNOWN_FIELD did you mean "exports"?`,
          `2:27 spec.modelConfig.modelRef E_CONFIG_INVALID_REF write "Model/default-model"`,
          `3:37 spec.tools[1] E_CONFIG_REF_NOT_FOUND did you mean "Tool/search"?`,
          "4:48 spec.exports[0].parameters E_CONFIG_SCHEMA_INVALID ",
          `5:55 spec.entryAgent E_CONFIG_SCHEMA_INVALID add "Agent/helper" to spec.agents`
        ]
      )
    })))
})

describe("Bundle.load: one fixture per code", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, ReadonlyArray<string>]> = [
    ["unsupported apiVersion", { "resources.yaml": model().replace("effect-swarm/v1", "goondan.ai/v2") }, [
      "resources.yaml:0 apiVersion E_CONFIG_UNSUPPORTED_API_VERSION"
    ]],
    ["unknown kind", { "resources.yaml": model().replace("kind: Model", "kind: Secret") }, [
      "resources.yaml:0 kind E_CONFIG_UNKNOWN_KIND"
    ]],
    ["name not a DNS label", { "resources.yaml": model("a".repeat(64)) }, [
      "resources.yaml:0 metadata.name E_CONFIG_INVALID_NAME"
    ]],
    ["duplicate identity", { "resources.yaml": docs(model(), model()) }, [
      "resources.yaml:1 metadata.name E_CONFIG_DUPLICATE_NAME"
    ]],
    ["malformed ref", { ...valid, "resources.yaml": docs(model(), agent("assistant", "  tools: [Tool-echo]\n")) }, [
      "resources.yaml:1 spec.tools[0] E_CONFIG_INVALID_REF"
    ]],
    ["ref of the wrong kind", { "resources.yaml": docs(model(), agent("assistant", "  tools: [Model/default]\n")) }, [
      "resources.yaml:1 spec.tools[0] E_CONFIG_REF_KIND_MISMATCH"
    ]],
    ["ref not found", { "resources.yaml": agent() }, [
      "resources.yaml:0 spec.modelConfig.modelRef E_CONFIG_REF_NOT_FOUND"
    ]],
    ["system with systemRef", {
      "resources.yaml": docs(model(), agent("a", "  prompt: { system: hi, systemRef: ./p.md }\n")),
      "p.md": "hi"
    }, ["resources.yaml:1 spec.prompt E_CONFIG_SCHEMA_INVALID"]],
    ["entry agent not in the swarm", {
      "resources.yaml": docs(
        model(),
        agent("a"),
        agent("b"),
        swarm("s", ["a"]).replace("entryAgent: Agent/a", "entryAgent: Agent/b")
      )
    }, ["resources.yaml:3 spec.entryAgent E_CONFIG_SCHEMA_INVALID"]],
    ["entry escaping the root", { "resources.yaml": tool("t", "../../etc/passwd") }, [
      "resources.yaml:0 spec.entry E_CONFIG_ENTRY_OUTSIDE_ROOT"
    ]],
    ["absolute entry", { "resources.yaml": tool("t", "/etc/passwd") }, [
      "resources.yaml:0 spec.entry E_CONFIG_ENTRY_OUTSIDE_ROOT"
    ]],
    ["missing entry", { "resources.yaml": tool("t", "./gone.js") }, [
      "resources.yaml:0 spec.entry E_CONFIG_ENTRY_NOT_FOUND"
    ]],
    ["missing systemRef", { "resources.yaml": docs(model(), agent("a", "  prompt: { systemRef: ./p.md }\n")) }, [
      "resources.yaml:1 spec.prompt.systemRef E_CONFIG_ENTRY_NOT_FOUND"
    ]],
    ["requiredTools outside the catalog", {
      ...valid,
      "resources.yaml": docs(
        model(),
        tool(),
        agent("a", "  tools: [Tool/echo]\n  requiredTools: [echo__say, echo__shout]\n")
      )
    }, ["resources.yaml:2 spec.requiredTools[1] E_CONFIG_REQUIRED_TOOL_MISSING"]],
    ["Package not first", {
      "effect-swarm.yaml": docs(model(), "apiVersion: effect-swarm/v1\nkind: Package\nmetadata: { name: p }\n")
    }, [
      "effect-swarm.yaml:1  E_CONFIG_PACKAGE_DOC_POSITION"
    ]],
    ["two Package documents", {
      "effect-swarm.yaml": docs(
        "apiVersion: effect-swarm/v1\nkind: Package\nmetadata: { name: p }\n",
        model(),
        "apiVersion: effect-swarm/v1\nkind: Package\nmetadata: { name: q }\n"
      )
    }, ["effect-swarm.yaml:2  E_CONFIG_PACKAGE_DOC_DUPLICATED"]],
    ["syntax error", { "resources.yaml": "a: [1, 2\n" }, ["resources.yaml:0  E_CONFIG_PARSE_ERROR"]]
  ]
  for (const [name, files, expected] of cases) {
    it.scoped(name, () =>
      provideNode(Effect.gen(function*() {
        const dir = yield* writeBundle({ "tools/echo.js": "", ...files })
        assert.deepStrictEqual(yield* issueLines(dir), expected)
      })))
  }

  it.scoped("unknown field, with the nearest known field", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({ "resources.yaml": model().replace("model: gpt", "model: gpt-4.1, modle: gpt") })
      const error = yield* Bundle.load(dir).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues.map((i) => [i.code, i.path, i.suggestion]), [
        ["E_CONFIG_UNKNOWN_FIELD", "spec.modle", `did you mean "model"?`]
      ])
    })))

  it.scoped("ingress: undeclared event, undeclared property, agent outside the swarm", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        "resources.yaml": docs(
          model(),
          agent("a"),
          agent("b"),
          swarm("s", ["a"]),
          `apiVersion: effect-swarm/v1
kind: Connector
metadata: { name: cli }
spec:
  entry: ./c.js
  events: [{ name: stdin_message, properties: { line: { type: string } } }]
`,
          `apiVersion: effect-swarm/v1
kind: Connection
metadata: { name: c }
spec:
  connectorRef: Connector/cli
  swarmRef: Swarm/s
  ingress:
    rules:
      - match: { event: stdin_mesage }
        route: { agentRef: Agent/a }
      - match: { event: stdin_message, properties: { lne: x } }
        route: { agentRef: Agent/b }
`
        ),
        "c.js": ""
      })
      const error = yield* Bundle.load(dir).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues.map((i) => `${i.path} ${i.code} ${i.suggestion}`), [
        `spec.ingress.rules[0].match.event E_CONFIG_INGRESS_EVENT_UNKNOWN did you mean "stdin_message"?`,
        `spec.ingress.rules[1].match.properties.lne E_CONFIG_INGRESS_EVENT_UNKNOWN did you mean "line"?`,
        `spec.ingress.rules[1].route.agentRef E_CONFIG_INGRESS_AGENT_NOT_IN_SWARM add it to Swarm/s spec.agents or route to a member`
      ])
    })))

  it.scoped("a missing bundle directory", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({})
      assert.deepStrictEqual(yield* issueCodes(path.join(dir, "nope")), ["E_CONFIG_BUNDLE_NOT_FOUND"])
    })))
})

describe("Bundle.load: hostile input", () => {
  const hostile = (name: string) => path.join(fixtures, "hostile", name)

  it.scoped("billion laughs", () =>
    provideNode(Effect.gen(function*() {
      assert.deepStrictEqual(yield* issueLines(hostile("billion-laughs")), ["resources.yaml:0  E_CONFIG_ALIAS_LIMIT"])
    })))

  it.scoped("101 documents", () =>
    provideNode(Effect.gen(function*() {
      assert.deepStrictEqual(yield* issueLines(hostile("too-many-documents")), [
        "models.yaml  E_CONFIG_TOO_MANY_DOCUMENTS"
      ])
    })))

  it.scoped("binary garbage", () =>
    provideNode(Effect.gen(function*() {
      assert.deepStrictEqual(yield* issueLines(hostile("binary-garbage")), ["tools.yaml  E_CONFIG_PARSE_ERROR"])
    })))

  it.scoped("entry ../../etc/passwd", () =>
    provideNode(Effect.gen(function*() {
      assert.deepStrictEqual(yield* issueLines(hostile("entry-escape")), [
        "tools.yaml:0 spec.entry E_CONFIG_ENTRY_OUTSIDE_ROOT"
      ])
    })))

  it.scoped("entry through a symlink pointing outside the root", () =>
    provideNode(Effect.gen(function*() {
      assert.deepStrictEqual(yield* issueLines(hostile("symlink-entry")), [
        "tools.yaml:0 spec.entry E_CONFIG_ENTRY_OUTSIDE_ROOT"
      ])
    })))

  it.scoped("a bundle file that is a symlink pointing outside the root", () =>
    provideNode(Effect.gen(function*() {
      assert.deepStrictEqual(yield* issueLines(hostile("symlink-file")), ["resources.yaml  E_CONFIG_FILE_OUTSIDE_ROOT"])
    })))

  it.scoped("a 2 MiB file is refused before it is read", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({ "resources.yaml": "# " + "x".repeat(2 * 1024 * 1024) + "\n" })
      assert.deepStrictEqual(yield* issueLines(dir), ["resources.yaml  E_CONFIG_FILE_TOO_LARGE"])
      // the limit is an option
      const small = yield* writeBundle(valid)
      assert.deepStrictEqual(yield* issueCodes(small, { limits: { maxFileBytes: 100 } }), ["E_CONFIG_FILE_TOO_LARGE"])
    })))

  it.scoped("a resource file in a subdirectory under another name is reported, not silently skipped", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        ...valid,
        // declares one of our resources, under a name the loader does not read
        "agents/researcher.yaml": "# the researcher\napiVersion: effect-swarm/v1\nkind: Agent\nmetadata:\n  name: r\n",
        "legacy/old.yml": "apiVersion: 'goondan.ai/v1'  # goondan\nkind: Tool\n",
        // unrelated YAML deeper down stays quiet
        ".github/workflows/ci.yml": "on: push\n",
        "deploy/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
        "fixtures/data.yaml": "text: 'apiVersion: effect-swarm/v1'\n"
      })
      const bundle = yield* Bundle.load(dir)
      assert.deepStrictEqual(bundle.files, ["resources.yaml"])
      assert.deepStrictEqual(
        bundle.warnings.map((w) => `${w.file} ${w.code} ${w.message}`),
        [
          "agents/researcher.yaml E_CONFIG_FILE_IGNORED agents/researcher.yaml declares apiVersion effect-swarm/v1 but is not loaded: its name is not a bundle file name",
          "legacy/old.yml E_CONFIG_FILE_IGNORED legacy/old.yml declares apiVersion goondan.ai/v1 but is not loaded: its name is not a bundle file name"
        ]
      )
      assert.match(bundle.warnings[0]!.suggestion ?? "", /resources\.yaml, tools\.yaml/)
    })))

  it.scoped("a symlinked directory loop is not followed", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle(valid)
      yield* writeFiles(dir, { "loop/back": { symlink: dir } })
      const bundle = yield* Bundle.load(dir)
      assert.deepStrictEqual(bundle.files, ["resources.yaml"])
      assert.deepStrictEqual(bundle.warnings.map((w) => `${w.file} ${w.code}`), ["loop/back E_CONFIG_FILE_IGNORED"])
    })))
})

describe("BundleError", () => {
  it("formats issues as file:document path (line N)  CODE  message", () => {
    const issue = {
      code: "E_CONFIG_UNKNOWN_FIELD",
      severity: "error",
      file: "tools.yaml",
      document: 2,
      path: "spec.exprots",
      message: "unknown field \"exprots\"",
      suggestion: "did you mean \"exports\"?"
    } as const
    assert.strictEqual(
      BundleError.formatIssue({ ...issue, line: 31 }),
      "tools.yaml:2 spec.exprots (line 31)  E_CONFIG_UNKNOWN_FIELD  unknown field \"exprots\"\n    suggestion: did you mean \"exports\"?"
    )
    assert.strictEqual(BundleError.location(issue), "tools.yaml:2 spec.exprots")
    assert.strictEqual(BundleError.location({ ...issue, document: undefined, path: "" }), "tools.yaml")
    assert.strictEqual(BundleError.formatPath(["spec", "exports", 0, "name"]), "spec.exports[0].name")
  })
})
