// docs/runtime-config.md: build a config, overlay an environment, read one from RUNTIME_* variables, and see
// every problem of a bad one reported at once.
import { ConfigProvider, Console, Duration, Effect, Either, Layer } from "effect"
import { RuntimeConfig } from "effect-swarm"

const Base = RuntimeConfig.layer(
  "deno",
  RuntimeConfig.withEntrypointPath("./tools/main.ts"),
  RuntimeConfig.withPermissions(["--allow-read=./data", "--ALLOW-NET= api.example.com"]),
  RuntimeConfig.withMaxMemoryMB(512),
  RuntimeConfig.withToolExecutionTimeout("30 seconds")
)
// An environment overlay is Layer composition, validated again.
const Production = RuntimeConfig.override(RuntimeConfig.withEnvironment("production")).pipe(Layer.provide(Base))
// The same from RUNTIME_* variables (here from a map instead of the process environment).
const FromEnv = RuntimeConfig.layerConfig().pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
    new Map([["RUNTIME_TYPE", "node"], ["RUNTIME_TOOL_EXECUTION_TIMEOUT", "10 seconds"]])
  )))
)

const describe = Effect.gen(function*() {
  const config = yield* RuntimeConfig.RuntimeConfig
  const timeout = Duration.format(config.toolExecutionTimeout)
  yield* Console.log(`${config.runtimeType} ${config.environment}: ${config.permissions.join(" ")}, ${timeout}`)
})

const program = Effect.gen(function*() {
  yield* describe.pipe(Effect.provide(Production))
  yield* describe.pipe(Effect.provide(FromEnv))
  // Every problem at once, each with its field.
  const bad = RuntimeConfig.make("python", RuntimeConfig.withMaxMemoryMB(-1), RuntimeConfig.withPermissions(["--sudo"]))
  if (Either.isLeft(bad)) yield* Console.log(bad.left.message)
})

program.pipe(Effect.runPromise)
