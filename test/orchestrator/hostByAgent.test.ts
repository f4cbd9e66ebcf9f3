/**
 * `AgentHost.byAgent`: each agent's instances start on the host named for it, the rest on `otherwise`;
 * durable hosts that disagree on the state root are a `HostConflict` at layer build; a name that is no
 * Agent of the bundle fails the start with `HostUnknownAgent`. (Child-process hosts mixed with in-process
 * ones: hostAgents.test.ts.)
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AgentHost, Bundle, EventBus, Orchestrator } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { text } from "./helpers.js"

const bundleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/bundles/host-agents")

/** An in-memory host that records `<label>:<agent>` at every start. */
const recording = (label: string, starts: Array<string>) =>
  Layer.effect(
    AgentHost.AgentHost,
    Effect.map(AgentHost.AgentHost, (inner) =>
      AgentHost.AgentHost.of({
        ...inner,
        start: (target) =>
          Effect.zipRight(
            Effect.sync(() => starts.push(`${label}:${target.address.agentName}`)),
            inner.start(target)
          )
      }))
  ).pipe(Layer.provide(AgentHost.inMemory))

const onHost = <A, E, E2>(
  host: Layer.Layer<AgentHost.AgentHost, E, EventBus.EventBus | FileSystem.FileSystem>,
  body: (orchestrator: Orchestrator.Service) => Effect.Effect<A, E2>
) =>
  Effect.gen(function*() {
    const bundle = yield* Bundle.load(bundleDir)
    return yield* Effect.flatMap(Orchestrator.makeOnHost(bundle, "team"), body).pipe(
      Effect.scoped,
      Effect.provide(host.pipe(Layer.provide(EventBus.layer())))
    )
  })

describe("AgentHost.byAgent", () => {
  layer(NodeContext.layer)((it) => {
    it.scoped("the named agent starts on its host, every other agent on otherwise", () =>
      Effect.gen(function*() {
        const starts: Array<string> = []
        const replies = yield* onHost(
          AgentHost.byAgent({
            hosts: { researcher: recording("named", starts) },
            otherwise: recording("rest", starts)
          }),
          (orchestrator) =>
            Effect.all([
              orchestrator.request("researcher@main", "research: effect"),
              orchestrator.request("coordinator@main", "ping")
            ])
        )
        assert.deepStrictEqual(replies.map(text), ["effect is a library", "pong"])
        assert.deepStrictEqual(starts, ["named:researcher", "rest:coordinator"])
      }))

    it.scoped("durable hosts under different state roots are a HostConflict at layer build, naming both roots", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.provide(
          AgentHost.AgentHost,
          AgentHost.byAgent({
            hosts: { coordinator: AgentHost.childProcess({ stateRoot: "/tmp/es-root-a" }) },
            otherwise: AgentHost.childProcess({ stateRoot: "/tmp/es-root-b" })
          })
        ))
        assert.strictEqual(error._tag, "HostConflict")
        assert.deepStrictEqual(error.roots, { otherwise: "/tmp/es-root-b", coordinator: "/tmp/es-root-a" })
        assert.include(error.message, "same stateRoot")
      }))

    it.scoped("a durable host mixes with in-memory ones: the combined root is the durable host's", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const home = yield* fs.makeTempDirectoryScoped({ prefix: "es-by-agent-" })
        const host = yield* Effect.provide(
          AgentHost.AgentHost,
          AgentHost.byAgent({
            hosts: { coordinator: AgentHost.childProcess({ stateRoot: home }) },
            otherwise: AgentHost.inMemory
          }).pipe(Layer.provide(EventBus.layer()))
        )
        assert.strictEqual(host.root, home)
        assert.strictEqual(host.kind, "byAgent(coordinator: childProcess, otherwise: inMemory)")
      }))

    it.scoped("a name that is no Agent of the bundle fails the start with HostUnknownAgent listing the agents", () =>
      Effect.gen(function*() {
        const starts: Array<string> = []
        const error = yield* onHost(
          AgentHost.byAgent({ hosts: { reseacher: recording("named", starts) }, otherwise: recording("rest", starts) }),
          (orchestrator) => Effect.flip(orchestrator.request("researcher@main", "research: effect"))
        )
        assert.strictEqual(error._tag, "AgentTurnFailed")
        assert.strictEqual(error._tag === "AgentTurnFailed" ? error.errorTag : "", "HostUnknownAgent")
        assert.include(error.message, "'reseacher'")
        assert.include(error.message, "coordinator, researcher")
        assert.deepStrictEqual(starts, [], "nothing was started on the wrong host")
      }))
  })
})
