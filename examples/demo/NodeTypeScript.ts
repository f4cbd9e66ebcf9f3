/**
 * Node before 22.6 cannot import a `.ts` file (ToolRuntime passes `--experimental-strip-types` on
 * 22.6-23.5 and refuses older Nodes with `EntrypointUnsupported` before spawning), and the sandbox may
 * not add a loader (`--import` is refused in `nodeOptions`, and loader hooks need worker threads the
 * permission model forbids). So a Node-sandboxed tool whose entry is TypeScript is compiled to
 * JavaScript (by esbuild, which tsx ships with: types stripped, nothing else changes) in a scoped
 * temporary directory, and the sandbox runs that. The example bundle's node tool is JavaScript already;
 * this keeps the demo working on bundles that have a TypeScript one.
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import type { Resource } from "effect-swarm"
import * as path from "node:path"

/** Whether this Node strips TypeScript types on its own (23.6+, or an earlier one started with the flag). */
export const nodeRunsTypeScript = (): boolean =>
  (process.features as { readonly typescript?: string | false | undefined }).typescript !== undefined &&
  (process.features as { readonly typescript?: string | false | undefined }).typescript !== false

/**
 * The resource to hand to the sandbox: unchanged, or (a Node tool with a TypeScript entry on a Node that
 * cannot run it) a copy whose entry is the compiled module. `note` says what was done.
 */
export const prepare = (tool: Resource.ToolResource, rootDir: string) =>
  Effect.gen(function*() {
    const runtime = tool.spec.runtime
    if (runtime?.type !== "node" || !/\.m?ts$/.test(tool.spec.entry) || nodeRunsTypeScript()) {
      return { resource: tool, note: undefined }
    }
    const fs = yield* FileSystem.FileSystem
    const source = yield* fs.readFileString(path.resolve(rootDir, tool.spec.entry))
    const { code } = yield* Effect.promise(() =>
      import("esbuild").then((esbuild) => esbuild.transform(source, { loader: "ts", format: "esm" }))
    )
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-demo-" })
    const entry = path.join(dir, `${path.basename(tool.spec.entry).replace(/\.m?ts$/, "")}.mjs`)
    yield* fs.writeFileString(entry, code)
    const resource: Resource.ToolResource = { ...tool, spec: { ...tool.spec, entry } }
    return { resource, note: `Node ${process.versions.node} cannot import ${tool.spec.entry}: compiled to JS first` }
  })
