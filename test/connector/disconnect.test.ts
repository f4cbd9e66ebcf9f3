/**
 * A waiter that goes away stops only its own wait: the turn goes on, is recorded, and its reply still
 * reaches whoever else listens. The http connector on loopback with a client that disconnects during
 * `?wait=reply`; a connector module stopped during `ctx.request`. The model blocks until the test releases
 * it, so each step happens at a known point; nothing sleeps.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Logger, Queue, Scope, Stream } from "effect"
import type { Connector, Model } from "effect-swarm"
import { Connectors, EventBus, Orchestrator } from "effect-swarm"
import { baseLayer, bundleOf, echoModel, event, moduleConnectorYaml, readSse, serve, webYaml } from "./helpers.js"

declare global {
  var __disconnectProbe: ((ctx: Connector.ConnectorContext) => void) | undefined
  var __restartProbe: ((ctx: Connector.ConnectorContext, start: number) => Promise<void>) | undefined
}

const tickerYaml = (entry: string) =>
  moduleConnectorYaml("ticker", entry, ["tick"], "  ingress:\n    rules:\n      - route: { instanceKey: ticks }\n")

/** `echoModel`, but each call first says it was called and waits for `release`. */
const blocking = (agent: string, called: Queue.Queue<void>, release: Deferred.Deferred<void>): Model.Service => {
  const echo = echoModel(agent, [])
  const gate = Effect.zipRight(Queue.offer(called, undefined), Deferred.await(release))
  return {
    ...echo,
    generate: (request) => Effect.zipRight(gate, echo.generate(request)),
    stream: (request) => Stream.unwrap(Effect.as(gate, echo.stream(request)))
  }
}

/** Log messages, as the runtime logs them. */
const logged = Effect.map(Queue.unbounded<string>(), (queue) => ({
  queue,
  layer: Logger.add(Logger.make(({ message }) => {
    queue.unsafeOffer((Array.isArray(message) ? message : [message]).map(String).join(" "))
  }))
}))

const takeUntil = <A>(queue: Queue.Dequeue<A>, found: (a: A) => boolean) =>
  Effect.gen(function*() {
    while (true) {
      const a = yield* Queue.take(queue)
      if (found(a)) return a
    }
  })

describe("a waiter that goes away", () => {
  it.scoped("http ?wait=reply: the client disconnects; its wait is interrupted, the turn completes and its reply reaches the instance's stream", () =>
    Effect.gen(function*() {
      const called = yield* Queue.unbounded<void>()
      const release = yield* Deferred.make<void>()
      const logs = yield* logged
      yield* Effect.gen(function*() {
        const { url } = yield* serve({ "connectors.yaml": webYaml() }, undefined, {
          front: blocking("front", called, release)
        })
        const bus = yield* EventBus.EventBus
        const runtime = yield* bus.subscribe
        // Someone else listens to the instance.
        const watching = yield* Effect.promise(() => fetch(`${url}/instances/front@u-gone/events`))
        const watched = yield* Effect.fork(Effect.promise(() => readSse(watching, (e) => e.event === "reply")))

        const client = new AbortController()
        const waiting = yield* Effect.fork(Effect.promise(() =>
          fetch(`${url}/connections/web-in/events?wait=reply`, {
            method: "POST",
            body: event("are you there?", "gone"),
            signal: client.signal
          }).then((r) => `status ${r.status}`, (e: Error) => e.name)
        ))
        yield* Queue.take(called) // the turn runs: the model was called
        client.abort()
        assert.strictEqual(yield* waiting.await.pipe(Effect.flatMap(Effect.orDie)), "AbortError")
        // The server noticed: the request's wait was interrupted while the turn still runs.
        yield* takeUntil(logs.queue, (m) => m.includes("stopped waiting for the reply of front@u-gone"))

        yield* Deferred.succeed(release, undefined)
        const completed = yield* takeUntil(runtime, (e) => e.type === "turn.completed" && e.instanceKey === "u-gone")
        assert.strictEqual(completed.type === "turn.completed" ? completed.finishReason : "", "text_response")
        const seen = yield* Effect.orDie(watched.await.pipe(Effect.flatMap((exit) => exit)))
        const reply = seen.at(-1)!
        assert.strictEqual(reply.event, "reply")
        assert.strictEqual(reply.data.text, "front: are you there?")
      }).pipe(Effect.provide(logs.layer))
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("a connector module stopped during ctx.request: the wait ends, the turn is not cancelled and completes", () =>
    Effect.gen(function*() {
      const called = yield* Queue.unbounded<void>()
      const release = yield* Deferred.make<void>()
      const requested = yield* Deferred.make<Promise<Connector.Reply>>()
      globalThis.__disconnectProbe = (ctx) => {
        Deferred.unsafeDone(requested, Exit.succeed(ctx.request({ name: "tick", text: "tock" })))
      }
      const bundle = yield* bundleOf({
        "connectors.yaml": tickerYaml("ticker.mjs"),
        "ticker.mjs": `export default async function run(ctx) {
  globalThis.__disconnectProbe(ctx)
  await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
}
`
      })
      const orchestrator = yield* Orchestrator.makeInMemory(bundle, undefined, {
        models: { front: blocking("front", called, release), back: echoModel("back", []) }
      })
      const runtime = yield* (yield* EventBus.EventBus).subscribe
      const scope = yield* Scope.make()
      yield* Connectors.run(bundle, orchestrator).pipe(Scope.extend(scope))
      const pending = yield* Deferred.await(requested)
      yield* Queue.take(called) // the turn runs
      // The connector stops (a restart or the runner's shutdown): its wait ends, rejected.
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Effect.promise(() => pending.then(() => "resolved", () => "rejected")), "rejected")
      yield* Deferred.succeed(release, undefined)
      const ended = yield* takeUntil(
        runtime,
        (e) => (e.type === "turn.completed" || e.type === "turn.failed") && e.instanceKey === "ticks"
      )
      assert.strictEqual(ended.type, "turn.completed")
      assert.strictEqual(ended.type === "turn.completed" ? ended.finishReason : "", "text_response")
    }).pipe(Effect.provide(baseLayer)))

  it.scoped("onReply across a connector restart: the crashed start's handlers go with it; the turns it started complete, their replies reach no handler", () =>
    Effect.gen(function*() {
      const called = yield* Queue.unbounded<void>()
      const release = yield* Deferred.make<void>()
      const delivered: Array<string> = []
      const restarted = yield* Deferred.make<Connector.ConnectorContext>()
      globalThis.__restartProbe = async (ctx, start) => {
        ctx.onReply((reply) => {
          delivered.push(`start ${start}: ${reply.text}`)
        })
        if (start === 1) {
          await ctx.emit({ name: "tick", text: "before the crash" })
          throw new Error("crash after emit")
        }
        Deferred.unsafeDone(restarted, Exit.succeed(ctx))
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
      }
      const bundle = yield* bundleOf({
        "connectors.yaml": tickerYaml("restarting.mjs"),
        "restarting.mjs": `let starts = 0
export default async function run(ctx) {
  await globalThis.__restartProbe(ctx, ++starts)
}
`
      })
      const orchestrator = yield* Orchestrator.makeInMemory(bundle, undefined, {
        models: { front: blocking("front", called, release), back: echoModel("back", []) }
      })
      const runtime = yield* (yield* EventBus.EventBus).subscribe
      const connectors = yield* Connectors.run(bundle, orchestrator)
      // The first start emitted (accepted: the turn runs, its model call waits) and crashed; the second runs.
      const ctx = yield* Deferred.await(restarted)
      yield* Queue.take(called)
      yield* Deferred.succeed(release, undefined)
      const first = yield* takeUntil(runtime, (e) => e.type === "turn.completed" && e.instanceKey === "ticks")
      assert.strictEqual(first.type === "turn.completed" ? first.finishReason : "", "text_response")
      // The restarted start's handler gets the replies of what it emits itself, not the crashed start's.
      const second = yield* Effect.promise(() => ctx.request({ name: "tick", text: "after the restart" }))
      assert.strictEqual(second.text, "front: after the restart")
      yield* Effect.promise(() => ctx.emit({ name: "tick", text: "emitted after the restart" }))
      // One mailbox per instance, in order: when this request's reply is back, the emitted turn's is delivered.
      yield* Effect.promise(() => ctx.request({ name: "tick", text: "flush" }))
      assert.deepStrictEqual(delivered, ["start 2: front: emitted after the restart"])
      const status = (yield* connectors.status).find((c) => c.connection === "ticker-in")!
      assert.strictEqual(status.restarts, 1)
    }).pipe(Effect.provide(baseLayer)))
})
