import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { Bundle, Resource } from "effect-swarm"
import { agent, docs, issueLines, model, provideNode, tool, writeBundle } from "./helpers.js"

const swarmWith = (policy: string) =>
  `apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: default }
spec:
  entryAgent: Agent/assistant
  agents: [Agent/assistant]
  policy:
${policy}`

const bundle = (swarmPolicy: string, agentPolicy: string, exportsExtra = "") =>
  writeBundle({
    "resources.yaml": docs(
      model(),
      tool().replace("parameters: { type: object } }", `parameters: { type: object }${exportsExtra} }`),
      agent("assistant", `  tools: [Tool/echo]\n  policy:\n${agentPolicy}`),
      swarmWith(swarmPolicy)
    ),
    "tools/echo.js": "export const handlers = { say: (args) => args }\n"
  })

describe("policy: the turn budget", () => {
  it.scoped("Swarm and Agent policies decode; the Agent's fields override the Swarm's", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundle(
        "    maxStepsPerTurn: 8\n    maxToolCalls: 20\n    maxTokens: 50000\n    maxWallTime: 2 minutes\n" +
          "    lifecycle: { ttlSeconds: 60 }\n",
        "    maxToolCalls: 5\n    maxWallTime: 30s\n    toolConcurrency: 2\n"
      )
      const loaded = yield* Bundle.load(dir)
      const swarm = Bundle.find(loaded, "Swarm", "default")!.resource
      const assistant = Bundle.find(loaded, "Agent", "assistant")!.resource
      assert.isTrue(Duration.equals(swarm.spec.policy!.maxWallTime!, Duration.minutes(2)))
      const budget = Resource.effectivePolicy(swarm.spec.policy, assistant.spec.policy)
      assert.strictEqual(budget.maxStepsPerTurn, 8)
      assert.strictEqual(budget.maxToolCalls, 5)
      assert.strictEqual(budget.maxTokens, 50000)
      assert.isTrue(Duration.equals(budget.maxWallTime!, Duration.seconds(30)))
      assert.strictEqual(budget.toolConcurrency, 2)
      const defaults = Resource.effectivePolicy(undefined, undefined)
      assert.deepStrictEqual(defaults, {
        maxStepsPerTurn: undefined,
        maxToolCalls: undefined,
        maxTokens: undefined,
        maxWallTime: undefined,
        toolConcurrency: Resource.defaultToolConcurrency,
        groupCommit: undefined
      })
      assert.strictEqual(Resource.defaultToolConcurrency, 4)
    })))

  it.scoped("groupCommit: the Agent's overrides the Swarm's; a value that is not a boolean is an issue", () =>
    provideNode(Effect.gen(function*() {
      const loaded = yield* Bundle.load(yield* bundle("    groupCommit: true\n", "    groupCommit: false\n"))
      const swarm = Bundle.find(loaded, "Swarm", "default")!.resource
      const assistant = Bundle.find(loaded, "Agent", "assistant")!.resource
      assert.strictEqual(Resource.effectivePolicy(swarm.spec.policy, assistant.spec.policy).groupCommit, false)
      assert.strictEqual(Resource.effectivePolicy(swarm.spec.policy, undefined).groupCommit, true)
      const error = yield* Bundle.load(yield* bundle("    groupCommit: never\n", "    maxToolCalls: 3\n")).pipe(
        Effect.flip
      )
      assert.deepStrictEqual(error.issues.map((i) => `${i.path}: ${i.message}`), [
        `spec.policy.groupCommit: expected true or false, got "never"`
      ])
    })))

  it.scoped("bad budget values are issues at their field, with readable messages", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundle(
        "    maxStepsPerTurn: 0\n    maxWallTime: forever\n    toolConcurency: 3\n",
        "    maxToolCalls: 1.5\n    maxTokens: -10\n    toolConcurrency: many\n"
      )
      const error = yield* Bundle.load(dir).pipe(Effect.flip)
      assert.deepStrictEqual(
        error.issues.map((i) => `${i.path}: ${i.message}${i.suggestion ? ` (${i.suggestion})` : ""}`),
        [
          "spec.policy.maxToolCalls: must be a positive integer, got 1.5",
          "spec.policy.maxTokens: must be a positive integer, got -10",
          `spec.policy.toolConcurrency: expected a number, got "many"`,
          "spec.policy.maxStepsPerTurn: must be a positive integer, got 0",
          `spec.policy.maxWallTime: maxWallTime is not a positive duration: "forever" (use milliseconds or a string such as "30 seconds" or "30s")`,
          `spec.policy.toolConcurency: unknown field "toolConcurency" (did you mean "toolConcurrency"?)`
        ]
      )
    })))
})

describe("Tool exports: idempotent and needsApproval", () => {
  it.scoped("decode as booleans", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundle(
        "    maxStepsPerTurn: 4\n",
        "    maxTokens: 100\n",
        ", idempotent: true, needsApproval: false"
      )
      const echo = Bundle.find(yield* Bundle.load(dir), "Tool", "echo")!.resource
      assert.strictEqual(echo.spec.exports[0]!.idempotent, true)
      assert.strictEqual(echo.spec.exports[0]!.needsApproval, false)
    })))

  it.scoped("anything but a boolean is an issue", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundle(
        "    maxStepsPerTurn: 4\n",
        "    maxTokens: 100\n",
        ", idempotent: yes please, needsAproval: true"
      )
      assert.deepStrictEqual(yield* issueLines(dir), [
        "resources.yaml:1 spec.exports[0].needsAproval E_CONFIG_UNKNOWN_FIELD",
        "resources.yaml:1 spec.exports[0].idempotent E_CONFIG_SCHEMA_INVALID"
      ])
    })))
})
