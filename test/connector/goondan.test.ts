import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const bundleYaml = `apiVersion: effect-swarm/v1
kind: Model
metadata:
  name: scripted
spec:
  provider: scripted
  model: stand-in
  script:
    - match: hello
      text: coordinator heard hello
    - match: "?find"
      text: researcher heard find
    - match: done?
      text: done
    - match: done?
      text: done
---
apiVersion: effect-swarm/v1
kind: Agent
metadata:
  name: coordinator
spec:
  modelConfig:
    modelRef: Model/scripted
---
apiVersion: effect-swarm/v1
kind: Agent
metadata:
  name: researcher
spec:
  modelConfig:
    modelRef: Model/scripted
---
apiVersion: effect-swarm/v1
kind: Swarm
metadata:
  name: team
spec:
  entryAgent: Agent/coordinator
  agents: [Agent/coordinator, Agent/researcher]
---
apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: stdin-lines
spec:
  entry: ./connectors/cli.ts
  events:
    - name: stdin_message
      properties:
        line: { type: string }
        channel: { type: string, optional: true }
---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: lines
spec:
  connectorRef: Connector/stdin-lines
  ingress:
    rules:
      - match: { event: stdin_message, properties: { channel: research } }
        route: { agentRef: Agent/researcher, instanceKeyProperty: channel, instanceKeyPrefix: "cli-" }
      - match: { event: stdin_message }
        route: { agentRef: Agent/coordinator, instanceKey: local }
`

describe("goondan-style connector modules", () => {
  it.scoped(
    "the multi-agent example's stdin connector (run(ctx) + ctx.emit) runs unchanged: each line is routed, stdin's end is done",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "goondan-connector-" })
        yield* fs.makeDirectory(path.join(dir, "connectors"))
        // The example's own file, as it is.
        yield* fs.copyFile(
          path.join(repo, "examples/bundles/multi-agent/connectors/cli.ts"),
          path.join(dir, "connectors/cli.ts")
        )
        yield* fs.writeFileString(path.join(dir, "swarm.yaml"), bundleYaml)
        const output = yield* Command.make(
          path.join(repo, "node_modules/.bin/tsx"),
          path.join(repo, "test/connector/fixtures/stdin-connector.ts"),
          dir
        ).pipe(
          Command.workingDirectory(repo),
          Command.feed("hello\n?find sources\n"),
          Command.string
        )
        const lines = output.trim().split("\n").filter((l) => /^[\w.-]+@\S+ /.test(l)).sort()
        assert.deepStrictEqual(lines, ["coordinator@local done", "researcher@cli-research done"])
      }).pipe(Effect.provide(NodeContext.layer)),
    120_000
  )
})
