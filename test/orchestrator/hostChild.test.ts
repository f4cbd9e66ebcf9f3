import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Clock, Effect, Fiber, Layer, Logger, Queue, Schedule, TestClock } from "effect"
import { AgentHost, Bundle, Orchestrator } from "effect-swarm"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { canStillRun } from "../support/liveness.js"
import { runUntil } from "../support/process.js"
import { info, text } from "./helpers.js"
import { alive, findFiles, hostBundleDir, hostFixture, loopback } from "./hostKit.js"

const parentDies = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/orchestrator/parent-dies.ts")

/** The orchestrator's log lines, in a queue the test waits on (no sleeping: each line is an event). */
const captureLogs = Effect.gen(function*() {
  const lines = yield* Queue.unbounded<string>()
  const all: Array<string> = []
  const logger = Logger.make(({ message }) => {
    const line = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    all.push(line)
    Queue.unsafeOffer(lines, line)
  })
  const waitFor = (pattern: RegExp) =>
    Effect.gen(function*() {
      while (true) {
        const line = yield* Queue.take(lines)
        if (pattern.test(line)) return line
      }
    })
  return { layer: Logger.replace(Logger.defaultLogger, logger), waitFor, all }
})

describe("AgentHost.childProcess", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "a request round trip through a child process: the child writes the instance's files, deltas are forwarded, no child is left",
      () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const gate = yield* loopback
          const fixture = yield* hostFixture(gate.url)
          const bundle = yield* Bundle.load(fixture.dir)
          const deltas: Array<string> = []
          const { pid, result } = yield* Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.makeOnHost(bundle, "hosts")
            const result = yield* orchestrator.request("echo@one", {
              input: "hello",
              onDelta: (_, part) => Effect.sync(() => part._tag === "TextDelta" && deltas.push(part.text))
            })
            const instance = yield* info(orchestrator, "echo@one")
            assert.strictEqual(instance.generation, 1)
            assert.isDefined(instance.pid)
            assert.notStrictEqual(instance.pid, process.pid)
            assert.isTrue(alive(instance.pid!))
            return { pid: instance.pid!, result }
          }).pipe(
            Effect.scoped,
            Effect.provide(AgentHost.childProcess({ stateRoot: fixture.home, env: fixture.env }))
          )
          assert.strictEqual(result.finishReason, "text_response")
          assert.strictEqual(text(result), "hello from a child")
          assert.strictEqual(deltas.join(""), "hello from a child")
          // The scope closed: the child was shut down and reaped.
          assert.isFalse(alive(pid))
          // The child wrote the conversation and the runtime events; this process opened no store at all.
          const [events] = yield* findFiles(fixture.home, "runtime-events.jsonl")
          assert.isDefined(events)
          const types = (yield* fs.readFileString(events!)).trim().split("\n").map((l) => JSON.parse(l).type)
          assert.includeMembers(types, ["turn.started", "turn.completed"])
          const logs = yield* findFiles(fixture.home, "events.jsonl")
          const conversation = yield* Effect.forEach(logs, (f) => fs.readFileString(f))
          assert.isTrue(conversation.some((c) => c.includes("hello from a child")))
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "restarting one child-process instance replaces its process only: the other instance keeps its pid and generation (reference architecture 7)",
      () =>
        Effect.gen(function*() {
          const gate = yield* loopback
          const fixture = yield* hostFixture(gate.url)
          const bundle = yield* Bundle.load(fixture.dir)
          yield* Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.makeOnHost(bundle, "hosts")
            yield* orchestrator.request("echo@one", "hello")
            yield* orchestrator.request("echo@two", "hello")
            const one = yield* info(orchestrator, "echo@one")
            const two = yield* info(orchestrator, "echo@two")
            assert.notStrictEqual(one.pid, two.pid)
            yield* orchestrator.restart("echo@one")
            // The old child was stopped and reaped before restart returned.
            assert.isFalse(alive(one.pid!))
            const again = yield* orchestrator.request("echo@one", "hello")
            assert.strictEqual(again.finishReason, "text_response")
            const oneAfter = yield* info(orchestrator, "echo@one")
            const twoAfter = yield* info(orchestrator, "echo@two")
            assert.strictEqual(oneAfter.generation, 2)
            assert.notStrictEqual(oneAfter.pid, one.pid)
            assert.isTrue(alive(oneAfter.pid!))
            assert.deepStrictEqual([twoAfter.pid, twoAfter.generation, twoAfter.restarts], [two.pid, 1, 0])
            assert.isTrue(alive(two.pid!))
          }).pipe(
            Effect.scoped,
            Effect.provide(AgentHost.childProcess({ stateRoot: fixture.home, env: fixture.env }))
          )
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "a child killed with SIGKILL mid-turn is restarted with backoff and its turn resumed from the log: the reply arrives, the tool ran once",
      () =>
        Effect.gen(function*() {
          const gate = yield* loopback
          const fixture = yield* hostFixture(gate.url)
          const bundle = yield* Bundle.load(fixture.dir)
          const logs = yield* captureLogs
          yield* Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.makeOnHost(bundle, "hosts", {
              supervision: { crashThreshold: 0 }
            })
            const reply = yield* Effect.fork(orchestrator.request("worker@job", "wait at the gate"))
            // The turn is blocked in gate__wait inside the child.
            const started = yield* Queue.take(gate.started)
            assert.strictEqual(started.tool, "wait")
            const first = yield* info(orchestrator, "worker@job")
            assert.strictEqual(first.pid, started.pid)
            process.kill(started.pid, "SIGKILL")
            yield* logs.waitFor(/worker@job crashed: .*SIGKILL/)
            assert.isFalse(alive(started.pid))
            const waiting = yield* info(orchestrator, "worker@job")
            assert.strictEqual(waiting.status, "crashLoopBackOff")
            assert.strictEqual(waiting.nextStartAt, 1000) // the backoff is on the Clock: 1 s after the crash at 0
            yield* TestClock.adjust("1 second")
            const result = yield* Fiber.join(reply)
            assert.strictEqual(result.finishReason, "text_response")
            // gate__wait is not idempotent: the next child did not run it again; the model read why.
            assert.include(text(result), "E_TOOL_INTERRUPTED")
            assert.strictEqual(Chunk.size(yield* Queue.takeAll(gate.started)), 0)
            // The model was not asked again for the step it had answered before the kill.
            assert.deepStrictEqual(gate.modelCalls, ["user", "tool"])
            const after = yield* info(orchestrator, "worker@job")
            assert.strictEqual(after.generation, 2)
            assert.strictEqual(after.restarts, 1)
            assert.notStrictEqual(after.pid, started.pid)
            return after.pid!
          }).pipe(
            Effect.scoped,
            Effect.provide(AgentHost.childProcess({ stateRoot: fixture.home, env: fixture.env })),
            Effect.provide(logs.layer),
            Effect.tap((pid) => assert.isFalse(alive(pid)))
          )
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "a late exit of generation 1 reaching generation 2 is ignored: the instance keeps serving, no crash is counted",
      () =>
        Effect.gen(function*() {
          const gate = yield* loopback
          const fixture = yield* hostFixture(gate.url)
          const bundle = yield* Bundle.load(fixture.dir)
          const logs = yield* captureLogs
          // Delivers generation 1's exit to generation 2's watcher as well (a late notification).
          const lateExit = Layer.effect(
            AgentHost.AgentHost,
            Effect.gen(function*() {
              const host = yield* AgentHost.AgentHost
              let first: AgentHost.Hosted | undefined
              return AgentHost.AgentHost.of({
                ...host,
                start: (target) =>
                  Effect.map(host.start(target), (hosted) => {
                    if (first === undefined) {
                      first = hosted
                      return hosted
                    }
                    return { ...hosted, exited: Effect.raceFirst(hosted.exited, first.exited) }
                  })
              })
            })
          ).pipe(Layer.provide(AgentHost.childProcess({ stateRoot: fixture.home, env: fixture.env })))
          yield* Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.makeOnHost(bundle, "hosts", {
              supervision: { crashThreshold: 0 }
            })
            assert.strictEqual(text(yield* orchestrator.request("echo@late", "hello")), "hello from a child")
            const first = yield* info(orchestrator, "echo@late")
            process.kill(first.pid!, "SIGKILL")
            yield* logs.waitFor(/echo@late crashed: .*SIGKILL/)
            yield* TestClock.adjust("1 second")
            // Generation 2 is a new process: its script starts over.
            assert.strictEqual(text(yield* orchestrator.request("echo@late", "hello")), "hello from a child")
            yield* logs.waitFor(/echo@late: ignored the exit of generation 1 \(current: 2\)/)
            assert.strictEqual(text(yield* orchestrator.request("echo@late", "hello")), "hello again")
            const second = yield* info(orchestrator, "echo@late")
            assert.strictEqual(second.generation, 2)
            assert.strictEqual(second.status, "idle")
            assert.strictEqual(second.consecutiveCrashes, 1)
            assert.strictEqual(second.restarts, 1)
            assert.isTrue(alive(second.pid!))
            assert.strictEqual(logs.all.filter((l) => /echo@late crashed/.test(l)).length, 1)
            return [first.pid!, second.pid!]
          }).pipe(
            Effect.scoped,
            Effect.provide(lateExit),
            Effect.provide(logs.layer),
            Effect.tap((pids) => assert.isFalse(pids.some(alive)))
          )
        }),
      { timeout: 180_000 }
    )

    it.scoped(
      "stop escalates on a child that ignores it: shutdown message, TERM after the grace period, then KILL; the process is reaped",
      () =>
        Effect.gen(function*() {
          const gate = yield* loopback
          const fixture = yield* hostFixture(gate.url)
          const bundle = yield* Bundle.load(fixture.dir)
          const logs = yield* captureLogs
          yield* Effect.gen(function*() {
            const orchestrator = yield* Orchestrator.makeOnHost(bundle, "hosts")
            yield* orchestrator.send("spinner@x", "spin")
            // The child's event loop is blocked in gate__spin: it can handle neither the shutdown nor TERM.
            const started = yield* Queue.take(gate.started)
            assert.strictEqual(started.tool, "spin")
            yield* orchestrator.stop("spinner@x")
            assert.isFalse(alive(started.pid))
            const escalation = logs.all.filter((l) => /spinner@x \(pid \d+\)/.test(l))
            assert.strictEqual(escalation.length, 2, escalation.join("\n"))
            assert.match(escalation[0]!, /did not shut down within 200ms: TERM/)
            assert.match(escalation[1]!, /ignored TERM for 200ms: KILL/)
            const stopped = yield* info(orchestrator, "spinner@x")
            assert.strictEqual(stopped.status, "stopped")
            assert.isUndefined(stopped.pid)
          }).pipe(
            Effect.scoped,
            // Live clock, short periods: the signals need a real process; no assertion on elapsed time.
            Effect.provide(
              AgentHost.childProcess({
                stateRoot: fixture.home,
                env: fixture.env,
                gracePeriod: "200 millis",
                killGrace: "200 millis"
              })
            ),
            Effect.provide(logs.layer),
            Effect.withClock(Clock.make())
          )
        }),
      { timeout: 180_000 }
    )
  })
})

describe("AgentHost.childProcess: the parent dies", () => {
  layer(NodeContext.layer, { timeout: 180_000 })((it) => {
    it.scoped(
      "an orchestrator process killed with SIGKILL leaves no child: the IPC channel closes and the child exits by itself",
      () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-host-orphan-" })
          const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
          let child = 0
          // `node --import tsx parent-dies.ts <home> <bundle>`, killed once it printed its child's pid.
          const run = yield* runUntil("--import", [tsx, parentDies, home, hostBundleDir], (line) => {
            const m = /^child (\d+)$/.exec(line)
            if (m !== null) child = Number(m[1])
            return m !== null
          })
          assert.strictEqual(run.signal, "SIGKILL", run.lines.join("\n"))
          assert.isAbove(child, 0, run.lines.join("\n"))
          // The orphan notices the closed channel and exits; a real process, so the live clock polls it.
          yield* Effect.suspend(() => canStillRun(child) ? Effect.fail("alive") : Effect.void).pipe(
            Effect.retry(Schedule.intersect(Schedule.spaced("100 millis"), Schedule.recurs(600)))
          )
          assert.isFalse(canStillRun(child))
        }).pipe(Effect.withClock(Clock.make())),
      { timeout: 180_000 }
    )
  })
})
