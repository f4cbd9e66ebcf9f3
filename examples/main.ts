/**
 * The main job (`npm start`): runs the example swarm on embedded defaults.
 *
 * Today it builds and prints the tool runtime configuration from the environment (RUNTIME_* variables)
 * with a production overlay; it grows with each capability.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { RuntimeConfig } from "effect-swarm"

const Base = RuntimeConfig.layerConfig()
const Production = RuntimeConfig.override(RuntimeConfig.withEnvironment("production")).pipe(Layer.provide(Base))

const program = Effect.gen(function*() {
  const config = yield* RuntimeConfig.RuntimeConfig
  yield* Console.log("tool runtime configuration (RUNTIME_* environment + production overlay):")
  yield* Console.log(JSON.stringify(config, null, 2))
})

program.pipe(Effect.provide(Production), NodeRuntime.runMain)
