/**
 * The permission matrix (issue 6): for every permission kind on every runtime, the forbidden action
 * either fails inside the tool with the runtime's permission error, or `execute` refuses up front with
 * `PermissionUnenforceable`, and which one happens is exactly what `capabilities(runtimeType)` says.
 * When a kind is enforced, the same config still lets the granted action through. When it is not,
 * `permissionPolicy: "warn"` runs the tool (unrestricted, as the warning says) and logs the warning.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as RuntimeConfig from "effect-swarm/config/RuntimeConfig"
import * as ToolRuntime from "effect-swarm/sandbox/ToolRuntime"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  allBut,
  awaitNoChildren,
  everything,
  execute,
  hostEnv,
  hostileRuntime,
  osIsolated,
  runtimes,
  tcpServer,
  tempDir
} from "./helpers.js"
import type { Runtime } from "./helpers.js"

const runtimeLayer = hostileRuntime

const capabilitiesOf = (runtime: Runtime) =>
  Effect.map(ToolRuntime.ToolRuntime, (service) => service.capabilities(runtime))

/** Runs `self` with a logger that records warnings, returning both. */
const withWarnings = <A, E, R>(self: Effect.Effect<A, E, R>) => {
  const warnings: Array<string> = []
  const capture = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return self.pipe(
    Effect.either,
    Effect.map((outcome) => ({ outcome, warnings })),
    Effect.provide(Logger.replace(Logger.defaultLogger, capture))
  )
}

const isPermissionError = (error: unknown): boolean =>
  error instanceof ToolRuntime.ToolThrew &&
  (error.code === "ERR_ACCESS_DENIED" || error.name === "NotCapable" || error.name === "PermissionDenied" ||
    // Under the OS sandbox: a path outside the grants is not mounted or read-only, and without a network
    // grant the worker's network namespace has only its own loopback (nothing listens there).
    (osIsolated && (["ENOENT", "EROFS", "EACCES", "ECONNREFUSED", "ENETUNREACH"].includes(error.code ?? "") ||
      ["NotFound", "ReadOnly", "ConnectionRefused"].includes(error.name) ||
      /read-only file system|no such file|connection refused|network is unreachable/i.test(error.message))))

type Kind = "read" | "write" | "net" | "run" | "env"

interface Case {
  /** Permissions under which the forbidden action must be denied or refused. */
  readonly restricted: ReadonlyArray<string>
  readonly forbidden: ToolRuntime.ExecuteRequest
  /** A granted action under `granted` (defaults to `restricted`) and its expected result. */
  readonly granted?: ReadonlyArray<string>
  readonly allowed: ToolRuntime.ExecuteRequest
  readonly expected: unknown
  /** The forbidden action may also "fail" by not seeing anything (env: the variable is absent). */
  readonly invisibleIsDenied?: boolean
}

/** Builds the case for one kind; needs a scope for temp dirs, servers and host variables. */
const caseFor = (runtime: Runtime, kind: Kind) =>
  Effect.gen(function*() {
    switch (kind) {
      case "read": {
        const allowed = yield* tempDir("es-perm-allowed-")
        const secret = path.join(yield* tempDir("es-perm-secret-"), "shadow")
        fs.writeFileSync(secret, "root:$6$not-a-real-hash:19000:0:99999:7:::\n")
        fs.writeFileSync(path.join(allowed, "ok.txt"), "readable")
        return {
          restricted: allBut(runtime, "read", `--allow-read=${allowed}`),
          forbidden: { toolId: "readFile", input: { path: secret } },
          allowed: { toolId: "readFile", input: { path: path.join(allowed, "ok.txt") } },
          expected: "readable"
        } satisfies Case
      }
      case "write": {
        const allowed = yield* tempDir("es-perm-allowed-")
        const outside = yield* tempDir("es-perm-outside-")
        return {
          restricted: allBut(runtime, "write", `--allow-write=${allowed}`),
          forbidden: { toolId: "writeFile", input: { path: path.join(outside, "pwned.txt") } },
          allowed: { toolId: "writeFile", input: { path: path.join(allowed, "ok.txt"), content: "ok" } },
          expected: true
        } satisfies Case
      }
      case "net": {
        const server = yield* tcpServer
        return {
          restricted: allBut(runtime, "net"),
          forbidden: { toolId: "connect", input: { port: server.port } },
          granted: allBut(runtime, "net", "--allow-net"),
          allowed: { toolId: "connect", input: { port: server.port } },
          expected: "connected"
        } satisfies Case
      }
      case "run":
        return {
          restricted: allBut(runtime, "run"),
          forbidden: { toolId: "spawnChild", input: null },
          granted: everything,
          allowed: { toolId: "spawnChild", input: null },
          expected: "spawned"
        } satisfies Case
      case "env": {
        yield* hostEnv("ES_PERM_SECRET", "secret-value")
        yield* hostEnv("ES_PERM_GRANTED", "granted-value")
        return {
          restricted: allBut(runtime, "env", "--allow-env=ES_PERM_GRANTED"),
          forbidden: { toolId: "readEnv", input: { name: "ES_PERM_SECRET" } },
          allowed: { toolId: "readEnv", input: { name: "ES_PERM_GRANTED" } },
          expected: "granted-value",
          invisibleIsDenied: true
        } satisfies Case
      }
    }
  })

const kinds: ReadonlyArray<Kind> = ["read", "write", "net", "run", "env"]

describe.each(runtimes)("permission matrix on %s", (runtime) => {
  layer(runtimeLayer(runtime), { excludeTestServices: true })((it) => {
    it.effect("capabilities report every kind with a reason", () =>
      Effect.gen(function*() {
        const caps = yield* capabilitiesOf(runtime)
        assert.strictEqual(caps.runtimeType, runtime)
        for (const kind of [...kinds, "memory", "rss", "timeout"] as const) {
          assert.include(["enforced", "unenforceable"], caps[kind].status, kind)
          assert.isAbove(caps[kind].reason.length, 0, kind)
        }
      }))

    // What was measured on this machine (shared/reference/peers-and-limits.md): capabilities must not
    // claim more, or less, than the runtimes really do.
    it.effect("capabilities match what the runtime is known to enforce", () =>
      Effect.gen(function*() {
        const caps = yield* capabilitiesOf(runtime)
        const status = (kind: Kind | "memory" | "rss" | "timeout") => caps[kind].status
        const nodeMajor = Number(caps.version.split(".")[0])
        assert.strictEqual(caps.isolation, osIsolated ? "bubblewrap" : "none")
        const expected: Record<Kind | "memory", "enforced" | "unenforceable"> = osIsolated
          ? {
            // Mount and network namespaces restrict every runtime; subprocesses only where the runtime can.
            read: "enforced",
            write: "enforced",
            net: "enforced",
            run: runtime === "bun" ? "unenforceable" : "enforced",
            env: "enforced",
            memory: runtime === "bun" ? "unenforceable" : "enforced"
          }
          : runtime === "bun"
          ? {
            read: "unenforceable",
            write: "unenforceable",
            net: "unenforceable",
            run: "unenforceable",
            // Bun reads every /proc/<pid>/environ: a withheld environment needs bubblewrap.
            env: "unenforceable",
            memory: "unenforceable"
          }
          : runtime === "node"
          ? {
            read: "enforced",
            write: "enforced",
            net: nodeMajor >= 25 ? "enforced" : "unenforceable",
            run: "enforced",
            env: "enforced",
            memory: "enforced"
          }
          : {
            read: "enforced",
            write: "enforced",
            net: "enforced",
            run: "enforced",
            env: "enforced",
            memory: "enforced"
          }
        for (const kind of [...kinds, "memory"] as const) assert.strictEqual(status(kind), expected[kind], kind)
        assert.strictEqual(status("rss"), "enforced")
        assert.strictEqual(status("timeout"), "enforced")
        assert.strictEqual(caps.processes.status, osIsolated ? "enforced" : "unenforceable")
        // A tmpfs under bubblewrap, a sampled size under runtime flags.
        assert.strictEqual(caps.scratch.status, "enforced")
      }))

    for (const kind of kinds) {
      it.scoped(`${kind}: denied inside the tool or refused up front, as capabilities say`, () =>
        Effect.gen(function*() {
          const caps = yield* capabilitiesOf(runtime)
          const c: Case = yield* caseFor(runtime, kind)
          const forbidden = yield* execute({
            ...c.forbidden,
            runtime: [RuntimeConfig.withPermissions(c.restricted)]
          }).pipe(Effect.either)
          if (caps[kind].status === "enforced") {
            if (forbidden._tag === "Right") {
              assert.isTrue(
                c.invisibleIsDenied === true && forbidden.right === null,
                `${kind} is enforced on ${runtime} but the forbidden action succeeded: ${
                  JSON.stringify(forbidden.right)
                }`
              )
            } else {
              assert.isTrue(isPermissionError(forbidden.left), `${kind}: ${JSON.stringify(forbidden.left)}`)
            }
            const allowed = yield* execute({
              ...c.allowed,
              runtime: [RuntimeConfig.withPermissions(c.granted ?? c.restricted)]
            })
            assert.deepStrictEqual(allowed, c.expected, `${kind}: the granted action works`)
          } else {
            assert.isTrue(forbidden._tag === "Left", `${kind} is unenforceable on ${runtime} but was not refused`)
            if (forbidden._tag === "Left") {
              const error = forbidden.left
              assert.strictEqual(error._tag, "PermissionUnenforceable", JSON.stringify(error))
              if (error._tag === "PermissionUnenforceable") {
                assert.strictEqual(error.runtimeType, runtime)
                assert.strictEqual(error.permission, kind)
                assert.isAbove(error.reason.length, 0)
              }
            }
            // Opting into "warn" runs the tool, unrestricted (that is the honest part), with a warning.
            const warned = yield* withWarnings(execute({
              ...c.forbidden,
              runtime: [RuntimeConfig.withPermissions(c.restricted), RuntimeConfig.withPermissionPolicy("warn")]
            }))
            assert.strictEqual(warned.outcome._tag, "Right", JSON.stringify(warned.outcome))
            assert.isTrue(
              warned.warnings.some((w) => w.includes(kind)),
              `a warning names the ${kind} restriction: ${JSON.stringify(warned.warnings)}`
            )
          }
          assert.deepStrictEqual(yield* awaitNoChildren(), [], "no worker left behind")
        }))
    }

    it.scoped("a host scope on the network is enforced per host where the runtime can, refused otherwise", () =>
      Effect.gen(function*() {
        const caps = yield* capabilitiesOf(runtime)
        const allowedServer = yield* tcpServer
        const otherServer = yield* tcpServer
        const options = [
          RuntimeConfig.withPermissions(allBut(runtime, "net", `--allow-net=127.0.0.1:${allowedServer.port}`))
        ]
        const allowed = yield* execute({ toolId: "connect", input: { port: allowedServer.port }, runtime: options })
          .pipe(Effect.either)
        const other = yield* execute({ toolId: "connect", input: { port: otherServer.port }, runtime: options })
          .pipe(Effect.either)
        // Only Deno scopes network by host; Node >= 25 is all-or-nothing, so a scope is refused there.
        if (runtime === "deno") {
          assert.strictEqual(caps.net.status, "enforced")
          assert.isTrue(allowed._tag === "Right" && allowed.right === "connected", JSON.stringify(allowed))
          assert.isTrue(other._tag === "Left" && isPermissionError(other.left), JSON.stringify(other))
        } else {
          for (const outcome of [allowed, other]) {
            assert.isTrue(
              outcome._tag === "Left" && outcome.left._tag === "PermissionUnenforceable",
              JSON.stringify(outcome)
            )
          }
        }
        assert.strictEqual(otherServer.connections(), 0)
      }))

    // The seed's default was `bunPermissions: ["--allow-read"]`, which Bun silently ignored (compozy
    // report §6.1). The compatibility field now gets the same honest treatment as `permissions`.
    if (runtime === "bun") {
      it.effect("the seed's bunPermissions [\"--allow-read\"] is refused, not silently ignored", () =>
        Effect.gen(function*() {
          const refused = yield* execute({
            toolId: "readEnv",
            input: { name: "PATH" },
            runtime: [RuntimeConfig.withBunPermissions(["--allow-read"])]
          }).pipe(Effect.flip)
          assert.strictEqual(refused._tag, "PermissionUnenforceable", JSON.stringify(refused))
          if (refused._tag === "PermissionUnenforceable") {
            assert.strictEqual(refused.runtimeType, "bun")
            assert.include(["write", "net", "run"], refused.permission)
          }
          const warned = yield* withWarnings(execute({
            toolId: "readEnv",
            input: { name: "PATH" },
            runtime: [RuntimeConfig.withBunPermissions(["--allow-read"]), RuntimeConfig.withPermissionPolicy("warn")]
          }))
          assert.strictEqual(warned.outcome._tag, "Right", JSON.stringify(warned.outcome))
          const caps = yield* capabilitiesOf(runtime)
          for (const kind of (["write", "net", "run"] as const).filter((k) => caps[k].status === "unenforceable")) {
            assert.isTrue(warned.warnings.some((w) => w.includes(kind)), `${kind}: ${JSON.stringify(warned.warnings)}`)
          }
        }))
    }

    it.scoped("--allow-all is never refused and grants everything", () =>
      Effect.gen(function*() {
        const secret = path.join(yield* tempDir("es-perm-all-"), "secret")
        fs.writeFileSync(secret, "readable with --allow-all")
        const options = [RuntimeConfig.withPermissions(["--allow-all"])]
        assert.strictEqual(
          yield* execute({ toolId: "readFile", input: { path: secret }, runtime: options }),
          "readable with --allow-all"
        )
        assert.strictEqual(yield* execute({ toolId: "spawnChild", input: null, runtime: options }), "spawned")
      }))

    it.scoped("the heap cap or the resident-memory watchdog ends a heap hog with ToolMemoryExceeded", () =>
      Effect.gen(function*() {
        const caps = yield* capabilitiesOf(runtime)
        assert.isTrue(caps.memory.status === "enforced" || caps.rss.status === "enforced")
        const error = yield* execute({
          toolId: "allocate",
          input: { mb: 1024, kind: "heap", chunkMB: 8 },
          runtime: [RuntimeConfig.withMaxMemoryMB(128)]
        }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "ToolMemoryExceeded", JSON.stringify(error).slice(0, 500))
        if (error._tag === "ToolMemoryExceeded") assert.strictEqual(error.limitMB, 128)
        assert.deepStrictEqual(yield* awaitNoChildren(), [], "no worker left behind")
      }))
  })
})
