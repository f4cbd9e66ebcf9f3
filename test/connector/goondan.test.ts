import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { swarmYamlOf, writeFiles } from "./helpers.js"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const bundleYaml = `${
  swarmYamlOf({
    swarm: "team",
    agents: ["coordinator", "researcher"],
    script: [
      `    - match: hello\n      text: coordinator heard hello\n`,
      `    - match: "?find"\n      text: researcher heard find\n`,
      `    - match: done?\n      text: done\n`,
      `    - match: done?\n      text: done\n`
    ].join("")
  })
}---
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
        // The example's own connector file, as it is.
        const example = yield* FileSystem.FileSystem.pipe(
          Effect.flatMap((fs) => fs.readFileString(path.join(repo, "examples/bundles/multi-agent/connectors/cli.ts")))
        )
        const dir = yield* writeFiles({ "swarm.yaml": bundleYaml, "connectors/cli.ts": example }, "goondan-connector-")
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
