/**
 * Bundle loading: a generated bundle of 200 resources across 20 files (20 Models, 60 Tools with two
 * exports each, 10 Extensions, 60 Agents, 20 Swarms, 10 Connectors, 20 Connections), every entry file
 * present, written once to a temp directory.
 *
 * Tasks: the `yaml` package alone (parse + toJS of the 20 texts: the floor), our parse + per-kind
 * decode in memory, and `Bundle.load` end to end (scan, stat/read, parse, decode, references, entry
 * files through realpath).
 */
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Bench } from "tinybench"
import { parseAllDocuments } from "yaml"
import * as Bundle from "../src/resource/Bundle.js"
import * as Resource from "../src/resource/Resource.js"
import * as Yaml from "../src/resource/Yaml.js"

const header = (kind: string, name: string) =>
  `apiVersion: effect-swarm/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n`

const pad = (n: number) => String(n).padStart(2, "0")

/** 20 files of 10 resources each; the indices keep every reference resolvable. */
export const generate = (): Map<string, string> => {
  const docs: Array<string> = []
  for (let i = 0; i < 20; i++) {
    docs.push(
      header("Model", `model-${pad(i)}`) +
        `spec:\n  provider: openai\n  model: gpt-4.1-mini\n  apiKey:\n    valueFrom:\n      env: OPENAI_API_KEY\n`
    )
  }
  for (let i = 0; i < 60; i++) {
    docs.push(
      header("Tool", `tool-${pad(i)}`) +
        `spec:\n  entry: ./tools/tool-${pad(i)}.js\n  exports:\n` +
        ["read", "write"].map((e) =>
          `    - name: ${e}\n      description: ${e} things\n      parameters:\n        type: object\n` +
          `        additionalProperties: false\n        properties:\n          path: { type: string }\n` +
          `          limit: { type: integer, minimum: 1 }\n        required: [path]\n`
        ).join("") +
        (i % 3 === 0
          ? `  runtime:\n    type: deno\n    permissions: ["--allow-read=/data"]\n    timeout: "5 seconds"\n`
          : "")
    )
  }
  for (let i = 0; i < 10; i++) {
    docs.push(
      header("Extension", `ext-${pad(i)}`) +
        `spec:\n  entry: ./extensions/ext-${pad(i)}.js\n  config: { level: info }\n`
    )
  }
  for (let i = 0; i < 60; i++) {
    docs.push(
      header("Agent", `agent-${pad(i)}`) +
        `spec:\n  modelConfig:\n    modelRef: Model/model-${
          pad(i % 20)
        }\n    params: { temperature: 0.2, maxTokens: 1000 }\n` +
        `  prompt:\n    system: |\n      You are agent ${i}.\n      Be brief.\n` +
        `  tools: [Tool/tool-${pad(i)}, { ref: Tool/tool-${pad((i + 1) % 60)} }, Tool/tool-${pad((i + 2) % 60)}]\n` +
        `  extensions:\n    - ref: Extension/ext-${pad(i % 10)}\n      config: { level: debug }\n` +
        `  requiredTools: [tool-${pad(i)}__read]\n`
    )
  }
  for (let i = 0; i < 20; i++) {
    docs.push(
      header("Swarm", `swarm-${pad(i)}`) +
        `spec:\n  entryAgent: Agent/agent-${pad(i * 3)}\n  agents: [Agent/agent-${pad(i * 3)}, Agent/agent-${
          pad(i * 3 + 1)
        }, Agent/agent-${pad(i * 3 + 2)}]\n  policy: { maxStepsPerTurn: 12 }\n`
    )
  }
  for (let i = 0; i < 10; i++) {
    docs.push(
      header("Connector", `conn-${pad(i)}`) +
        `spec:\n  entry: ./connectors/conn-${
          pad(i)
        }.js\n  events:\n    - name: message\n      properties:\n        channel: { type: string }\n`
    )
  }
  for (let i = 0; i < 20; i++) {
    docs.push(
      header("Connection", `link-${pad(i)}`) +
        `spec:\n  connectorRef: Connector/conn-${pad(i % 10)}\n  swarmRef: Swarm/swarm-${pad(i)}\n` +
        `  secrets:\n    token:\n      valueFrom:\n        env: TOKEN_${i}\n` +
        `  ingress:\n    rules:\n      - match: { event: message, properties: { channel: general } }\n` +
        `        route: { agentRef: Agent/agent-${pad(i * 3 + 1)}, instanceKeyProperty: channel }\n` +
        `      - route: { instanceKey: default }\n`
    )
  }
  const files = new Map<string, string>()
  for (let f = 0; f < 20; f++) {
    files.set(`part-${pad(f)}/resources.yaml`, docs.slice(f * 10, f * 10 + 10).join("---\n"))
  }
  return files
}

const writeBundle = (files: Map<string, string>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-bench-"))
  for (const [name, text] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), text)
  }
  for (let i = 0; i < 60; i++) {
    fs.mkdirSync(path.join(dir, "tools"), { recursive: true })
    fs.writeFileSync(path.join(dir, `tools/tool-${pad(i)}.js`), "export const handlers = {}\n")
  }
  for (let i = 0; i < 10; i++) {
    fs.mkdirSync(path.join(dir, "extensions"), { recursive: true })
    fs.mkdirSync(path.join(dir, "connectors"), { recursive: true })
    fs.writeFileSync(path.join(dir, `extensions/ext-${pad(i)}.js`), "export default {}\n")
    fs.writeFileSync(path.join(dir, `connectors/conn-${pad(i)}.js`), "export default {}\n")
  }
  return dir
}

export const run = async (): Promise<void> => {
  const files = generate()
  const texts = [...files.values()]
  const dir = writeBundle(files)
  const load = Bundle.load(dir).pipe(Effect.provide(NodeContext.layer))
  try {
    const bundle = await Effect.runPromise(load)
    if (bundle.entries.length !== 200) throw new Error(`expected 200 resources, got ${bundle.entries.length}`)
    const tasks: ReadonlyArray<readonly [string, () => unknown]> = [
      ["yaml package only: parse + toJS (20 files)", () => {
        for (const text of texts) for (const doc of parseAllDocuments(text)) doc.toJS()
      }],
      ["Yaml.parseText + Resource.decode (200 resources, in memory)", () => {
        for (const text of texts) {
          for (const doc of Yaml.parseText(text).documents) {
            if (Either.isLeft(Resource.decode(doc.value, doc.numberSources))) throw new Error("invalid")
          }
        }
      }],
      ["Bundle.load end to end (200 resources, 20 files, 90 entry files)", () => Effect.runPromise(load)]
    ]
    const bench = new Bench({ time: 2000, warmupTime: 500 })
    for (const [name, fn] of tasks) bench.add(name, fn)
    await bench.run()
    // CPU time per iteration (user + system) is less sensitive to other work on a shared machine.
    const cpuMs: Array<number> = []
    for (const [, fn] of tasks) {
      const n = 20
      const before = process.cpuUsage()
      for (let i = 0; i < n; i++) await fn()
      const used = process.cpuUsage(before)
      cpuMs.push((used.user + used.system) / 1000 / n)
    }
    console.table(
      bench.tasks.map((task, i) => {
        const r = task.result as { latency?: { p50?: number; mean?: number; p99?: number } } | undefined
        return {
          task: task.name,
          "p50 ms": r?.latency?.p50?.toFixed(2),
          "mean ms": r?.latency?.mean?.toFixed(2),
          "p99 ms": r?.latency?.p99?.toFixed(2),
          "cpu ms": cpuMs[i]!.toFixed(2)
        }
      })
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
