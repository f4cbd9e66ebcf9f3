/**
 * A file descriptor the host inherited without close-on-exec (here a pipe on fd 40, as a supervisor would pass
 * one) must not reach the child agent hosts it starts (commit 090df5b: `InheritedFds.spawnShielded` in
 * hostChild.ts; test/mcp/inheritedFds.test.ts covers stdio MCP servers). A real host process is started with the
 * pipe and starts a real child host; the host reads /proc/<child pid>/fd while the child runs. Why 40: see
 * test/sandbox/inheritedFds.test.ts (Node marks the low fds close-on-exec).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runWithInheritedFd } from "../support/inheritedFd.js"
import { hostBundleDir } from "./hostKit.js"

const host = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../fixtures/orchestrator/inherited-fds-child-host.ts"
)
const fd = 40

describe.skipIf(process.platform !== "linux")("inherited file descriptors and child agent hosts", () => {
  it.live(
    "an fd the host inherited is not open in the child agent host it starts (/dev/null over it at most)",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-host-fds-" })
        const { code, leaked, stdout } = yield* runWithInheritedFd(host, [home, hostBundleDir, String(fd)], fd).pipe(
          Effect.timeout("120 seconds")
        )
        assert.strictEqual(code, 0, stdout)
        const line = stdout.trim().split("\n").at(-1) ?? ""
        assert.isFalse(line.startsWith("failed"), line)
        const seen = JSON.parse(line) as {
          here: string | null
          child: number
          childFds: Record<string, string | null>
        }
        // The host has the pipe (Node gives a socket pair for "pipe"; else the test proves nothing)...
        assert.match(seen.here ?? "", /^(pipe|socket):\[\d+\]$/, `fd ${fd} in the host: ${seen.here}`)
        assert.notStrictEqual(seen.child, process.pid)
        // ...its child host has it under no number, and fd 40 there is closed or /dev/null.
        const holding = Object.entries(seen.childFds).filter(([, target]) => target === seen.here)
        assert.deepStrictEqual(holding, [], `the child host holds the host's pipe: ${JSON.stringify(seen.childFds)}`)
        const atFd = seen.childFds[String(fd)]
        assert.isTrue(atFd === undefined || atFd === null || atFd === "/dev/null", `fd ${fd} in the child: ${atFd}`)
        assert.strictEqual(leaked, "")
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    150_000
  )
})
