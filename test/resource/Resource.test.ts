import { assert, describe, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import { Resource, RuntimeConfig, Yaml } from "effect-swarm"

const decodeYaml = (text: string) => {
  const { documents, issues } = Yaml.parseText(text)
  assert.deepStrictEqual(issues, [])
  return Resource.decode(documents[0]!.value, documents[0]!.numberSources)
}

const issuesOf = (text: string) => {
  const r = decodeYaml(text)
  assert.isTrue(Either.isLeft(r), "expected issues")
  return Either.isLeft(r) ? r.left.map((i) => [i.code, i.path.join("."), i.suggestion]) : []
}

const tool = (extra: string) => `
apiVersion: effect-swarm/v1
kind: Tool
metadata: { name: echo }
spec:
  entry: ./tools/echo.ts
  exports:
    - name: say
      description: Echo text
      parameters:
        type: object
        properties: { text: { type: string } }
        required: [text]
${extra}`

describe("Resource", () => {
  it("decodes a Tool with its runtime block, typed and normalised", () => {
    const r = decodeYaml(tool(`  runtime:
    type: DENO
    permissions: [" --ALLOW-NET=api.example.com "]
    maxMemoryMB: 256
    timeout: "5 seconds"
    pool: { size: 2, idleTimeout: 30000 }`))
    assert.isTrue(Either.isRight(r))
    if (Either.isLeft(r) || r.right.kind !== "Tool") return
    const t: Resource.ToolResource = r.right
    assert.strictEqual(t.apiVersion, "effect-swarm/v1")
    assert.deepStrictEqual(t.spec.exports[0]!.parameters.required, ["text"])
    const runtime = t.spec.runtime!
    assert.strictEqual(runtime.type, "deno")
    assert.deepStrictEqual(runtime.permissions, ["--allow-net=api.example.com"])
    assert.isTrue(Duration.equals(runtime.timeout!, Duration.seconds(5)))
    assert.strictEqual(runtime.pool!.size, 2)
    const config = Either.getOrThrow(RuntimeConfig.make("bun", ...Resource.runtimeOptions(runtime)))
    assert.strictEqual(config.runtimeType, "deno")
    assert.strictEqual(config.maxMemoryMB, 256)
    assert.deepStrictEqual(config.permissions, ["--allow-net=api.example.com"])
  })

  it("validates the runtime block with RuntimeConfig's own messages", () => {
    const r = decodeYaml(tool(`  runtime: { type: python, maxMemoryMB: 0, permissions: ["--preload=x"], timeout: -5 }`))
    const direct = RuntimeConfig.decodeEither({
      runtimeType: "python",
      maxMemoryMB: 0,
      permissions: ["--preload=x"],
      toolExecutionTimeout: -5
    })
    assert.isTrue(Either.isLeft(r) && Either.isLeft(direct))
    if (Either.isLeft(r) && Either.isLeft(direct)) {
      assert.deepStrictEqual(
        r.left.map((i) => i.message).sort(),
        direct.left.errors.map((i) => i.message).sort()
      )
      assert.deepStrictEqual(
        r.left.map((i) => i.path.join(".")).sort(),
        ["spec.runtime.maxMemoryMB", "spec.runtime.permissions.0", "spec.runtime.timeout", "spec.runtime.type"]
      )
    }
  })

  it("a sandboxed tool's entry follows RuntimeConfig's entrypoint rule", () => {
    const r = decodeYaml(tool(`  runtime: { type: node }`).replace("./tools/echo.ts", "./tools/echo.py"))
    assert.isTrue(Either.isLeft(r))
    if (Either.isLeft(r)) {
      assert.deepStrictEqual(r.left.map((i) => [i.path.join("."), i.message]), [[
        "spec.entry",
        `entrypoint path "./tools/echo.py" must end in .ts, .mts, .js or .mjs`
      ]])
    }
  })

  it("reports unknown fields with the nearest known field", () => {
    assert.deepStrictEqual(issuesOf(tool(`  errorMesageLimit: 10`)), [
      ["E_CONFIG_UNKNOWN_FIELD", "spec.errorMesageLimit", `did you mean "errorMessageLimit"?`]
    ])
    assert.deepStrictEqual(issuesOf(tool(`specs: {}`)), [
      ["E_CONFIG_UNKNOWN_FIELD", "specs", `did you mean "spec"?`]
    ])
  })

  it("keeps 1.0 a string only where a string is wanted", () => {
    const r = decodeYaml(`
apiVersion: effect-swarm/v1
kind: Package
metadata: { name: "@acme/bots" }
spec:
  version: 1.0
  dependencies: [{ name: "@acme/base", version: 2.10 }]`)
    assert.isTrue(Either.isRight(r))
    if (Either.isRight(r) && r.right.kind === "Package") {
      assert.strictEqual(r.right.spec?.version, "1.0")
      assert.strictEqual(r.right.spec?.dependencies?.[0]?.version, "2.10")
    }
    // a value source's value is a string too, even when YAML reads a number
    const model = decodeYaml(`
apiVersion: effect-swarm/v1
kind: Model
metadata: { name: m }
spec: { provider: openai, model: gpt, apiKey: { value: 1.0 } }`)
    assert.isTrue(Either.isRight(model), JSON.stringify(model))
    if (Either.isRight(model) && model.right.kind === "Model") {
      assert.deepStrictEqual(model.right.spec.apiKey, { _tag: "Value", value: "1.0" })
    }
    // a number field keeps the number
    const agent = decodeYaml(`
apiVersion: goondan.ai/v1
kind: Agent
metadata: { name: a }
spec:
  modelConfig: { modelRef: Model/m, params: { temperature: 1.0 } }`)
    assert.isTrue(Either.isRight(agent))
    if (Either.isRight(agent) && agent.right.kind === "Agent") {
      assert.strictEqual(agent.right.spec.modelConfig.params?.temperature, 1)
      assert.strictEqual(agent.right.apiVersion, "goondan.ai/v1")
    }
  })

  it("codes: kind, apiVersion, name, refs, exclusivity", () => {
    assert.deepStrictEqual(issuesOf(`apiVersion: effect-swarm/v1\nkind: Modle\nmetadata: { name: m }\nspec: {}`), [
      ["E_CONFIG_UNKNOWN_KIND", "kind", `did you mean "Model"?`]
    ])
    const codes = (text: string) => issuesOf(text).map(([code, path]) => `${code} ${path}`)
    assert.deepStrictEqual(
      codes(`apiVersion: v2\nkind: Model\nmetadata: { name: Big_Model }\nspec: { provider: openai, model: x }`),
      ["E_CONFIG_UNSUPPORTED_API_VERSION apiVersion", "E_CONFIG_INVALID_NAME metadata.name"]
    )
    assert.deepStrictEqual(
      codes(`apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: a }
spec:
  modelConfig: { modelRef: gpt }
  prompt: { system: hi, systemRef: ./p.md }
  tools: [Model/x, { ref: "Tool/echo" }]`),
      [
        "E_CONFIG_INVALID_REF spec.modelConfig.modelRef",
        "E_CONFIG_SCHEMA_INVALID spec.prompt",
        "E_CONFIG_REF_KIND_MISMATCH spec.tools.0"
      ]
    )
    assert.deepStrictEqual(
      codes(`apiVersion: effect-swarm/v1
kind: Connection
metadata: { name: c }
spec:
  connectorRef: Connector/cli
  ingress: { rules: [{ route: { instanceKey: a, instanceKeyProperty: b } }] }`),
      ["E_CONFIG_SCHEMA_INVALID spec.ingress.rules.0.route"]
    )
    assert.deepStrictEqual(
      codes(`apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: s }
spec: { entryAgent: Agent/b, agents: [Agent/a], instanceKey: "" }`),
      ["E_CONFIG_SCHEMA_INVALID spec.instanceKey"]
    )
    assert.deepStrictEqual(
      codes(`apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: s }
spec: { entryAgent: Agent/b, agents: [Agent/a] }`),
      ["E_CONFIG_SCHEMA_INVALID spec.entryAgent"]
    )
    assert.deepStrictEqual(
      codes(`apiVersion: effect-swarm/v1
kind: Extension
metadata: { name: e }
spec: { entry: /etc/passwd }`),
      ["E_CONFIG_ENTRY_OUTSIDE_ROOT spec.entry"]
    )
  })

  it("rejects invalid JSON Schema parameters that the reference silently accepted", () => {
    const codes = issuesOf(tool("").replace("required: [text]", "required: text"))
    assert.deepStrictEqual(codes.map(([c, p]) => `${c} ${p}`), ["E_CONFIG_SCHEMA_INVALID spec.exports.0.parameters"])
  })

  it("checks relative paths", () => {
    assert.isUndefined(Resource.checkRelativePath("./a/../b.ts"))
    assert.isDefined(Resource.checkRelativePath("a/../../b.ts"))
    assert.isDefined(Resource.checkRelativePath("C:\\x.ts"))
    assert.isDefined(Resource.checkName("a".repeat(64)))
    assert.isUndefined(Resource.checkName("a".repeat(63)))
    assert.strictEqual(Resource.slugify("My_Tool"), "my-tool")
  })
})
