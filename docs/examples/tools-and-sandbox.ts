// docs/tools-and-sandbox.md: run one export of a tool module in a sandboxed Node child process, under
// a memory cap and a timeout, with no network and no inherited environment.
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { RuntimeConfig, ToolRuntime } from "effect-swarm"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-doc-"))
const entry = path.join(dir, "math.mjs")
fs.writeFileSync(entry, "export const add = ({ a, b }) => ({ sum: a + b })\n")

const Tools = ToolRuntime.layer.pipe(
  Layer.provide(RuntimeConfig.layer(
    "node",
    RuntimeConfig.withEntrypointPath(entry),
    RuntimeConfig.withPermissions([`--allow-read=${dir}`]),
    RuntimeConfig.withMaxMemoryMB(256),
    RuntimeConfig.withToolExecutionTimeout("20 seconds")
  ))
)

const program = Effect.gen(function*() {
  const tools = yield* ToolRuntime.ToolRuntime
  const result = yield* tools.execute({ toolId: "add", input: { a: 1, b: 2 } })
  yield* Console.log(JSON.stringify(result))
})

program.pipe(
  Effect.provide(Tools.pipe(Layer.provideMerge(NodeContext.layer))),
  Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))),
  Effect.runPromise
)
