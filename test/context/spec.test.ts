import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { ContextPolicy, Resource, Yaml } from "effect-swarm"

const agent = (context: string) => `
apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: long }
spec:
  modelConfig: { modelRef: Model/fast, params: { maxTokens: 1000 } }
  context: ${context}
`

const decode = (text: string) => {
  const { documents, issues } = Yaml.parseText(text)
  assert.deepStrictEqual(issues, [])
  return Resource.decode(documents[0]!.value, documents[0]!.numberSources)
}

describe("spec.context", () => {
  it("an Agent's spec.context decodes and resolves with the Model's window and the reply reserve from params", () => {
    const r = decode(agent("{ strategy: summarize, onOverflow: truncate-tool-results, summary: { keepRatio: 0.4 } }"))
    assert.isTrue(Either.isRight(r))
    const spec = Either.isRight(r) && r.right.kind === "Agent" ? r.right.spec : undefined
    const policy = ContextPolicy.resolve({
      agent: "long",
      agentSpec: spec?.context,
      model: { options: { contextWindow: 32000 } },
      maxOutputTokens: spec?.modelConfig.params?.maxTokens
    })
    assert.isTrue(Either.isRight(policy))
    const p = Either.getOrThrow(policy)
    assert.deepStrictEqual([p.strategy, p.windowTokens, p.reserveTokens, p.onOverflow, p.keepRatio], [
      "summarize",
      32000,
      1000,
      "truncate-tool-results",
      0.4
    ])
  })

  it("bad fields are readable issues naming the path", () => {
    const r = decode(agent("{ strategy: windw, windowTokens: -5, summary: { keepRatio: 2 } }"))
    assert.isTrue(Either.isLeft(r))
    const issues = Either.isLeft(r) ? r.left.map((i) => `${i.path.join(".")}: ${i.message}`) : []
    assert.isTrue(issues.some((i) => i.startsWith("spec.context.strategy")), issues.join("\n"))
    assert.isTrue(issues.some((i) => i.startsWith("spec.context.windowTokens")), issues.join("\n"))
    assert.isTrue(issues.some((i) => i.startsWith("spec.context.summary.keepRatio")), issues.join("\n"))
  })
})
