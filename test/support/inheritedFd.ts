// Runs a fixture host (TypeScript, under tsx) with an extra pipe on fd `fd`, not close-on-exec, as a
// supervisor would pass one: resolves with the host's stdout and what arrived on the parent's end of the pipe
// (what the host's children wrote to it, when the fd leaked to them).
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import { createRequire } from "node:module"
import type { Readable } from "node:stream"
import { pathToFileURL } from "node:url"

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

export const runWithInheritedFd = (host: string, args: ReadonlyArray<string>, fd: number) =>
  Effect.async<{ stdout: string; leaked: string; code: number | null }>((resume) => {
    const child = ChildProcess.spawn(process.execPath, ["--import", tsx, host, ...args], {
      stdio: ["ignore", "pipe", "inherit", ...Array.from({ length: fd - 3 }, () => "ignore" as const), "pipe"]
    })
    let stdout = ""
    let leaked = ""
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    const inherited = (child.stdio as ReadonlyArray<unknown>)[fd] as Readable
    inherited.on("data", (chunk: Buffer) => (leaked += chunk.toString("utf8")))
    inherited.on("error", () => {})
    // "close" fires once the host and every process holding the pipe (a leaked child too) are gone.
    child.once("close", (code) => resume(Effect.succeed({ stdout, leaked, code })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
