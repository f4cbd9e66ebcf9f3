import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { StateRoot } from "effect-swarm"
import * as os from "node:os"
import * as path from "node:path"

const withEnv = (entries: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

describe("StateRoot", () => {
  it.effect("defaults to ~/.effect-swarm", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* StateRoot.resolve, path.join(os.homedir(), ".effect-swarm"))
    }).pipe(withEnv({})))

  it.effect("EFFECT_SWARM_HOME wins; relative paths resolve, ~ expands, blank means default", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* StateRoot.resolve.pipe(withEnv({ EFFECT_SWARM_HOME: "/srv/swarm" })), "/srv/swarm")
      assert.strictEqual(
        yield* StateRoot.resolve.pipe(withEnv({ EFFECT_SWARM_HOME: "state" })),
        path.resolve("state")
      )
      assert.strictEqual(
        yield* StateRoot.resolve.pipe(withEnv({ EFFECT_SWARM_HOME: "~/swarm" })),
        path.join(os.homedir(), "swarm")
      )
      assert.strictEqual(
        yield* StateRoot.resolve.pipe(withEnv({ EFFECT_SWARM_HOME: "  " })),
        path.join(os.homedir(), ".effect-swarm")
      )
    }))
})
