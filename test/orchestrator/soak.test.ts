// Issue 16's "Done when" as a test: a durable swarm of four agents that call each other (sync and async
// requests, sends) runs for simulated hours on the TestClock while a seeded script injects faults: tool calls
// that fail, throw, reject or die, model calls that take virtual time, fail (the turn fails) or die (the
// instance crashes: restart at once, crashLoopBackOff, the restart-intensity limit), explicit restart and
// stop of instances, and full shutdowns mid-traffic followed by a reopen on the same files. Then it checks
// the invariants: every request gets exactly one outcome (a reply or a typed code), accepted messages are
// processed once and in order, async replies reach their caller's log, nothing runs after the scope closes,
// and every conversation on disk loads clean. Real files, real YAML; the models and one tool are the fakes.
import { NodeContext } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, Fiber, Option, TestClock, TestServices } from "effect"
import type { Orchestrator, OrchestratorError } from "effect-swarm"
import { Bundle, Message, MessageStore } from "effect-swarm"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  closeOnClock,
  conversation,
  durableContext,
  echoModel,
  loadBundle,
  openDurable,
  scopedTest,
  text,
  untilSleep
} from "./helpers.js"
import {
  type AgentCall,
  makeLedger,
  makeProbes,
  type ModelStats,
  pick,
  prng,
  type Probes,
  soakModel,
  soakSetup
} from "./soakKit.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const loadSoak = Bundle.load(path.resolve(here, "../fixtures/bundles/soak")).pipe(Effect.provide(NodeContext.layer))

const agents = ["planner", "coder", "tester", "scribe"] as const
const keys = ["t0", "t1"] as const
const addresses = agents.flatMap((a) => keys.map((k) => `${a}@${k}`))

/** Simulated time: 80 ticks of 90 s (2 hours); the orchestrator is shut down mid-traffic and reopened twice. */
const TICKS = 80
const TICK_MS = 90_000
const SHUTDOWNS = [27, 54]

// ---------------------------------------------------------------------------------------------------
// Driving the clock
// ---------------------------------------------------------------------------------------------------

interface Drive {
  /** Times the settle wait gave up on its real-time safety bound and moved the clock anyway. */
  forced: number
}

/**
 * Waits until every busy instance waits on the Clock (a model call or tool asleep, a sync request to another
 * instance), none is starting or coming back from a crash, and no live instance has queued work it has not
 * taken: then moving the clock is what
 * makes progress. Safety net only: after 5 s of real time it gives up (counted, reported) instead of hanging.
 */
const settle = (orchestrator: Orchestrator.Service, probes: Probes, drive: Drive) => {
  const settled = Effect.map(orchestrator.list, (all) => {
    let processing = 0
    for (const i of all) {
      if (i.status === "starting") return false
      // Restarted while idle, an instance stays `restarting` until its next message; after a crash it is
      // busy until its turn goes on.
      if (i.status === "restarting" && probes.crashed.has(i.address)) return false
      // Given up on (crashed) or stopped, its message failed: restarted, it waits for the next one.
      if (i.status === "crashed" || i.status === "stopped") probes.crashed.delete(i.address)
      if (i.status === "processing") processing++
      else if (i.queued > 0 && i.status !== "stopped" && i.status !== "crashed" && i.status !== "crashLoopBackOff") {
        return false
      }
    }
    return probes.modelActive === probes.modelSleeping && probes.toolActive === probes.toolParked &&
      processing <= probes.modelSleeping + probes.toolParked
  })
  const wait = Effect.gen(function*() {
    while (!(yield* settled)) yield* Effect.yieldNow()
  })
  const bound = TestServices.provideLive(Effect.sleep("5 seconds")).pipe(
    Effect.zipRight(Effect.sync(() => void drive.forced++))
  )
  return Effect.raceFirst(wait, bound)
}

/** Moves the clock to `end`, one pending sleep at a time, settling after each. */
const advanceTo = (orchestrator: Orchestrator.Service, probes: Probes, drive: Drive, end: number) =>
  Effect.gen(function*() {
    while (true) {
      yield* settle(orchestrator, probes, drive)
      const now = yield* TestClock.currentTimeMillis
      const next = Chunk.reduce(yield* TestClock.sleeps(), Infinity, (min, at) => at > now ? Math.min(min, at) : min)
      if (next > end) break
      yield* TestClock.setTime(next)
    }
    if ((yield* TestClock.currentTimeMillis) < end) yield* TestClock.setTime(end)
    yield* settle(orchestrator, probes, drive)
  })

// ---------------------------------------------------------------------------------------------------
// The soak
// ---------------------------------------------------------------------------------------------------

interface Sent {
  readonly address: string
  readonly input: string
  readonly epoch: number
}

interface Requests {
  issued: number
  replied: number
  readonly typed: Map<string, number>
  readonly untyped: Array<string>
  readonly fibers: Array<Fiber.RuntimeFiber<void>>
}

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const typedCode = /^(AGENT_[A-Z_]+|CIRCULAR_CALL_DETECTED|E_TOOL_[A-Z_]+)$/

const soak = (seed: number) =>
  Effect.gen(function*() {
    const { context } = yield* durableContext("es-orch-soak-")
    const bundle = yield* loadSoak
    const probes = makeProbes()
    const ledger = makeLedger()
    const stats: ModelStats = { calls: 0, crashes: 0, failures: 0 }
    const drive: Drive = { forced: 0 }
    const losses = new Map<string, number>()
    const epochOf = (address: string) => losses.get(address) ?? 0
    const lose = (address: string) => losses.set(address, epochOf(address) + 1)
    const options: Orchestrator.Options = {
      models: Object.fromEntries(agents.map((a) => [a, soakModel(seed, a, probes, stats)])),
      setup: soakSetup(probes, ledger, epochOf)
    }
    const rnd = prng(seed)
    let current = yield* openDurable(bundle, "soak", context, options)
    const workspaceId = current.orchestrator.workspaceId
    const sent: Array<Sent> = []
    const requests: Requests = { issued: 0, replied: 0, typed: new Map(), untyped: [], fibers: [] }
    const counts = { shutdowns: 0, restarts: 0, stops: 0, crashedSeen: 0, maxConsecutiveCrashes: 0, refusedSends: 0 }
    const revive = new Map<string, number>()
    let nextId = 0

    const request = (address: string, input: string, timeoutMs: number | undefined) =>
      Effect.gen(function*() {
        requests.issued++
        const o = current.orchestrator
        const fiber = yield* Effect.fork(
          o.request(address, input, timeoutMs === undefined ? {} : { timeout: timeoutMs }).pipe(
            Effect.matchCauseEffect({
              onSuccess: () => Effect.sync(() => void requests.replied++),
              onFailure: (cause) =>
                Effect.sync(() => {
                  const failure = Option.getOrUndefined(Chunk.head(Cause.failures(cause)))
                  const code = codeOf(failure)
                  if (code !== undefined && typedCode.test(code)) {
                    requests.typed.set(code, (requests.typed.get(code) ?? 0) + 1)
                  } else requests.untyped.push(`${input} -> ${address}: ${Cause.pretty(cause)}`)
                })
            })
          )
        )
        requests.fibers.push(fiber)
      })

    // Restart and stop wait for the instance's turn in flight to end (a grace period on the Clock): forked,
    // and joined at the end, so the driver keeps moving the clock meanwhile.
    const controls: Array<Fiber.RuntimeFiber<void, OrchestratorError.OrchestratorError>> = []
    const control = (effect: Effect.Effect<void, OrchestratorError.OrchestratorError>) =>
      Effect.map(Effect.fork(effect), (f) => void controls.push(f))
    const restart = (address: string) => control(current.orchestrator.restart(address))

    const tick = (t: number) =>
      Effect.gen(function*() {
        const o = current.orchestrator
        const listed = yield* o.list
        for (const i of listed) {
          counts.maxConsecutiveCrashes = Math.max(counts.maxConsecutiveCrashes, i.consecutiveCrashes)
          if (i.status === "crashed" && !revive.has(i.address)) {
            counts.crashedSeen++
            lose(i.address)
            revive.set(i.address, t + 1 + Math.floor(rnd() * 2))
          }
        }
        for (const [address, at] of revive) {
          if (at > t) continue
          revive.delete(address)
          yield* restart(address)
        }
        const n = rnd() < 0.45 ? 1 : 0
        for (let k = 0; k < n; k++) {
          const address = pick(rnd, addresses)
          const input = `task ${address.split("@")[1]}-d${nextId++}`
          if (rnd() < 0.45) {
            const accepted = yield* Effect.either(o.send(address, input))
            if (accepted._tag === "Right") sent.push({ address, input, epoch: epochOf(address) })
            else counts.refusedSends++
          } else {
            yield* request(address, input, rnd() < 0.5 ? undefined : 30_000 + Math.floor(rnd() * 570_000))
          }
        }
        // Besides the random ones, a restart and a stop every 20 ticks whatever the seed.
        const fault = t % 20 === 7 ? 0 : t % 20 === 13 ? 0.06 : rnd()
        const known = listed.filter((i) => !revive.has(i.address))
        if (known.length > 0 && fault < 0.05) {
          counts.restarts++
          const victim = pick(rnd, known).address
          yield* restart(victim)
        } else if (known.length > 0 && fault < 0.08) {
          const victim = pick(rnd, known).address
          counts.stops++
          lose(victim)
          yield* control(o.stop(victim))
          revive.set(victim, t + 1 + Math.floor(rnd() * 3))
        }
      })

    for (let t = 0; t < TICKS; t++) {
      yield* tick(t)
      if (SHUTDOWNS.includes(t)) {
        // Mid-traffic: the turns just started are in flight, queued messages wait.
        counts.shutdowns++
        yield* closeOnClock(current.scope, Exit.void)
        current = yield* openDurable(bundle, "soak", context, options)
      }
      yield* advanceTo(current.orchestrator, probes, drive, (t + 1) * TICK_MS)
    }

    // The drain: revive what is down, then give every caller with async requests in flight or replies
    // waiting a step (replies are delivered at the caller's next step), until nothing is left.
    let rounds = 0
    for (; rounds < 30; rounds++) {
      const o = current.orchestrator
      const api = o.agentsApi!
      for (const i of yield* o.list) {
        if (i.status === "crashed" || i.status === "stopped") {
          if (i.status === "crashed") lose(i.address)
          revive.delete(i.address)
          yield* restart(i.address)
        }
      }
      let waiting = false
      // Every address, listed or not (an instance released when idle is not listed until its next message).
      for (const address of addresses) {
        const [agentName, instanceKey] = address.split("@") as [string, string]
        const ref = { workspaceId, agentName, instanceKey }
        const pending = (yield* api.pendingAsync(ref)) + (yield* api.pendingReplies(ref)).length
        if (pending > 0) {
          waiting = true
          yield* request(address, `final ${rounds}`, undefined)
        }
      }
      const now = yield* TestClock.currentTimeMillis
      yield* advanceTo(o, probes, drive, now + 10 * TICK_MS)
      const busy = (yield* o.list).some((i) => i.status !== "idle" || i.queued > 0)
      const open = requests.fibers.some((f) => f.unsafePoll() === null)
      if (!waiting && !busy && !open) break
    }
    const hours = (yield* TestClock.currentTimeMillis) / 3_600_000
    yield* closeOnClock(current.scope, Exit.void)

    const summary = JSON.stringify({
      seed,
      hours: Number(hours.toFixed(2)),
      rounds,
      requests: { issued: requests.issued, replied: requests.replied, typed: Object.fromEntries(requests.typed) },
      sends: sent.length,
      agentCalls: ledger.calls.length,
      work: ledger.work,
      model: stats,
      counts,
      forced: drive.forced
    })
    yield* Effect.logInfo(`soak: ${summary}`)
    const where = `(seed ${seed}; ${summary})`

    // Every restart and stop ended (a stop or restart that raced a shutdown may be refused, with a typed error).
    for (const f of controls) {
      const exit = f.unsafePoll()
      assert.isTrue(exit !== null, `a restart or stop never ended ${where}`)
      if (exit !== null && Exit.isFailure(exit)) {
        const code = codeOf(Option.getOrUndefined(Cause.failureOption(exit.cause)))
        assert.match(code ?? Cause.pretty(exit.cause), typedCode, where)
      }
    }

    // Nothing runs once the scope is closed: no model call, no tool call.
    assert.strictEqual(probes.modelActive, 0, `model calls still running after the close ${where}`)
    assert.strictEqual(probes.toolActive, 0, `tool calls still running after the close ${where}`)

    // Every request the driver issued ended, with a reply or a typed code: issued == replied + typed.
    for (const f of requests.fibers) assert.isTrue(f.unsafePoll() !== null, `a request never ended ${where}`)
    assert.deepStrictEqual(requests.untyped, [], `requests that failed without a typed code ${where}`)
    const typed = [...requests.typed.values()].reduce((a, b) => a + b, 0)
    assert.strictEqual(requests.issued, requests.replied + typed, `issued != replied + typed failures ${where}`)

    // Every call an agent made ended: ok, a typed code, or interrupted with its caller's turn.
    for (const call of ledger.calls) {
      assert.isDefined(call.outcome, `${call.caller} ${call.tool} ${call.input}: no outcome ${where}`)
      if (call.outcome?._tag === "Untyped") assert.fail(`${call.caller} ${call.tool}: ${call.outcome.detail} ${where}`)
      if (call.outcome?._tag === "Typed") {
        assert.match(call.outcome.code, typedCode, `${call.caller} ${call.tool} ${call.input} ${where}`)
      }
    }

    // The files: every conversation loads (and a repair finds nothing to drop).
    const store = yield* MessageStore.MessageStore.pipe(Effect.provide(context))
    const logs = new Map<string, ReadonlyArray<Message.Message>>()
    for (const address of addresses) {
      const [agentName, instanceKey] = address.split("@") as [string, string]
      const ref = { workspaceId, agentName, instanceKey }
      const loaded = yield* store.load(ref)
      logs.set(address, loaded.messages)
      const report = yield* store.repair(ref)
      assert.deepStrictEqual(report.dropped, [], `${address}: repair dropped records ${where}`)
    }

    const userTexts = (address: string) =>
      (logs.get(address) ?? []).filter((m) => m.data.role === "user").map((m) => Message.text(m.data))

    // No message is processed twice: each task appears at most once in its instance's conversation.
    for (const address of addresses) {
      const tasks = userTexts(address).filter((t) => t.startsWith("task "))
      const dup = tasks.filter((t, i) => tasks.indexOf(t) !== i)
      assert.deepStrictEqual(dup, [], `${address}: tasks processed twice ${where}`)
    }

    // Every accepted send is processed exactly once (at most once when its instance was stopped or gave up
    // after too many crashes since: those fail their queued messages, as documented), in order per sender.
    const agentSends = ledger.calls.filter((c) => c.tool === "agents__send" && c.outcome?._tag === "Ok")
    const delivered: Array<Sent & { readonly from: string }> = [
      ...sent.map((s) => ({ ...s, from: "driver" })),
      ...agentSends.map((c) => ({ address: c.target, input: c.input, epoch: c.epoch ?? 0, from: c.caller }))
    ]
    const positions = new Map<string, Array<number>>()
    for (const s of delivered) {
      const at = userTexts(s.address).indexOf(s.input)
      if (at === -1) {
        assert.isTrue(epochOf(s.address) > s.epoch, `${s.input} to ${s.address} was accepted and lost ${where}`)
        continue
      }
      const key = `${s.from}->${s.address}`
      const list = positions.get(key) ?? []
      list.push(at)
      positions.set(key, list)
    }
    for (const [key, list] of positions) {
      assert.deepStrictEqual(list, [...list].sort((a, b) => a - b), `${key}: processed out of order ${where}`)
    }

    // Every async request that got a correlation id has exactly one reply in its caller's conversation.
    const asyncCalls = ledger.calls.filter((c): c is AgentCall & { outcome: { _tag: "Ok"; correlationId: string } } =>
      c.async && c.outcome?._tag === "Ok" && c.outcome.correlationId !== undefined
    )
    for (const call of asyncCalls) {
      const replies = (logs.get(call.caller) ?? []).filter((m) =>
        m.source.type === "agent" && m.source.kind === "reply" && m.source.correlationId === call.outcome.correlationId
      )
      assert.strictEqual(replies.length, 1, `${call.caller}: async reply ${call.outcome.correlationId} ${where}`)
    }

    // Every tool call in a conversation has exactly one result.
    for (const address of addresses) {
      const messages = logs.get(address) ?? []
      const results = new Map<string, number>()
      for (const m of messages) {
        if (m.data.role === "tool" && m.data.toolCallId !== undefined) {
          results.set(m.data.toolCallId, (results.get(m.data.toolCallId) ?? 0) + 1)
        }
      }
      for (const m of messages) {
        for (const call of m.data.toolCalls ?? []) {
          assert.strictEqual(results.get(call.id), 1, `${address}: tool call ${call.id} results ${where}`)
        }
      }
    }

    return { requests, sent, ledger, stats, counts, asyncCalls: asyncCalls.length, hours }
  }).pipe(Effect.provide(NodeContext.layer))

describe("regressions the soak found", () => {
  scopedTest(
    "a durable instance whose model call dies continues that turn after the restart: its message runs once",
    () =>
      Effect.gen(function*() {
        // Before the fix the turn loop recorded the crash as turn.failed, so the restarted instance found no
        // open turn and ran the same message again as a new turn: two user messages, a second answer.
        const { context } = yield* durableContext("es-orch-soak-")
        const bundle = yield* loadBundle
        let calls = 0
        const model = echoModel(() =>
          Effect.suspend(() =>
            ++calls === 1 ? Effect.zipRight(Effect.sleep("13 seconds"), Effect.die("boom")) : Effect.void
          )
        )
        const { orchestrator, scope } = yield* openDurable(bundle, "default", context, {
          models: { alpha: model.service, beta: model.service }
        })
        const reply = yield* Effect.fork(orchestrator.request("alpha@one", "hello"))
        yield* untilSleep(13_000)
        yield* TestClock.adjust("13 seconds")
        assert.strictEqual(text(yield* Fiber.join(reply)), "echo: hello")
        const log = yield* conversation(context, orchestrator.workspaceId, "alpha", "one")
        assert.deepStrictEqual(log.messages.map((m) => `${m.data.role}: ${Message.text(m.data)}`), [
          "user: hello",
          "assistant: echo: hello"
        ])
        assert.deepStrictEqual(model.calls, ["hello", "hello"])
        yield* closeOnClock(scope, Exit.void)
      }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("the orchestrator under a soak of faults (issue 16: Done when)", () => {
  // The committed seed; `SOAK_SEEDS=1,2,3 npx vitest run test/orchestrator/soak.test.ts` runs others.
  const seeds = process.env.SOAK_SEEDS === undefined ? [16] : process.env.SOAK_SEEDS.split(",").map(Number)
  for (const seed of seeds) {
    scopedTest(
      `seed ${seed}: hours of crashing tools and agents, restarts, stops and shutdowns; nothing lost or left hanging`,
      () =>
        Effect.gen(function*() {
          const result = yield* soak(seed)
          // What was injected and exercised (each at least once, whatever the seed).
          const { counts, ledger, stats } = result
          assert.isAbove(result.hours, 2)
          assert.isAbove(result.requests.replied, 0)
          assert.isAbove([...result.requests.typed.values()].reduce((a, b) => a + b, 0), 0)
          assert.isAbove(result.asyncCalls, 0)
          assert.isAbove(stats.crashes, 0)
          assert.isAbove(stats.failures, 0)
          assert.isAbove(ledger.work.failed, 0)
          assert.isAtLeast(counts.maxConsecutiveCrashes, 6, "a crash loop went through crashLoopBackOff")
          assert.isAbove(counts.crashedSeen, 0, "the restart-intensity limit stopped an instance")
          assert.isAbove(counts.restarts, 0)
          assert.isAbove(counts.stops, 0)
          assert.strictEqual(counts.shutdowns, SHUTDOWNS.length)
        }),
      240_000
    )
  }
})
