// docs/conversations-and-storage.md: append messages durably, read the folded conversation back.
import { NodeFileSystem } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Message, MessageEvent, MessageStore } from "effect-swarm"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-doc-"))
const instance = { workspaceId: "docs", agentName: "coder", instanceKey: "thread-1" }

const program = Effect.gen(function*() {
  const store = yield* MessageStore.MessageStore
  const hello = yield* Message.make({ role: "user", content: "What is in README.md?" })
  const [event] = yield* store.append(instance, [MessageEvent.append(hello)], { expectedLastSeq: 0 })
  yield* Console.log(`durable at seq ${event!.seq}`)
  const conversation = yield* store.load(instance)
  yield* Console.log(conversation.messages.map((m) => `${m.data.role}: ${Message.text(m.data)}`).join("\n"))
})

const StoreLive = MessageStore.layer({ root }).pipe(Layer.provide(NodeFileSystem.layer))
program.pipe(
  Effect.provide(StoreLive),
  Effect.ensuring(Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))),
  Effect.runPromise
)
