import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as McpClient from "../../src/mcp/McpClient.js"
import * as Sandbox from "../../src/sandbox/Sandbox.js"
import { fixtureDir, stdio, tools } from "./helpers.js"

const repoRoot = path.resolve(__dirname, "../..")
const available = Sandbox.bubblewrap().probe()._tag === "Available"

describe("a stdio MCP server under the OS sandbox", () => {
  it.live.skipIf(!available)(
    "a server trying to read a host secret: denied under the sandbox, not without it",
    () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-swarm-secret-"))
        const secret = path.join(dir, "token")
        fs.writeFileSync(secret, "host-secret-file")
        process.env.HOST_SECRET = "host-secret-env"
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            delete process.env.HOST_SECRET
            fs.rmSync(dir, { recursive: true, force: true })
          })
        )
        const read = (client: McpClient.McpClient) =>
          Effect.gen(function*() {
            const { call } = yield* tools(client)
            const result = yield* call("fx__read_secret", { path: secret })
            return JSON.parse(result.output as string) as { env: string | null; file: string }
          })

        // Without the sandbox the file is readable (only the environment is allow-listed).
        const open = yield* read(yield* McpClient.make({ name: "fx", transport: stdio() }))
        assert.deepStrictEqual(open, { env: null, file: "host-secret-file" })

        // Under bubblewrap it sees the system directories, its grants and its cwd only: the file is not there.
        const sandboxed = yield* McpClient.make({
          name: "fx",
          transport: stdio({
            sandbox: {
              read: [repoRoot, fs.realpathSync(path.join(repoRoot, "node_modules"))],
              write: [],
              network: false
            }
          })
        })
        const denied = yield* read(sandboxed)
        assert.strictEqual(denied.env, null)
        assert.strictEqual(denied.file, "denied (ENOENT)")
      }).pipe(Effect.scoped)
  )

  it.live("a sandbox that is unavailable refuses to start the server (never runs it unsandboxed)", () =>
    Effect.gen(function*() {
      const error = yield* McpClient.make({
        name: "fx",
        transport: stdio({
          sandbox: { read: [], write: [], network: false },
          strategy: Sandbox.bubblewrap(path.join(fixtureDir, "no-such-bwrap"))
        })
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "McpConnectError")
      assert.match(error.message, /spec\.sandbox is set but the OS sandbox is unavailable/)
    }).pipe(Effect.scoped))
})
