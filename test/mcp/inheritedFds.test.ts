/**
 * A file descriptor the host inherited without close-on-exec (here a pipe on fd 40, as a supervisor would pass
 * one) must not reach the MCP servers it starts (issue 13's note: tools were covered, other children were not).
 * A real host process is started with the pipe; the MCP server it connects to over stdio writes to fd 40 and
 * reports what fd 40 is. Why 40: see test/sandbox/inheritedFds.test.ts (Node marks the low fds close-on-exec).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runWithInheritedFd } from "../support/inheritedFd.js"

const host = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "mcp",
  "inherited-fds-mcp-host.ts"
)
const fd = 40

const runHost = runWithInheritedFd(host, [String(fd)], fd)

describe.skipIf(process.platform !== "linux")("inherited file descriptors and MCP servers", () => {
  it.live("an fd the host inherited is /dev/null in the stdio MCP server it starts", () =>
    Effect.gen(function*() {
      const { code, leaked, stdout } = yield* runHost.pipe(Effect.timeout("60 seconds"))
      assert.strictEqual(code, 0, stdout)
      const line = stdout.trim().split("\n").at(-1) ?? ""
      assert.isFalse(line.startsWith("failed"), line)
      const result = JSON.parse(line) as { content: ReadonlyArray<{ text: string }> }
      const seen = JSON.parse(result.content[0]!.text) as { target: string | null; wrote: boolean }
      assert.strictEqual(leaked, "", `the MCP server wrote to the host's fd ${fd}`)
      assert.isTrue(seen.target === null || seen.target === "/dev/null", `fd ${fd} in the server: ${seen.target}`)
    }), 90_000)
})
