/**
 * Issue 13: a file descriptor the host inherited without close-on-exec (here a pipe on fd 40, as a
 * supervisor would pass one) must not reach a tool, under either isolation. A real host process is
 * started with the pipe; its tool tries to write to fd 40 and reports what fd 40 is.
 *
 * Why 40 and not 5: at start-up Node (libuv's `uv_disable_stdio_inheritance`) marks close-on-exec the
 * fds from 0 up to the first gap of 16 closed ones, so a low fd never leaks from a Node host; one past
 * such a gap does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import { createRequire } from "node:module"
import type { Readable } from "node:stream"
import { pathToFileURL } from "node:url"
import * as InheritedFds from "../../src/sandbox/internal/inheritedFds.js"
import { fixture, osIsolated } from "./helpers.js"

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
const host = fixture("sandbox", "inherited-fds-host.ts")

/** The host's inherited fd: past a gap of 16 closed fds, see above. */
const fd = 40

/** Runs the host under `isolation`; resolves with its stdout and what arrived on the parent's end of `fd`. */
const runHost = (isolation: "os" | "runtime") =>
  Effect.async<{ stdout: string; leaked: string; code: number | null }>((resume) => {
    const child = ChildProcess.spawn(process.execPath, ["--import", tsx, host, isolation, String(fd)], {
      stdio: ["ignore", "pipe", "inherit", ...Array.from({ length: fd - 3 }, () => "ignore" as const), "pipe"]
    })
    let stdout = ""
    let leaked = ""
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    const inherited = (child.stdio as ReadonlyArray<unknown>)[fd] as Readable
    inherited.on("data", (chunk: Buffer) => (leaked += chunk.toString("utf8")))
    inherited.on("error", () => {})
    // "close" fires once the host and every process holding the pipe (a leaked worker too) are gone.
    child.once("close", (code) => resume(Effect.succeed({ stdout, leaked, code })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const isolations = (osIsolated ? ["os", "runtime"] : ["runtime"]) as ReadonlyArray<"os" | "runtime">

describe.skipIf(process.platform !== "linux")("inherited file descriptors (issue 13)", () => {
  for (const isolation of isolations) {
    it.live(`an fd the host inherited is /dev/null in the tool (isolation ${isolation})`, () =>
      Effect.gen(function*() {
        const { code, leaked, stdout } = yield* runHost(isolation).pipe(Effect.timeout("60 seconds"))
        assert.strictEqual(code, 0, stdout)
        const line = stdout.trim().split("\n").at(-1) ?? ""
        assert.isFalse(line.startsWith("failed"), line)
        const seen = JSON.parse(line) as { target: string | null; wrote: boolean }
        assert.strictEqual(leaked, "", `the tool wrote to the host's fd ${fd}`)
        assert.isTrue(seen.target === null || seen.target === "/dev/null", `fd ${fd} in the tool: ${seen.target}`)
      }), 90_000)
  }
})

describe("inherited fds past a child's own stdio (child agent hosts: fd 3 is their IPC channel)", () => {
  it("covers each inherited fd from the first index after the child's stdio, /dev/null over it", () => {
    const devNull = 99
    assert.deepStrictEqual(InheritedFds.extraStdio([5, 7], devNull), ["ignore", "ignore", devNull, "ignore", devNull])
    assert.deepStrictEqual(InheritedFds.extraStdio([5, 7], devNull, 4), ["ignore", devNull, "ignore", devNull])
    assert.deepStrictEqual(InheritedFds.extraStdio([], devNull, 4), [])
  })
})
