import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Exit, Option, Queue, TestClock } from "effect"
import type { Connector } from "effect-swarm"
import { ConnectorError, Connectors } from "effect-swarm"
import { baseLayer, bundleOf, orchestratorOf } from "./helpers.js"

declare global {
  var __supervisionProbes: Record<string, (ctx: Connector.ConnectorContext) => void | Promise<void>> | undefined
}

const builtinConnector = (name: string, connection: string) =>
  `apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: ${name}
spec:
  builtin: ${name}
  events:
    - name: message
---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: ${connection}
spec:
  connectorRef: Connector/${name}
`

const moduleConnector = (name: string, probe: string) =>
  `apiVersion: effect-swarm/v1
kind: Connector
metadata:
  name: ${name}
spec:
  entry: ./${name}.mjs
  events:
    - name: message
---
apiVersion: effect-swarm/v1
kind: Connection
metadata:
  name: ${name}-in
spec:
  connectorRef: Connector/${name}
  config:
    probe: { value: "${probe}" }
`

/** A module that gives its context to the test's probe and runs as long as the probe's promise. */
const probeModule = `export default function run(ctx) {
  return globalThis.__supervisionProbes[ctx.config.probe](ctx)
}
`

describe("Connector supervision", () => {
  it.scoped("a crashing connector restarts with the Supervision backoff on Clock; uptime resets the row", () =>
    Effect.gen(function*() {
      const starts = yield* Queue.unbounded<number>()
      const healthy = yield* Deferred.make<void>()
      let n = 0
      // Starts 1-4 crash at once, start 5 runs until `healthy` is completed, then crashes; so does start 6.
      const flaky: Connector.Builtin = (ctx) =>
        Effect.gen(function*() {
          n++
          yield* Queue.offer(starts, yield* Clock.currentTimeMillis)
          if (n === 5) yield* Deferred.await(healthy)
          if (n <= 6) {
            return yield* new ConnectorError.ConnectorCrashed({
              connection: ctx.connection,
              connector: ctx.connector,
              reason: `boom ${n}`
            })
          }
          return yield* Effect.never
        })
      const bundle = yield* bundleOf({ "connectors.yaml": builtinConnector("flaky", "flaky-in") })
      const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle), { builtins: { flaky } })
      const status = () => Effect.map(connectors.status, (s) => s[0]!)
      // The supervisor has crashed and is waiting for the start due at `at` (then the clock may move).
      const waitingFor = (at: number) =>
        Effect.gen(function*() {
          while ((yield* status()).nextStartAt !== at) yield* Effect.yieldNow()
        })
      // Crash 1 restarts at once (threshold 1); crash 2 waits 1 s, crash 3 2 s, crash 4 4 s.
      assert.strictEqual(yield* Queue.take(starts), 0)
      assert.strictEqual(yield* Queue.take(starts), 0)
      yield* waitingFor(1000)
      let s = yield* status()
      assert.strictEqual(s.status, "crashLoopBackOff")
      assert.strictEqual(s.reason, "connection flaky-in (Connector/flaky) crashed: boom 2")
      assert.strictEqual(s.nextStartAt, 1000)
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Queue.poll(starts)))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Queue.take(starts), 1000)
      yield* waitingFor(3000)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Queue.take(starts), 3000)
      yield* waitingFor(7000)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(yield* Queue.take(starts), 7000)
      s = yield* status()
      assert.strictEqual(s.status, "running")
      assert.strictEqual(s.restarts, 4)
      // After 60 s of uptime a crash is the first of a new row: restarted at once.
      yield* TestClock.adjust("60 seconds")
      yield* Deferred.succeed(healthy, undefined)
      assert.strictEqual(yield* Queue.take(starts), 67_000)
      // ... and the next crash is the second of that row: 1 s.
      yield* waitingFor(68_000)
      s = yield* status()
      assert.strictEqual(s.restarts, 5)
      assert.strictEqual(s.consecutiveCrashes, 2)
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("maxRestarts (from options) stops restarting: status crashed with the reason; others keep running", () =>
    Effect.gen(function*() {
      const always: Connector.Builtin = (ctx) =>
        new ConnectorError.ConnectorCrashed({ connection: ctx.connection, connector: ctx.connector, reason: "nope" })
      const steady: Connector.Builtin = () => Effect.never
      const bundle = yield* bundleOf({
        "connectors.yaml": `${builtinConnector("always", "always-in")}---\n${builtinConnector("steady", "steady-in")}`
      })
      const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle), {
        builtins: { always, steady },
        supervision: { maxRestarts: 2, crashThreshold: 5 }
      })
      const done = yield* Effect.fork(connectors.awaitDone)
      let statuses = yield* connectors.status
      while (statuses[0]!.status !== "crashed") {
        yield* Effect.yieldNow()
        statuses = yield* connectors.status
      }
      assert.include(statuses[0]!.reason, "nope; gave up: crashed 3 times within")
      assert.strictEqual(statuses[1]!.status, "running")
      assert.isNull(done.unsafePoll())
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a config error is not restarted: status crashed at once with the field and the suggestion (s17 lead)", () =>
    Effect.gen(function*() {
      let starts = 0
      // What the http connector does with an invalid spec.config value: a ConnectorLoadError, E_CONNECTOR_CONFIG.
      const misconfigured: Connector.Builtin = (ctx) =>
        Effect.suspend(() => {
          starts++
          return new ConnectorError.ConnectorLoadError({
            code: "E_CONNECTOR_CONFIG",
            connection: ctx.connection,
            connector: ctx.connector,
            file: `Connection/${ctx.connection}`,
            reason: "spec.config.port must be an integer from 0 to 65535, got -1",
            suggestion: "fix spec.config.port in the Connection"
          })
        })
      const bundle = yield* bundleOf({ "connectors.yaml": builtinConnector("misconfigured", "misconfigured-in") })
      const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle), {
        builtins: { misconfigured }
      })
      let status = (yield* connectors.status)[0]!
      for (let i = 0; i < 10_000 && status.status !== "crashed" && status.nextStartAt === undefined; i++) {
        yield* Effect.yieldNow()
        status = (yield* connectors.status)[0]!
      }
      // Before: restarted at once, then after 1 s, 2 s, ... forever, though nothing would change.
      yield* TestClock.adjust("10 minutes")
      status = (yield* connectors.status)[0]!
      assert.strictEqual(status.status, "crashed")
      assert.strictEqual(starts, 1)
      assert.include(status.reason, "E_CONNECTOR_CONFIG")
      assert.include(status.reason, "spec.config.port")
      assert.include(status.reason, "not restarted")
    }).pipe(Effect.provide(baseLayer)))

  it.live("a connector module that throws is restarted while another connector keeps serving requests", () =>
    Effect.gen(function*() {
      const starts = yield* Queue.unbounded<string>()
      const serving = yield* Deferred.make<Connector.ConnectorContext>()
      let crashes = 0
      globalThis.__supervisionProbes = {
        crashy: async (ctx) => {
          starts.unsafeOffer(ctx.connection)
          if (crashes++ < 2) throw new Error(`crash ${crashes}`)
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
        },
        steady: (ctx) => {
          Deferred.unsafeDone(serving, Exit.succeed(ctx))
          return new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve()))
        }
      }
      const bundle = yield* bundleOf({
        "connectors.yaml": `${moduleConnector("crashy", "crashy")}---\n${moduleConnector("steady", "steady")}`,
        "crashy.mjs": probeModule,
        "steady.mjs": probeModule
      })
      const connectors = yield* Connectors.run(bundle, yield* orchestratorOf(bundle), {
        supervision: { initialBackoff: Duration.millis(20) }
      })
      const steady = yield* Deferred.await(serving)
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(yield* Queue.take(starts), "crashy-in")
        const reply = yield* Effect.promise(() => steady.request({ name: "message", text: `m${i}`, instanceKey: "s" }))
        assert.strictEqual(reply.text, `front: m${i}`)
      }
      const [crashy, steadyStatus] = yield* connectors.status
      assert.strictEqual(crashy!.restarts, 2)
      assert.strictEqual(crashy!.reason, "connection crashy-in (Connector/crashy) crashed: crash 2")
      assert.strictEqual(steadyStatus!.status, "running")
      assert.strictEqual(steadyStatus!.restarts, 0)
    }).pipe(Effect.scoped, Effect.provide(baseLayer)))
})

describe("Connector loading", () => {
  const failure = (files: Record<string, string>, options?: Connectors.Options) =>
    Effect.gen(function*() {
      const bundle = yield* bundleOf(files)
      return yield* Effect.flip(Connectors.run(bundle, yield* orchestratorOf(bundle), options))
    })

  it.scoped("a module without run, an unknown built-in, a missing env value and an unknown connection are typed errors", () =>
    Effect.gen(function*() {
      const noRun = yield* failure({
        "connectors.yaml": moduleConnector("bare", "x"),
        "bare.mjs": "export const notRun = 1\n"
      })
      assert.strictEqual(noRun.code, "E_CONNECTOR_NO_RUN")
      assert.include(noRun.message, "connection bare-in")
      assert.include(noRun.message, "bare.mjs")
      assert.include(noRun.message, "export default async function run(ctx)")

      const unknown = yield* failure({ "connectors.yaml": builtinConnector("telepathy", "t-in") })
      assert.strictEqual(unknown.code, "E_CONNECTOR_BUILTIN_UNKNOWN")
      assert.include(unknown.message, "no built-in connector \"telepathy\"")

      const missingEnv = yield* failure({
        "connectors.yaml": moduleConnector("envy", "x").replace(
          "    probe: { value: \"x\" }",
          "    probe: { value: \"x\" }\n    token: { valueFrom: { env: CONNECTOR_TEST_UNSET_VARIABLE } }"
        ),
        "envy.mjs": probeModule
      })
      assert.strictEqual(missingEnv.code, "E_CONNECTOR_CONFIG")
      assert.include(missingEnv.message, "Connection/envy-in.spec.config.token")
      assert.include(missingEnv.message, "CONNECTOR_TEST_UNSET_VARIABLE")

      const notFound = yield* failure({ "connectors.yaml": moduleConnector("one", "x"), "one.mjs": probeModule }, {
        connections: ["two-in"]
      })
      assert.strictEqual(notFound.code, "E_CONNECTOR_NOT_FOUND")
      assert.include(notFound.message, "connections: one-in")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a broken module fails to import with E_CONNECTOR_IMPORT naming the file", () =>
    Effect.gen(function*() {
      const bundle = yield* bundleOf({
        "connectors.yaml": moduleConnector("broken", "x"),
        "broken.mjs": "export default function run( {\n"
      })
      const e = yield* Effect.flip(Connectors.run(bundle, yield* orchestratorOf(bundle)))
      assert.strictEqual(e.code, "E_CONNECTOR_IMPORT")
      assert.include(e.file, "broken.mjs")
    }).pipe(Effect.provide(baseLayer)))
})
