/**
 * A long run of one durable agent instance (`npm run bench -- soak`; `SOAK_TURNS`, default 10,000): what a
 * process that runs an agent for days does to its memory, descriptors, disk and step time. Each turn is two
 * steps (a tool call, then a reply) through `Turn.run` on MessageStore + RuntimeEventLog + Instances on a
 * temp dir, every write fsynced; two shapes:
 *
 * - `threads`: every 20 turns the conversation is truncated (a chat that starts new threads). Nothing should
 *   grow but the files: the heap after a full GC must stay flat.
 * - `one conversation`: never truncated (SOAK_LONG_TURNS, default a fifth of the turns). The conversation
 *   grows, and so may memory; a turn's time must not grow with it faster than its own messages do.
 *
 * Printed every tenth of the run: turns so far, p50 ms per turn over that tenth, heap used after a full
 * GC, RSS, open descriptors, and the bytes of the instance's files. Run with `--expose-gc` (the script
 * does, through `npm run bench`'s node options, or falls back to the heap as found).
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as AgentInstance from "../src/agent/AgentInstance.js"
import * as Loop from "../src/agent/internal/loop.js"
import * as Policy from "../src/agent/Policy.js"
import * as Turn from "../src/agent/Turn.js"
import type * as Message from "../src/conversation/Message.js"
import * as MessageEvent from "../src/conversation/MessageEvent.js"
import type * as Model from "../src/model/Model.js"
import { storesLayer } from "../test/support/stores.js"

const toolName = "notes__add"

/** Calls the tool once per turn, then replies (the second step). */
const model: Model.Service = {
  provider: "scripted",
  model: "soak",
  generate: (request) =>
    Effect.sync(() => {
      const last = request.messages.at(-1) as Message.Message
      if (last.data.role === "tool") {
        return {
          message: { role: "assistant", content: "Noted." },
          text: "Noted.",
          toolCalls: [],
          finishReason: "stop",
          usage: { inputTokens: 40, outputTokens: 3, totalTokens: 43 },
          metadata: { provider: "scripted" }
        } satisfies Model.Response
      }
      const call = { id: `call-${request.messages.length}`, name: toolName, arguments: { text: "a note" } }
      return {
        message: { role: "assistant", content: "", toolCalls: [call] },
        text: "",
        toolCalls: [call],
        finishReason: "tool-calls",
        usage: { inputTokens: 30, outputTokens: 8, totalTokens: 38 },
        metadata: { provider: "scripted" }
      } satisfies Model.Response
    }),
  stream: () => {
    throw new Error("not used")
  }
}

const gc: (() => void) | undefined = (() => {
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

const dirBytes = (dir: string): number => {
  let total = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    total += entry.isDirectory() ? dirBytes(p) : fs.statSync(p).size
  }
  return total
}

const p50 = (xs: Array<number>) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024 * 10) / 10

const soak = async (task: string, turns: number, truncateEvery: number | undefined) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-soak-"))
  const root = path.join(dir, "root")
  // The stores the agent tests run on (test/support/stores.ts): the same layer, on the run's own root.
  const stores = () => ManagedRuntime.make(storesLayer(root))
  const runtime = stores()
  const rows: Array<Record<string, string | number>> = []
  try {
    const options: AgentInstance.Options = {
      ref: { workspaceId: "soak", agentName: "soak", instanceKey: "one" },
      model,
      system: "You take notes.",
      policy: Policy.resolve({ maxStepsPerTurn: 4 }),
      tools: { [toolName]: { idempotent: false } }
    }
    const instance = await runtime.runPromise(
      Effect.tap(
        AgentInstance.make(options).pipe(Effect.scoped),
        (i) =>
          i.tools.register({
            name: toolName,
            description: "adds a note",
            parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] }
          }, () => Effect.succeed({ ok: true })).pipe(Effect.orDie)
      )
    )
    const fdsBefore = fs.readdirSync("/proc/self/fd").length
    const every = Math.max(1, Math.floor(turns / 10))
    let window: Array<number> = []
    for (let turn = 1; turn <= turns; turn++) {
      const started = performance.now()
      const result = await runtime.runPromise(Turn.run(instance, `note ${turn}`))
      window.push(performance.now() - started)
      if (result.finishReason !== "text_response") throw new Error(`turn ${turn} ended ${result.finishReason}`)
      if (truncateEvery !== undefined && turn % truncateEvery === 0) {
        await runtime.runPromise(Loop.appendAll(instance, [MessageEvent.truncate]))
      }
      if (turn % every === 0) {
        gc?.()
        rows.push({
          task,
          turns: turn,
          "p50 ms/turn": Math.round(p50(window) * 100) / 100,
          "heap MB (after GC)": mb(process.memoryUsage().heapUsed),
          "RSS MB": mb(process.memoryUsage().rss),
          "fds opened": fs.readdirSync("/proc/self/fd").length - fdsBefore,
          "files MB": mb(dirBytes(root))
        })
        window = []
      }
    }
    // What a restart costs: the instance opened again by a new process's stores.
    await runtime.dispose()
    const again = stores()
    const started = performance.now()
    await again.runPromise(AgentInstance.make(options).pipe(Effect.scoped))
    console.log(
      `${task}: the instance opened again after ${turns} turns in ${Math.round(performance.now() - started)} ms`
    )
    await again.dispose()
  } finally {
    await runtime.dispose()
    if (process.env.SOAK_KEEP === undefined) fs.rmSync(dir, { recursive: true, force: true })
    else console.log("kept", dir)
  }
  console.table(rows)
}

export const run = async (): Promise<void> => {
  const turns = Number(process.env.SOAK_TURNS ?? 10_000)
  if (gc === undefined) console.log("(no gc(): heap figures include garbage)")
  await soak("threads (truncate every 20 turns)", turns, 20)
  await soak("one conversation", Number(process.env.SOAK_LONG_TURNS ?? Math.floor(turns / 5)), undefined)
}
