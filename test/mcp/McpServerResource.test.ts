import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { Bundle, Resource } from "effect-swarm"
import { issueLines, model, provideNode, writeBundle } from "../resource/helpers.js"

const server = (spec: string, name = "files") =>
  `apiVersion: effect-swarm/v1
kind: McpServer
metadata: { name: ${name} }
spec:
${spec}
`

const agent = (tools: string) =>
  `apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: coder }
spec:
  modelConfig: { modelRef: Model/default }
  tools: ${tools}
`

const messages = (input: unknown) => {
  const result = Resource.decode(input)
  return Either.isLeft(result) ? result.left.map((i) => `${i.path.join(".")}: ${i.message}`) : []
}

describe("McpServer resource", () => {
  it("decodes a stdio server with env from value sources, a cwd and a sandbox", () => {
    const result = Resource.decode({
      apiVersion: "effect-swarm/v1",
      kind: "McpServer",
      metadata: { name: "files" },
      spec: {
        stdio: { command: "node", args: ["./server.mjs"], cwd: "./servers", env: { TOKEN: { value: "t" } } },
        sandbox: { read: ["./data"], network: false },
        timeout: "5 seconds"
      }
    })
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result) && result.right.kind === "McpServer") {
      assert.deepStrictEqual(result.right.spec.stdio?.env, { TOKEN: { _tag: "Value", value: "t" } })
      assert.strictEqual(result.right.spec.stdio?.cwd, "./servers")
    }
  })

  it("decodes a Streamable HTTP server with headers", () => {
    const result = Resource.decode({
      apiVersion: "effect-swarm/v1",
      kind: "McpServer",
      metadata: { name: "remote" },
      spec: { http: { url: "http://127.0.0.1:3000/mcp", headers: { Authorization: { valueFrom: { env: "TOK" } } } } }
    })
    assert.isTrue(Either.isRight(result))
  })

  it("refuses both or neither transport, a sandbox over http, a cwd outside the bundle, bad env names", () => {
    const envelope = (spec: unknown) => ({
      apiVersion: "effect-swarm/v1",
      kind: "McpServer",
      metadata: { name: "x" },
      spec
    })
    assert.match(messages(envelope({}))[0]!, /exactly one of stdio or http/)
    assert.match(
      messages(envelope({ stdio: { command: "node" }, http: { url: "http://localhost/mcp" } }))[0]!,
      /exactly one of stdio or http/
    )
    assert.match(
      messages(envelope({ http: { url: "http://localhost/mcp" }, sandbox: { network: true } })).join("\n"),
      /sandbox applies to stdio servers only/
    )
    assert.match(
      messages(envelope({ stdio: { command: "node", cwd: "../../etc" } })).join("\n"),
      /escapes the bundle root/
    )
    assert.match(
      messages(envelope({ stdio: { command: "node", env: { "A-B": { value: "1" } } } })).join("\n"),
      /env name "A-B"/
    )
    assert.match(messages(envelope({ http: { url: "ftp://x/mcp" } })).join("\n"), /must use http: or https:/)
  })

  it("lets an Agent's tools name an McpServer with an allow-list, and only an McpServer", () => {
    const decoded = Resource.decode({
      apiVersion: "effect-swarm/v1",
      kind: "Agent",
      metadata: { name: "a" },
      spec: {
        modelConfig: { modelRef: "Model/default" },
        tools: ["Tool/echo", "McpServer/files", { ref: "McpServer/remote", allow: ["read_file"] }]
      }
    })
    assert.isTrue(Either.isRight(decoded))
    if (Either.isRight(decoded) && decoded.right.kind === "Agent") {
      assert.deepStrictEqual(decoded.right.spec.tools, [
        { kind: "Tool", name: "echo" },
        { kind: "McpServer", name: "files" },
        { kind: "McpServer", name: "remote", allow: ["read_file"] }
      ])
    }
    const agentWith = (tools: unknown) => ({
      apiVersion: "effect-swarm/v1",
      kind: "Agent",
      metadata: { name: "a" },
      spec: { modelConfig: { modelRef: "Model/default" }, tools }
    })
    assert.match(messages(agentWith([{ ref: "Tool/echo", allow: ["x"] }])).join("\n"), /allow applies to McpServer/)
    assert.match(messages(agentWith(["Model/default"])).join("\n"), /a Tool or an McpServer/)
    assert.match(messages(agentWith([{ ref: "McpServer/x", allow: "x" }])).join("\n"), /allow must be a list/)
  })

  it.scoped("loads a bundle whose agent uses an McpServer, and reports an unresolved one", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* writeBundle({
        "model.yaml": model(),
        "mcp.yaml": server("  stdio: { command: node, args: [./server.mjs] }"),
        "agent.yaml": agent("[McpServer/files]")
      })
      const bundle = yield* Bundle.load(dir)
      assert.strictEqual(Bundle.entriesOf(bundle, "McpServer").length, 1)
      const broken = yield* writeBundle({ "model.yaml": model(), "agent.yaml": agent("[McpServer/nope]") })
      const lines = yield* issueLines(broken)
      assert.strictEqual(lines.length, 1)
      assert.strictEqual(lines[0], "agent.yaml:0 spec.tools[0] E_CONFIG_REF_NOT_FOUND")
    })))
})
