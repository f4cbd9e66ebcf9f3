import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import type { Model } from "effect-swarm"
import { Bundle, Connectors, EventBus, Message, Orchestrator } from "effect-swarm"
import * as path from "node:path"

export const baseLayer = Layer.mergeAll(EventBus.layer(), NodeContext.layer)

/**
 * A Swarm of two agents on one scripted Model (`script`: YAML list items, indented four spaces): the first
 * agent is the entry.
 */
export const swarmYamlOf = (options: {
  readonly swarm: string
  readonly agents: readonly [string, string]
  readonly script: string
}) =>
  `apiVersion: effect-swarm/v1
kind: Model
metadata:
  name: scripted
spec:
  provider: scripted
  model: stand-in
  script:
${options.script}${
    options.agents.map((agent) =>
      `---
apiVersion: effect-swarm/v1
kind: Agent
metadata:
  name: ${agent}
spec:
  modelConfig:
    modelRef: Model/scripted
`
    ).join("")
  }---
apiVersion: effect-swarm/v1
kind: Swarm
metadata:
  name: ${options.swarm}
spec:
  entryAgent: Agent/${options.agents[0]}
  agents: [${options.agents.map((a) => `Agent/${a}`).join(", ")}]
`

/** Two agents, `front` (the entry) and `back`, on a model the tests replace (the only fake). */
export const swarmYaml = swarmYamlOf({
  swarm: "default",
  agents: ["front", "back"],
  script: "    - text: scripted reply\n"
})

/** Writes `files` (relative path -> content) in a temporary directory removed with the scope. */
export const writeFiles = (files: Readonly<Record<string, string>>, prefix = "connector-") =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix })
    for (const [name, content] of Object.entries(files)) {
      yield* fs.makeDirectory(path.dirname(path.join(dir, name)), { recursive: true })
      yield* fs.writeFileString(path.join(dir, name), content)
    }
    return dir
  })

/**
 * A connector module (\`entry\`) declaring the events \`events\` (no properties), and its Connection
 * \`<name>-in\` (\`spec\` lines added to the Connection's spec, indented two spaces).
 */
export const moduleConnectorYaml = (name: string, entry: string, events: ReadonlyArray<string>, spec = "") =>
  `apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: ${name}
spec:
  entry: ./${entry}
  events:
${events.map((e) => `    - name: ${e}\n`).join("")}---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: ${name}-in
spec:
  connectorRef: Connector/${name}
${spec}`

/** Writes `files` with the two-agent `swarm.yaml` (see {@link writeFiles}) and loads the bundle. */
export const bundleOf = (files: Readonly<Record<string, string>>) =>
  Effect.flatMap(writeFiles({ "swarm.yaml": swarmYaml, ...files }), (dir) => Bundle.load(dir))

const lastUser = (request: Model.Request): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!
    const data: Message.MessageData = "createdAt" in m && "metadata" in m ? (m as Message.Message).data : m
    if (data.role === "user") return Message.text(data)
  }
  return ""
}

/** Answers `<agent>: <last user text>`, streamed in two text deltas; records every input. */
export const echoModel = (agent: string, calls: Array<string>): Model.Service => {
  const respond = (request: Model.Request) =>
    Effect.sync(() => {
      const text = lastUser(request)
      calls.push(`${agent}:${text}`)
      const reply = `${agent}: ${text}`
      const response: Model.Response = {
        message: { role: "assistant", content: reply },
        text: reply,
        toolCalls: [],
        finishReason: "stop",
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        metadata: { provider: "scripted" }
      }
      return { reply, response }
    })
  return {
    provider: "scripted",
    model: "echo",
    generate: (request) => Effect.map(respond(request), (r) => r.response),
    stream: (request) =>
      Stream.unwrap(Effect.map(respond(request), ({ reply, response }) =>
        Stream.make<Array<Model.StreamPart>>(
          { _tag: "TextDelta", text: reply.slice(0, 3) },
          { _tag: "TextDelta", text: reply.slice(3) },
          { _tag: "Finish", response }
        )))
  }
}

/** An in-memory orchestrator of the bundle whose agents echo. */
export const orchestratorOf = (bundle: Bundle.Bundle, calls: Array<string> = []) =>
  Orchestrator.makeInMemory(bundle, undefined, {
    models: { front: echoModel("front", calls), back: echoModel("back", calls) }
  })

/**
 * The \`http\` connector on a free port as Connection \`web-in\`: events \`message\` (\`user\`, optional
 * \`channel\`) and \`ping\`; \`channel: back\` goes to \`back@<user>\`, other messages to \`front@u-<user>\`.
 * \`config\` adds entries to the Connection's \`spec.config\` (string values).
 */
export const webYaml = (
  options: {
    readonly signingSecret?: string
    readonly maxBodyBytes?: number
    readonly config?: Readonly<Record<string, string>>
  } = {}
) =>
  `apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: web
spec:
  builtin: http
  events:
    - name: message
      properties:
        user: { type: string }
        channel: { type: string, optional: true }
    - name: ping
---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: web-in
spec:
  connectorRef: Connector/web
  config:
    port: { value: "0" }
    maxBodyBytes: { value: "${options.maxBodyBytes ?? 1048576}" }
${Object.entries(options.config ?? {}).map(([k, v]) => `    ${k}: { value: "${v}" }\n`).join("")}${
    options.signingSecret === undefined ?
      "" :
      `  verify:\n    webhook:\n      signingSecret: { value: "${options.signingSecret}" }\n`
  }  ingress:
    rules:
      - match: { event: message, properties: { channel: back } }
        route: { agentRef: Agent/back, instanceKeyProperty: user }
      - match: { event: message }
        route: { instanceKeyProperty: user, instanceKeyPrefix: "u-" }
`

/**
 * Starts the bundle's connectors (agents that echo, unless \`models\` replaces theirs) and returns the
 * \`web-in\` connector's base URL.
 */
export const serve = (
  files: Record<string, string>,
  options?: Connectors.Options,
  models?: Readonly<Record<string, Model.Service>>
) =>
  Effect.gen(function*() {
    const bundle = yield* bundleOf(files)
    const orchestrator = yield* Orchestrator.makeInMemory(bundle, undefined, {
      models: { front: echoModel("front", []), back: echoModel("back", []), ...models }
    })
    const connectors = yield* Connectors.run(bundle, orchestrator, options)
    const url = yield* connectors.announced("web-in", "url")
    return { url, connectors, orchestrator }
  })

/** POSTs \`body\` as JSON; the status and the parsed JSON answer. */
export const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  })

/** A \`message\` event from \`user\`. */
export const event = (text: string, user: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: "message", text, properties: { user, ...extra } })

export interface SseEvent {
  readonly event: string
  readonly data: Record<string, unknown>
}

/** Reads server-sent events until \`until\` holds for one (then cancels the stream); comment lines are skipped. */
export const readSse = async (res: Response, until: (e: SseEvent) => boolean): Promise<Array<SseEvent>> => {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const events: Array<SseEvent> = []
  let buffer = ""
  while (true) {
    const { done, value } = await reader.read()
    if (done) return events
    buffer += decoder.decode(value, { stream: true })
    let end = buffer.indexOf("\n\n")
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf("\n\n")
      if (block.startsWith(":")) continue
      const name = /^event: (.*)$/m.exec(block)?.[1] ?? "message"
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? "null"
      const e = { event: name, data: JSON.parse(data) as Record<string, unknown> }
      events.push(e)
      if (until(e)) {
        await reader.cancel()
        return events
      }
    }
  }
}
