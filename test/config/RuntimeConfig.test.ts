import { assert, describe, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Duration, Effect, Either, Equal, Exit, Hash, Layer } from "effect"
import { RuntimeConfig } from "effect-swarm"

const R = RuntimeConfig

const build = (type: string, ...options: ReadonlyArray<RuntimeConfig.Option>) => {
  const result = R.make(type, ...options)
  if (Either.isLeft(result)) throw new Error(`expected a config, got: ${result.left.message}`)
  return result.right
}

const issuesOf = (result: Either.Either<RuntimeConfig.Config, unknown>) => {
  if (Either.isRight(result)) throw new Error("expected a BuildError")
  const error = result.left as { errors: ReadonlyArray<{ path: ReadonlyArray<string | number>; message: string }> }
  return error.errors.map((e) => ({ path: e.path.join("."), message: e.message }))
}

const messageOf = (result: Either.Either<RuntimeConfig.Config, { message: string }>) => {
  if (Either.isRight(result)) throw new Error("expected a BuildError")
  return result.left.message
}

describe("RuntimeConfig.make", () => {
  it("make(\"bun\") is the minimal config with every default", () => {
    const c = build("bun")
    assert.strictEqual(c.runtimeType, "bun")
    assert.strictEqual(c.entrypointPath, "")
    assert.strictEqual(c.environment, "development")
    assert.deepStrictEqual(c.permissions, ["--allow-all"])
    assert.deepStrictEqual(c.bunPermissions, [])
    assert.deepStrictEqual(c.nodeOptions, [])
    assert.strictEqual(c.permissionPolicy, "enforce")
    assert.strictEqual(c.maxMemoryMB, 2048)
    assert.isTrue(Duration.equals(c.toolExecutionTimeout, Duration.seconds(60)))
    assert.strictEqual(c.maxStderrCaptureSize, 1024 * 1024)
    assert.isTrue(Duration.equals(c.backoffInitialInterval, Duration.millis(100)))
    assert.isTrue(Duration.equals(c.backoffMaxInterval, Duration.seconds(5)))
    assert.isTrue(Duration.equals(c.backoffMaxElapsedTime, Duration.seconds(30)))
    assert.deepStrictEqual({ ...c.nativeTools }, { callAgents: false, callWorkflows: false })
    assert.strictEqual(c.workerFilePerm, 0o600)
  })

  it("accepts node and deno; the type is trimmed and case-insensitive", () => {
    assert.strictEqual(build("node").runtimeType, "node")
    assert.strictEqual(build("deno").runtimeType, "deno")
    assert.strictEqual(build("BUN").runtimeType, "bun")
    assert.strictEqual(build("  node  ").runtimeType, "node")
    assert.strictEqual(build("bun", R.withRuntimeType("  DENO ")).runtimeType, "deno")
  })

  it("is usable as an Effect (yield*)", () =>
    Effect.gen(function*() {
      const c = yield* R.make("node", R.withMaxMemoryMB(256))
      assert.strictEqual(c.maxMemoryMB, 256)
      const exit = yield* Effect.exit(R.make("python"))
      assert.isTrue(Exit.isFailure(exit))
    }).pipe(Effect.runSync))

  it("applies every option", () => {
    const c = build(
      "bun",
      R.withEntrypointPath("  ./tools/main.ts  "),
      R.withEnvironment("production"),
      R.withPermissions(["--allow-read=/data", "--allow-net=api.example.com"]),
      R.withBunPermissions(["--allow-read", "--allow-net"]),
      R.withPermissionPolicy("warn"),
      R.withMaxMemoryMB(512),
      R.withToolExecutionTimeout("30 seconds"),
      R.withMaxStderrCaptureSize(2048),
      R.withBackoffInitialInterval(50),
      R.withBackoffMaxInterval(Duration.seconds(2)),
      R.withBackoffMaxElapsedTime("10 seconds"),
      R.withNativeTools({ callAgents: true, callWorkflows: true }),
      R.withWorkerFilePerm(0o400)
    )
    assert.strictEqual(c.entrypointPath, "./tools/main.ts")
    assert.strictEqual(c.environment, "production")
    assert.deepStrictEqual(c.permissions, ["--allow-read=/data", "--allow-net=api.example.com"])
    assert.deepStrictEqual(c.bunPermissions, ["--allow-read", "--allow-net"])
    assert.strictEqual(c.permissionPolicy, "warn")
    assert.strictEqual(c.maxMemoryMB, 512)
    assert.isTrue(Duration.equals(c.toolExecutionTimeout, Duration.seconds(30)))
    assert.strictEqual(c.maxStderrCaptureSize, 2048)
    assert.isTrue(Duration.equals(c.backoffInitialInterval, Duration.millis(50)))
    assert.isTrue(Duration.equals(c.backoffMaxInterval, Duration.seconds(2)))
    assert.isTrue(Duration.equals(c.backoffMaxElapsedTime, Duration.seconds(10)))
    assert.deepStrictEqual({ ...c.nativeTools }, { callAgents: true, callWorkflows: true })
    assert.strictEqual(c.workerFilePerm, 0o400)
    assert.deepStrictEqual(R.effectivePermissions(c), ["--allow-read", "--allow-net"])
  })

  it("node options work with node (the seed's example flags)", () => {
    const c = build(
      "node",
      R.withEntrypointPath("./main.js"),
      R.withNodeOptions(["--max-old-space-size=4096", "--enable-source-maps"])
    )
    assert.deepStrictEqual(c.nodeOptions, ["--max-old-space-size=4096", "--enable-source-maps"])
    assert.deepStrictEqual(R.effectivePermissions(c), ["--allow-all"])
  })

  it("the last option for a field wins", () => {
    const c = build("bun", R.withMaxMemoryMB(1), R.withMaxMemoryMB(2))
    assert.strictEqual(c.maxMemoryMB, 2)
  })

  it("permissions are normalised and de-duplicated", () => {
    const c = build(
      "deno",
      R.withPermissions([" --allow-read ", "--ALLOW-NET", "--allow-read", "--Allow-Env= A , B,A"])
    )
    assert.deepStrictEqual(c.permissions, ["--allow-read", "--allow-net", "--allow-env=A,B"])
    const b = build("bun", R.withBunPermissions(["--allow-env=API_KEY,API_SECRET", "--allow-env=API_KEY,API_SECRET"]))
    assert.deepStrictEqual(b.bunPermissions, ["--allow-env=API_KEY,API_SECRET"])
  })

  it("an empty permission list is kept empty (grants nothing)", () => {
    assert.deepStrictEqual(build("deno", R.withPermissions([])).permissions, [])
  })
})

describe("RuntimeConfig immutability and equality", () => {
  it("deep-copies what the caller passed", () => {
    const perms = ["--allow-read"]
    const nodeOpts = ["--enable-source-maps"]
    const native = { callAgents: true, callWorkflows: false }
    const option = R.withPermissions(perms)
    const a = build("node", option, R.withNodeOptions(nodeOpts), R.withNativeTools(native))
    perms[0] = "--allow-all"
    perms.push("--allow-net")
    nodeOpts[0] = "--require=evil.js"
    native.callAgents = false
    const b = build("node", option)
    assert.deepStrictEqual(a.permissions, ["--allow-read"])
    assert.deepStrictEqual(b.permissions, ["--allow-read"])
    assert.deepStrictEqual(a.nodeOptions, ["--enable-source-maps"])
    assert.isTrue(a.nativeTools.callAgents)
  })

  it("is frozen, lists included", () => {
    const c = build("deno", R.withPermissions(["--allow-read"]))
    assert.isTrue(Object.isFrozen(c))
    assert.isTrue(Object.isFrozen(c.permissions))
    assert.isTrue(Object.isFrozen(c.nativeTools))
    assert.throws(() => {
      ;(c.permissions as Array<string>).push("--allow-all")
    })
    assert.throws(() => {
      ;(c as { maxMemoryMB: number }).maxMemoryMB = 1
    })
  })

  it("two configs with equal fields are Equal and hash alike", () => {
    const a = build("BUN", R.withPermissions(["--allow-read"]), R.withToolExecutionTimeout("5 seconds"))
    const b = build("bun", R.withPermissions([" --allow-read"]), R.withToolExecutionTimeout(5000))
    assert.isTrue(Equal.equals(a, b))
    assert.strictEqual(Hash.hash(a), Hash.hash(b))
    assert.isFalse(Equal.equals(a, build("bun", R.withPermissions(["--allow-read"]))))
    assert.isFalse(Equal.equals(a, build("node", R.withPermissions(["--allow-read"]))))
  })

  it("encodes to JSON and decodes back to an equal config", () => {
    const a = build("deno", R.withPermissions(["--allow-net=a.com"]), R.withWorkerFilePerm(0o640))
    const json = JSON.parse(JSON.stringify(a))
    assert.strictEqual(json.toolExecutionTimeout, 60000)
    const b = R.decodeEither(json)
    assert.isTrue(Either.isRight(b) && Equal.equals(a, b.right))
  })
})

describe("RuntimeConfig validation", () => {
  const rejects = (
    name: string,
    result: () => Either.Either<RuntimeConfig.Config, RuntimeConfig.Config | any>,
    path: string,
    message: string | RegExp
  ) =>
    it(name, () => {
      const issues = issuesOf(result())
      assert.strictEqual(issues.length, 1, JSON.stringify(issues))
      assert.strictEqual(issues[0]!.path, path)
      if (typeof message === "string") assert.strictEqual(issues[0]!.message, message)
      else assert.match(issues[0]!.message, message)
    })

  it("runtime type: empty and unknown, with the seed's messages", () => {
    assert.strictEqual(messageOf(R.make("")), "build failed: runtime type cannot be empty")
    assert.strictEqual(messageOf(R.make("   ")), "build failed: runtime type cannot be empty")
    assert.strictEqual(
      messageOf(R.make("python")),
      "build failed: runtime type \"python\" is not supported; must be one of [bun node deno]"
    )
    assert.strictEqual(issuesOf(R.make("Python"))[0]!.path, "runtimeType")
  })

  rejects(
    "permissions: a non-flag string names the entry",
    () => R.make("deno", R.withPermissions(["--allow-read", "invalid"])),
    "permissions.1",
    /permissions entry "invalid" is not a valid permission/
  )
  rejects(
    "permissions: argv injection is rejected",
    () => R.make("deno", R.withPermissions(["--preload=./x.ts"])),
    "permissions.0",
    /"--preload=.\/x.ts" is not a valid permission/
  )
  rejects(
    "permissions: an empty scope is rejected",
    () => R.make("deno", R.withPermissions(["--allow-net="])),
    "permissions.0",
    /"--allow-net="/
  )
  rejects(
    "permissions: an empty item in the scope list is rejected",
    () => R.make("deno", R.withPermissions(["--allow-net=a.com,,b.com"])),
    "permissions.0",
    /"--allow-net=a.com,,b.com"/
  )
  rejects(
    "permissions: --allow-all takes no scope",
    () => R.make("deno", R.withPermissions(["--allow-all=x"])),
    "permissions.0",
    /"--allow-all=x"/
  )
  rejects(
    "bunPermissions: validated like permissions",
    () => R.make("bun", R.withBunPermissions(["--allow-run", " "])),
    "bunPermissions.1",
    /bunPermissions entry " " is not a valid permission/
  )
  rejects(
    "bunPermissions only with bun",
    () => R.make("node", R.withBunPermissions(["--allow-read"])),
    "bunPermissions",
    "bun permissions can only be used with the bun runtime, got \"node\"; use permissions, which every runtime understands"
  )
  rejects(
    "nodeOptions only with node",
    () => R.make("deno", R.withNodeOptions(["--enable-source-maps"])),
    "nodeOptions",
    "node options can only be used with the node runtime, got \"deno\""
  )

  for (
    const option of [
      "--require=x.js",
      "-r",
      "--import=x.mjs",
      "--loader=x",
      "--experimental-loader=x",
      "--allow-fs-read=*",
      "--permission",
      "--experimental-permission"
    ]
  ) {
    rejects(
      `nodeOptions: ${option} would defeat the sandbox`,
      () => R.make("node", R.withNodeOptions([option])),
      "nodeOptions.0",
      /is not allowed: it would load code or change permissions outside the sandbox/
    )
  }
  rejects(
    "nodeOptions: a non-flag is rejected",
    () => R.make("node", R.withNodeOptions(["main.js"])),
    "nodeOptions.0",
    "node option \"main.js\" is not a flag; node options start with \"-\""
  )

  for (
    const [name, option, path] of [
      ["max memory 0", R.withMaxMemoryMB(0), "maxMemoryMB"],
      ["max memory negative", R.withMaxMemoryMB(-32), "maxMemoryMB"],
      ["max memory fractional", R.withMaxMemoryMB(1.5), "maxMemoryMB"],
      ["stderr cap 0", R.withMaxStderrCaptureSize(0), "maxStderrCaptureSize"],
      ["timeout 0", R.withToolExecutionTimeout(0), "toolExecutionTimeout"],
      ["timeout negative", R.withToolExecutionTimeout(-5), "toolExecutionTimeout"],
      ["timeout infinite", R.withToolExecutionTimeout(Duration.infinity), "toolExecutionTimeout"],
      ["timeout garbage", R.withToolExecutionTimeout("soon" as Duration.DurationInput), "toolExecutionTimeout"],
      ["backoff initial 0", R.withBackoffInitialInterval(0), "backoffInitialInterval"],
      ["backoff max 0", R.withBackoffMaxInterval("0 millis"), "backoffMaxInterval"],
      ["backoff elapsed 0", R.withBackoffMaxElapsedTime(Duration.zero), "backoffMaxElapsedTime"]
    ] as const
  ) {
    rejects(`${name} is rejected`, () => R.make("bun", option), path, /must be a positive|not a valid duration/)
  }

  rejects(
    "backoff max interval below the initial interval",
    () => R.make("bun", R.withBackoffInitialInterval("2 seconds"), R.withBackoffMaxInterval("1 second")),
    "backoffMaxInterval",
    "backoff max interval (1s) must be at least the backoff initial interval (2s)"
  )
  it("backoff max interval equal to the initial interval is fine", () => {
    build("bun", R.withBackoffInitialInterval("1 second"), R.withBackoffMaxInterval(1000))
  })

  rejects(
    "worker file perm above 0o777",
    () => R.make("bun", R.withWorkerFilePerm(0o1777)),
    "workerFilePerm",
    /out of range/
  )
  rejects(
    "worker file perm world-writable",
    () => R.make("bun", R.withWorkerFilePerm(0o666)),
    "workerFilePerm",
    "worker file permission 0o666 must not be group- or world-writable; use 0o600"
  )
  rejects(
    "worker file perm group-writable",
    () => R.make("bun", R.withWorkerFilePerm(0o620)),
    "workerFilePerm",
    /group/
  )
  rejects("worker file perm unreadable", () => R.make("bun", R.withWorkerFilePerm(0o200)), "workerFilePerm", /read/)

  for (const env of ["", "Production", "prod env", "1st"]) {
    rejects(
      `environment ${JSON.stringify(env)}`,
      () => R.make("bun", R.withEnvironment(env)),
      "environment",
      /lowercase word/
    )
  }
  it("environment accepts lowercase words", () => {
    for (const env of ["development", "staging", "production", "test", "qa-2"]) {
      assert.strictEqual(build("bun", R.withEnvironment(env)).environment, env)
    }
  })

  rejects(
    "entrypoint with an unsupported extension",
    () => R.make("bun", R.withEntrypointPath("./tools/main.py")),
    "entrypointPath",
    "entrypoint path \"./tools/main.py\" must end in .ts, .mts, .js or .mjs"
  )
  it("entrypoint: empty allowed, trimmed, every supported extension", () => {
    assert.strictEqual(build("bun", R.withEntrypointPath("   ")).entrypointPath, "")
    for (const ext of ["ts", "mts", "js", "mjs"]) {
      assert.strictEqual(build("bun", R.withEntrypointPath(` ./t.${ext} `)).entrypointPath, `./t.${ext}`)
    }
  })

  rejects(
    "permission policy outside enforce|warn",
    () => R.make("bun", R.withPermissionPolicy("ignore" as RuntimeConfig.PermissionPolicy)),
    "permissionPolicy",
    "permission policy \"ignore\" is not supported; must be one of [enforce warn]"
  )

  rejects(
    "isolation outside os|runtime|auto",
    () => R.make("bun", R.withIsolation("container" as RuntimeConfig.Isolation)),
    "isolation",
    "isolation \"container\" is not supported; must be one of [os runtime auto]"
  )

  it("withMaxOutputCaptureSize is withMaxStderrCaptureSize under an accurate name", () => {
    assert.isTrue(Equal.equals(
      build("node", R.withMaxOutputCaptureSize(4096)),
      build("node", R.withMaxStderrCaptureSize(4096))
    ))
  })

  it("isolation: auto by default, set by withIsolation, decoded and round-tripped", () => {
    assert.strictEqual(build("bun").isolation, "auto")
    assert.strictEqual(build("node", R.withIsolation("os")).isolation, "os")
    const decoded = R.decodeEither({ runtimeType: "deno", isolation: "runtime" })
    assert.isTrue(Either.isRight(decoded) && decoded.right.isolation === "runtime")
    const config = build("deno", R.withIsolation("runtime"))
    const again = R.decodeEither(R.encode(config))
    assert.isTrue(Either.isRight(again) && Equal.equals(again.right, config))
    assert.isFalse(Equal.equals(config, build("deno")))
    const bad = R.decodeEither({ runtimeType: "deno", isolation: "vm" })
    assert.deepStrictEqual(issuesOf(bad), [{
      path: "isolation",
      message: "isolation \"vm\" is not supported; must be one of [os runtime auto]"
    }])
  })

  it("prespawn: 1 by default, set by withPrespawn, decoded, round-tripped and validated on both paths", () => {
    assert.strictEqual(build("bun").prespawn, 1)
    assert.strictEqual(build("node", R.withPrespawn(0)).prespawn, 0)
    assert.strictEqual(build("node", R.withPrespawn(16)).prespawn, 16)
    const config = build("deno", R.withPrespawn(3))
    const again = R.decodeEither(R.encode(config))
    assert.isTrue(Either.isRight(again) && Equal.equals(again.right, config))
    assert.isFalse(Equal.equals(config, build("deno")))
    for (const bad of [-1, 1.5, 17, Number.NaN]) {
      const message = `prespawn must be an integer from 0 to 16 (pre-started workers kept waiting per config; ` +
        `0 turns them off), got ${bad}`
      assert.deepStrictEqual(issuesOf(R.make("bun", R.withPrespawn(bad))), [{ path: "prespawn", message }])
      assert.deepStrictEqual(issuesOf(R.decodeEither({ runtimeType: "bun", prespawn: bad })), [{
        path: "prespawn",
        message
      }])
    }
  })

  it("collects every problem at once, in field order, with the seed's numbered format", () => {
    const result = R.make(
      "node",
      R.withWorkerFilePerm(0o666),
      R.withMaxMemoryMB(0),
      R.withPermissions(["--allow-read", "nope"]),
      R.withBunPermissions(["--allow-read"]),
      R.withEntrypointPath("main.rb"),
      R.withBackoffInitialInterval("10 seconds")
    )
    const issues = issuesOf(result)
    assert.deepStrictEqual(issues.map((i) => i.path), [
      "entrypointPath",
      "permissions.1",
      "bunPermissions",
      "maxMemoryMB",
      "backoffMaxInterval",
      "workerFilePerm"
    ])
    const message = messageOf(result)
    assert.isTrue(message.startsWith("build failed with 6 errors:\n  1. entrypoint path \"main.rb\""), message)
    assert.include(message, "\n  6. worker file permission 0o666")
  })

  it("an unknown runtime type does not hide the other issues", () => {
    const issues = issuesOf(R.make("python", R.withMaxMemoryMB(-1), R.withBunPermissions(["--allow-read"])))
    assert.deepStrictEqual(issues.map((i) => i.path), ["runtimeType", "maxMemoryMB"])
  })
})

describe("RuntimeConfig.decode agrees with make", () => {
  const inputs: ReadonlyArray<unknown> = [
    { runtimeType: "bun" },
    { runtimeType: " NODE ", nodeOptions: ["--enable-source-maps", " --enable-source-maps"] },
    { runtimeType: "deno", permissions: ["--ALLOW-READ=/a, /b", "--allow-read=/a,/b", "--allow-net"] },
    { runtimeType: "deno", permissions: [] },
    {
      runtimeType: "bun",
      entrypointPath: " ./x.ts ",
      environment: "staging",
      bunPermissions: ["--allow-env=A"],
      permissionPolicy: "warn",
      maxMemoryMB: 64,
      toolExecutionTimeout: "2 seconds",
      maxStderrCaptureSize: 10,
      backoffInitialInterval: 10,
      backoffMaxInterval: "20 millis",
      backoffMaxElapsedTime: 1000,
      nativeTools: { callAgents: true },
      workerFilePerm: 0o400
    },
    { runtimeType: "" },
    { runtimeType: "python", maxMemoryMB: 0 },
    { runtimeType: "node", bunPermissions: ["--allow-read", "bad"], nodeOptions: ["--require=x"] },
    { runtimeType: "bun", backoffInitialInterval: "3 seconds", backoffMaxInterval: 1000, workerFilePerm: 0o777 },
    { runtimeType: "bun", toolExecutionTimeout: -1, maxStderrCaptureSize: 0.5, environment: "Prod" },
    { runtimeType: "bun", entrypointPath: "a.py", permissionPolicy: "x", permissions: ["--allow-all=1"] },
    { runtimeType: "deno", nodeOptions: ["-r"], backoffMaxElapsedTime: "never" }
  ]

  it("on valid and invalid input: the same config or the same issues", () => {
    for (const input of inputs) {
      const viaSchema = R.decodeEither(input)
      const viaFast = R.fromInput(input as RuntimeConfig.Input)
      if (Either.isRight(viaFast)) {
        assert.isTrue(Either.isRight(viaSchema), `schema rejected ${JSON.stringify(input)}`)
        assert.isTrue(Equal.equals(viaFast.right, (viaSchema as Either.Right<never, RuntimeConfig.Config>).right))
      } else {
        assert.deepStrictEqual(issuesOf(viaSchema), issuesOf(viaFast), JSON.stringify(input))
      }
    }
  })

  it("the schema path also rejects wrong shapes and unknown fields", () => {
    const issues = issuesOf(R.decodeEither({ runtimeType: "bun", maxMemoryMB: "lots", memory: 1 }))
    assert.deepStrictEqual(issues.map((i) => i.path).sort(), ["maxMemoryMB", "memory"])
    assert.isTrue(Either.isLeft(R.decodeEither("bun")))
  })
})

describe("RuntimeConfig layers", () => {
  const fromMap = (entries: Record<string, string>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

  it.effect("layer provides the validated config", () =>
    Effect.gen(function*() {
      const c = yield* R.RuntimeConfig
      assert.strictEqual(c.runtimeType, "node")
    }).pipe(Effect.provide(R.layer("node"))))

  it.effect("layer fails with the BuildError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(R.RuntimeConfig, R.layer("python")))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Effect.provide(R.RuntimeConfig, R.layer("python")))
      assert.strictEqual(error._tag, "BuildError")
    }))

  it.effect("layerConfig reads every field from the environment", () =>
    Effect.gen(function*() {
      const c = yield* R.RuntimeConfig
      assert.strictEqual(c.runtimeType, "bun")
      assert.strictEqual(c.entrypointPath, "./tools/main.ts")
      assert.strictEqual(c.environment, "staging")
      assert.deepStrictEqual(c.permissions, ["--allow-read=/data", "--allow-env=API_KEY,API_SECRET"])
      assert.deepStrictEqual(c.bunPermissions, ["--allow-net=api.example.com", "--allow-read"])
      assert.strictEqual(c.permissionPolicy, "warn")
      assert.strictEqual(c.isolation, "runtime")
      assert.strictEqual(c.maxMemoryMB, 512)
      assert.isTrue(Duration.equals(c.toolExecutionTimeout, Duration.seconds(30)))
      assert.strictEqual(c.maxStderrCaptureSize, 4096)
      assert.isTrue(Duration.equals(c.backoffInitialInterval, Duration.millis(200)))
      assert.isTrue(Duration.equals(c.backoffMaxInterval, Duration.seconds(2)))
      assert.isTrue(Duration.equals(c.backoffMaxElapsedTime, Duration.minutes(1)))
      assert.strictEqual(c.workerFilePerm, 0o640)
      assert.strictEqual(c.prespawn, 2)
      assert.deepStrictEqual({ ...c.nativeTools }, { callAgents: true, callWorkflows: false })
    }).pipe(
      Effect.provide(
        R.layerConfig().pipe(Layer.provide(fromMap({
          RUNTIME_TYPE: " Bun ",
          RUNTIME_ENTRYPOINT_PATH: "./tools/main.ts",
          RUNTIME_ENVIRONMENT: "staging",
          RUNTIME_PERMISSIONS: "--allow-read=/data, --allow-env=API_KEY,API_SECRET",
          RUNTIME_BUN_PERMISSIONS: "--allow-net=api.example.com,--allow-read",
          RUNTIME_PERMISSION_POLICY: "warn",
          RUNTIME_ISOLATION: "runtime",
          RUNTIME_MAX_MEMORY_MB: "512",
          RUNTIME_TOOL_EXECUTION_TIMEOUT: "30 seconds",
          RUNTIME_MAX_STDERR_CAPTURE_SIZE: "4096",
          RUNTIME_BACKOFF_INITIAL_INTERVAL: "200",
          RUNTIME_BACKOFF_MAX_INTERVAL: "2 seconds",
          RUNTIME_BACKOFF_MAX_ELAPSED_TIME: "1 minute",
          RUNTIME_WORKER_FILE_PERM: "0640",
          RUNTIME_PRESPAWN: "2",
          RUNTIME_NATIVE_TOOLS_CALL_AGENTS: "true"
        })))
      )
    ))

  it.effect("layerConfig defaults everything when the environment is empty", () =>
    Effect.gen(function*() {
      const c = yield* R.RuntimeConfig
      assert.isTrue(Equal.equals(c, build("bun")))
    }).pipe(Effect.provide(R.layerConfig().pipe(Layer.provide(fromMap({}))))))

  it.effect("layerConfig: node options from a space-separated variable", () =>
    Effect.gen(function*() {
      const c = yield* R.RuntimeConfig
      assert.deepStrictEqual(c.nodeOptions, ["--enable-source-maps", "--max-old-space-size=256"])
    }).pipe(
      Effect.provide(
        R.layerConfig().pipe(Layer.provide(fromMap({
          RUNTIME_TYPE: "node",
          RUNTIME_NODE_OPTIONS: "--enable-source-maps --max-old-space-size=256"
        })))
      )
    ))

  it.effect("layerConfig: malformed variables and invalid values fail with typed errors", () =>
    Effect.gen(function*() {
      const configError = yield* Effect.flip(
        Effect.provide(R.RuntimeConfig, R.layerConfig().pipe(Layer.provide(fromMap({ RUNTIME_MAX_MEMORY_MB: "lots" }))))
      )
      assert.isTrue(ConfigError.isConfigError(configError))
      assert.include(String(configError), "RUNTIME_MAX_MEMORY_MB")
      const buildError = yield* Effect.flip(
        Effect.provide(
          R.RuntimeConfig,
          R.layerConfig().pipe(Layer.provide(fromMap({ RUNTIME_TYPE: "python", RUNTIME_MAX_MEMORY_MB: "0" })))
        )
      )
      assert.strictEqual(buildError._tag, "BuildError")
      assert.include(buildError.message, "build failed with 2 errors")
      const permError = yield* Effect.flip(
        Effect.provide(
          R.RuntimeConfig,
          R.layerConfig().pipe(Layer.provide(fromMap({ RUNTIME_WORKER_FILE_PERM: "rw-------" })))
        )
      )
      assert.isTrue(ConfigError.isConfigError(permError))
      assert.include(String(permError), "expected an octal file mode")
    }))

  it.effect("override stacks environment overlays on a base layer and re-validates", () =>
    Effect.gen(function*() {
      const base = R.layer("bun", R.withEntrypointPath("./tools/main.ts"), R.withMaxMemoryMB(1024))
      const production = R.override(R.withEnvironment("production"), R.withMaxMemoryMB(512)).pipe(
        Layer.provide(base)
      )
      const hardened = R.override(R.withToolExecutionTimeout("5 seconds")).pipe(Layer.provide(production))
      const c = yield* Effect.provide(R.RuntimeConfig, hardened)
      assert.strictEqual(c.entrypointPath, "./tools/main.ts")
      assert.strictEqual(c.environment, "production")
      assert.strictEqual(c.maxMemoryMB, 512)
      assert.isTrue(Duration.equals(c.toolExecutionTimeout, Duration.seconds(5)))

      const switched = R.override(R.withRuntimeType("node")).pipe(
        Layer.provide(R.layer("bun", R.withBunPermissions(["--allow-read"])))
      )
      const error = yield* Effect.flip(Effect.provide(R.RuntimeConfig, switched))
      assert.strictEqual(error._tag, "BuildError")
      assert.include(error.message, "bun permissions can only be used with the bun runtime, got \"node\"")
    }))
})
