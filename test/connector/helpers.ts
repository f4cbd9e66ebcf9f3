import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import type { Model } from "effect-swarm"
import { Bundle, EventBus, Message, Orchestrator } from "effect-swarm"
import * as path from "node:path"

export const baseLayer = Layer.mergeAll(EventBus.layer(), NodeContext.layer)

/** Two agents, `front` (the entry) and `back`, on a model the tests replace (the only fake). */
export const swarmYaml = `apiVersion: effect-swarm/v1
kind: Model
metadata:
  name: scripted
spec:
  provider: scripted
  model: stand-in
  script:
    - text: scripted reply
---
apiVersion: effect-swarm/v1
kind: Agent
metadata:
  name: front
spec:
  modelConfig:
    modelRef: Model/scripted
---
apiVersion: effect-swarm/v1
kind: Agent
metadata:
  name: back
spec:
  modelConfig:
    modelRef: Model/scripted
---
apiVersion: effect-swarm/v1
kind: Swarm
metadata:
  name: default
spec:
  entryAgent: Agent/front
  agents:
    - Agent/front
    - Agent/back
`

/** Writes `files` (relative path -> content) in a temporary directory (removed with the scope) and loads it. */
export const bundleOf = (files: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "connector-" })
    for (const [name, content] of Object.entries({ "swarm.yaml": swarmYaml, ...files })) {
      yield* fs.makeDirectory(path.dirname(path.join(dir, name)), { recursive: true })
      yield* fs.writeFileString(path.join(dir, name), content)
    }
    return yield* Bundle.load(dir)
  })

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
