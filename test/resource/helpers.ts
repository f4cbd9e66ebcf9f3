import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { Bundle } from "effect-swarm"

export type Files = Record<string, string | Uint8Array | { readonly symlink: string }>

/** Writes files (and symlinks) into a fresh temp directory that lives as long as the scope. */
export const writeBundle = (files: Files) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-bundle-" })
    yield* writeFiles(dir, files)
    return dir
  })

export const writeFiles = (dir: string, files: Files) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(dir, name)
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      if (typeof content === "string") yield* fs.writeFileString(file, content)
      else if (content instanceof Uint8Array) yield* fs.writeFile(file, content)
      else yield* fs.symlink(content.symlink, file)
    }
  })

/** `file:document path CODE` for every issue of a bundle that must fail. */
export const issueLines = (dir: string, options?: Bundle.LoadOptions) =>
  Bundle.load(dir, options).pipe(
    Effect.flip,
    Effect.map((e) =>
      e.issues.map((i) => `${i.file}${i.document === undefined ? "" : `:${i.document}`} ${i.path} ${i.code}`)
    )
  )

/** Only the codes. */
export const issueCodes = (dir: string, options?: Bundle.LoadOptions) =>
  Bundle.load(dir, options).pipe(Effect.flip, Effect.map((e) => e.issues.map((i) => i.code)))

export const provideNode = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeContext.layer))

export const model = (name = "default") =>
  `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: ${name} }
spec: { provider: openai, model: gpt-4.1-mini }
`

export const tool = (name = "echo", entry = "./tools/echo.js", exports = ["say"]) =>
  `apiVersion: effect-swarm/v1
kind: Tool
metadata: { name: ${name} }
spec:
  entry: ${entry}
  exports:
${exports.map((e) => `    - { name: ${e}, description: does ${e}, parameters: { type: object } }`).join("\n")}
`

export const agent = (name = "assistant", extra = "") =>
  `apiVersion: effect-swarm/v1
kind: Agent
metadata: { name: ${name} }
spec:
  modelConfig: { modelRef: Model/default }
${extra}`

export const swarm = (name = "default", agents = ["assistant"]) =>
  `apiVersion: effect-swarm/v1
kind: Swarm
metadata: { name: ${name} }
spec:
  entryAgent: Agent/${agents[0]}
  agents: [${agents.map((a) => `Agent/${a}`).join(", ")}]
`

export const docs = (...documents: ReadonlyArray<string>) => documents.join("---\n")

/** A valid bundle to break one piece at a time. */
export const valid: Files = {
  "resources.yaml": docs(model(), tool(), agent("assistant", "  tools: [Tool/echo]\n"), swarm()),
  "tools/echo.js": "export const handlers = { say: (args) => args }\n"
}
