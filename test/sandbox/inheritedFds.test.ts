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
import * as InheritedFds from "../../src/sandbox/internal/inheritedFds.js"
import { runWithInheritedFd } from "../support/inheritedFd.js"
import { fixture, osIsolated } from "./helpers.js"

const host = fixture("sandbox", "inherited-fds-host.ts")

/** The host's inherited fd: past a gap of 16 closed fds, see above. */
const fd = 40

/** Runs the host under `isolation` (see `runWithInheritedFd`). */
const runHost = (isolation: "os" | "runtime") => runWithInheritedFd(host, [isolation, String(fd)], fd)

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
