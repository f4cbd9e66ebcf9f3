import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, FastCheck } from "effect"
import { WorkspacePaths } from "effect-swarm"
import * as os from "node:os"
import * as path from "node:path"

describe("WorkspacePaths (reference workspace-paths behaviour)", () => {
  it("'Main Swarm:Prod' -> 'main-swarm-prod' (no '/')", () => {
    assert.strictEqual(WorkspacePaths.workspaceId("Main Swarm:Prod"), "main-swarm-prod")
  })
  it("the id depends on the name only, not on where the project lives", () => {
    const a = WorkspacePaths.instancesDir("/root-a", "Main Swarm:Prod")
    const b = WorkspacePaths.instancesDir("/root-a", "Main Swarm:Prod")
    assert.strictEqual(a, b)
  })
  it("different names give different ids", () => {
    assert.notStrictEqual(WorkspacePaths.workspaceId("alpha"), WorkspacePaths.workspaceId("beta"))
  })
  it("'///@@@:::' -> 'default'", () => {
    assert.strictEqual(WorkspacePaths.workspaceId("///@@@:::"), "default")
  })
  it("long names are capped at 128 characters", () => {
    const id = WorkspacePaths.workspaceId("swarm-" + "a".repeat(300))
    assert.isTrue(id.startsWith("swarm-"))
    assert.isAtMost(id.length, 128)
  })
  it("missing or blank names -> 'default'", () => {
    assert.strictEqual(WorkspacePaths.workspaceId(undefined), "default")
    assert.strictEqual(WorkspacePaths.workspaceId("   "), "default")
  })
  it("dot-only names cannot escape the workspaces directory (unlike the reference)", () => {
    assert.strictEqual(WorkspacePaths.workspaceId(".."), "default")
    assert.strictEqual(WorkspacePaths.workspaceId("."), "default")
    assert.strictEqual(WorkspacePaths.workspaceDir("/r", "../../etc"), "/r/workspaces/..-..-etc")
  })

  it("instance directories: readable when portable, hashed otherwise, never ':' '/' '\\\\'", () => {
    assert.strictEqual(WorkspacePaths.instanceDirName("coder", "default"), "coder@default")
    const odd = WorkspacePaths.instanceDirName("Coder", "thread:42/x\\y")
    assert.match(odd, /^coder~[0-9a-f]{12}@thread-42-x-y~[0-9a-f]{12}$/)
    // case-insensitive file systems: Chat and chat must not share a directory
    assert.notStrictEqual(WorkspacePaths.component("Chat").toLowerCase(), WorkspacePaths.component("chat"))
    assert.notStrictEqual(WorkspacePaths.component("a.b."), "a.b.")
    assert.strictEqual(WorkspacePaths.component("CON").includes("~"), true)
  })

  it.prop("component is portable and injective", [FastCheck.string(), FastCheck.string()], ([a, b]) => {
    const ca = WorkspacePaths.component(a)
    assert.match(ca, /^[a-z0-9._~-]+$/)
    assert.isAtMost(ca.length, 64)
    assert.isFalse(ca.endsWith("."))
    if (a !== b) assert.notStrictEqual(ca, WorkspacePaths.component(b))
  })

  it("the instance layout", () => {
    const p = WorkspacePaths.instance("/srv", { workspaceId: "Main Swarm", agentName: "coder", instanceKey: "t1" })
    const dir = "/srv/workspaces/main-swarm/instances/coder@t1"
    assert.deepStrictEqual({ ...p, extension: undefined }, {
      dir,
      metadata: `${dir}/metadata.json`,
      lock: `${dir}/writer.lock`,
      messagesDir: `${dir}/messages`,
      base: `${dir}/messages/base.jsonl`,
      events: `${dir}/messages/events.jsonl`,
      runtimeEvents: `${dir}/messages/runtime-events.jsonl`,
      extensionsDir: `${dir}/extensions`,
      extension: undefined
    })
    assert.strictEqual(p.extension("context-message"), `${dir}/extensions/context-message.json`)
  })

  it.effect("the root comes from StateRoot (EFFECT_SWARM_HOME) unless given", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* WorkspacePaths.resolveRoot("/explicit"), "/explicit")
      const fromEnv = yield* WorkspacePaths.resolveRoot().pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_SWARM_HOME", "/from/env"]])))
      )
      assert.strictEqual(fromEnv, "/from/env")
      const fallback = yield* WorkspacePaths.resolveRoot().pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.strictEqual(fallback, path.join(os.homedir(), ".effect-swarm"))
    }))
})
