/**
 * The child-process host, child side: waits for `Start`, loads the bundle, opens its instance with
 * `AgentInstance.fromBundle` on its own workspace stores (it holds the instance's lock and writes its
 * conversation, runtime events and extension state), answers `Ready`, then runs `Run` messages one at a
 * time until `Shutdown` or until the parent goes away (the IPC channel closes): either way it interrupts
 * its turn (the turn stays open in the log, the next generation continues it), closes its scope and
 * exits. `Abandon` records an interrupted turn as abandoned (`Turn.abandon`). With `Start.calls` the
 * instance calls other agents through the parent (`childBridge`): `ctx.agents`, the `agents` tool and reply
 * delivery, and `ctx.callAgent` of its sandboxed tools.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as AgentInstance from "../../agent/AgentInstance.js"
import * as Turn from "../../agent/Turn.js"
import * as RuntimeConfig from "../../config/RuntimeConfig.js"
import * as EventBus from "../../event/EventBus.js"
import * as Bundle from "../../resource/Bundle.js"
import * as NativeTools from "../../sandbox/NativeTools.js"
import * as ToolRuntime from "../../sandbox/ToolRuntime.js"
import * as ExtensionState from "../../workspace/ExtensionState.js"
import * as Instances from "../../workspace/Instances.js"
import * as MessageStore from "../../workspace/MessageStore.js"
import * as RuntimeEventLog from "../../workspace/RuntimeEventLog.js"
import { attach } from "../AgentsTool.js"
import * as ChildBridge from "./childBridge.js"
import { describe, isCrash, logState, runTurn } from "./hostInProcess.js"
import * as Protocol from "./hostProtocol.js"

type Start = Extract<Protocol.ToChild, { readonly _tag: "Start" }>

const stores = (root: string, native: NativeTools.Service | undefined) =>
  Layer.mergeAll(
    MessageStore.layer({ root }),
    RuntimeEventLog.layer({ root }),
    Instances.layer({ root }),
    ExtensionState.layer({ root }),
    EventBus.layer(),
    // The default Node RuntimeConfig cannot fail to build. `ctx.callAgent` of sandboxed tools goes to the parent.
    ToolRuntime.layer.pipe(
      Layer.provide(Layer.orDie(RuntimeConfig.layer("node"))),
      Layer.provide(native === undefined ? Layer.empty : Layer.succeed(NativeTools.NativeTools, native))
    )
  ).pipe(Layer.provideMerge(NodeContext.layer))

const send = (message: Protocol.ToParent): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (process.send === undefined || !process.connected) return resume(Effect.void)
    try {
      process.send(Protocol.encodeToParent(message), undefined, {}, () => resume(Effect.void))
    } catch {
      resume(Effect.void)
    }
  })

const serve = (start: Start, inbox: Queue.Queue<unknown>, gone: Deferred.Deferred<void>) => {
  const ref = { workspaceId: start.workspaceId, agentName: start.agent, instanceKey: start.instanceKey }
  const bridge = start.calls === undefined ?
    undefined :
    ChildBridge.make({ ref, callable: start.calls.callable, send })
  return Effect.gen(function*() {
    const opened = yield* Effect.either(Effect.gen(function*() {
      const bundle = yield* Bundle.load(start.bundleRoot, { stateRoot: start.stateRoot })
      const instance = yield* AgentInstance.fromBundle(bundle, {
        agent: start.agent,
        instanceKey: start.instanceKey,
        swarm: start.swarm,
        workspaceId: start.workspaceId,
        ...(bridge === undefined ? {} : { agents: bridge.service.forInstance(ref) })
      })
      // The agents tool and reply delivery, as in-process instances get them.
      if (bridge !== undefined) yield* attach(bridge.service, instance)
      return instance
    }))
    if (Either.isLeft(opened)) {
      return yield* send({ _tag: "StartFailed", errorTag: opened.left._tag, detail: opened.left.message })
    }
    const instance = opened.right
    yield* send({ _tag: "Ready", generation: start.generation, pid: process.pid })

    const running = new Map<number, Fiber.RuntimeFiber<void, unknown>>()
    const crashed = yield* Deferred.make<void>()

    const runOne = (message: Extract<Protocol.ToChild, { readonly _tag: "Run" }>) =>
      runTurn(instance, message.input, {
        resume: message.resume,
        ...(message.stream ?
          { onDelta: (stepIndex, part) => send({ _tag: "Delta", id: message.id, stepIndex, part }) } :
          {})
      }).pipe(
        Effect.onExit((exit) => {
          running.delete(message.id)
          if (Exit.isSuccess(exit)) return send({ _tag: "Done", id: message.id, result: exit.value })
          if (Cause.isInterruptedOnly(exit.cause)) return send({ _tag: "Cancelled", id: message.id })
          const crash = isCrash(exit.cause)
          return Effect.zipRight(
            send({ _tag: "Failed", id: message.id, ...describe(exit.cause), crash }),
            // The instance's storage failed: this process ends, the next generation reopens it from its files.
            crash ? Deferred.succeed(crashed, undefined) : Effect.void
          )
        }),
        Effect.asVoid
      )

    const handle = (raw: unknown): Effect.Effect<boolean, never, Scope.Scope> =>
      Either.match(Protocol.decodeToChild(raw), {
        onLeft: (e) => Effect.as(send({ _tag: "Rejected", message: e.received, detail: e.detail }), true),
        onRight: (message) => {
          switch (message._tag) {
            case "Run":
              return Effect.as(
                Effect.tap(
                  Effect.forkScoped(runOne(message)),
                  (fiber) => Effect.sync(() => running.set(message.id, fiber))
                ),
                true
              )
            case "Cancel": {
              const fiber = running.get(message.id)
              // Awaited: the next Run starts only after the cancelled turn let go of the instance.
              return Effect.as(fiber === undefined ? Effect.void : Fiber.interrupt(fiber), true)
            }
            case "CallResult":
              return Effect.as(bridge === undefined ? Effect.void : bridge.answer(message.id, message.answer), true)
            case "Abandon":
              // After `Cancel` (handled before it, in order): the turn has let go of the instance.
              return Turn.abandon(instance, message.reason).pipe(
                Effect.matchEffect({
                  onSuccess: () => send({ _tag: "Abandoned", id: message.id }),
                  onFailure: (e) => send({ _tag: "Abandoned", id: message.id, error: e.message })
                }),
                Effect.as(true)
              )
            case "InLog":
              return logState(instance, message.ids).pipe(
                Effect.flatMap((found) =>
                  send({
                    _tag: "InLogResult",
                    id: message.id,
                    started: found.started,
                    ...(found.open === undefined ? {} : { open: found.open })
                  })
                ),
                Effect.as(true)
              )
            case "Shutdown":
              return Effect.succeed(false)
            case "Start":
              return Effect.as(
                send({ _tag: "Rejected", message: "Start", detail: "this child already started its instance" }),
                true
              )
          }
        }
      })

    const loop = Effect.iterate(true, {
      while: (go) => go,
      body: () => Effect.flatMap(Queue.take(inbox), handle)
    })
    yield* Effect.raceFirst(loop, Effect.raceFirst(Deferred.await(gone), Deferred.await(crashed)))
    // Shutdown, the parent gone, or a crash: running turns are interrupted (they stay open in the log), and
    // calls still waiting (none should be) fail.
    yield* Effect.forEach(running.values(), Fiber.interrupt, { discard: true })
    if (bridge !== undefined) yield* bridge.close
  }).pipe(Effect.scoped, Effect.provide(stores(start.stateRoot, bridge?.service.nativeTools(start.workspaceId))))
}

/** The child's program: the handshake, then its instance's turns, until shutdown. */
export const main: Effect.Effect<void> = Effect.gen(function*() {
  const inbox = yield* Queue.unbounded<unknown>()
  const gone = yield* Deferred.make<void>()
  const onMessage = (message: unknown) => void Queue.unsafeOffer(inbox, message)
  const onDisconnect = () => Deferred.unsafeDone(gone, Exit.void)
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      process.on("message", onMessage)
      process.on("disconnect", onDisconnect)
    }),
    () =>
      Effect.sync(() => {
        process.off("message", onMessage)
        process.off("disconnect", onDisconnect)
        // Nothing else keeps this process alive: it exits once the channel closes.
        if (process.connected) process.disconnect()
      })
  )
  const first = yield* Effect.raceFirst(
    Effect.map(Queue.take(inbox), Protocol.decodeToChild),
    Effect.as(Deferred.await(gone), undefined)
  )
  if (first === undefined) return
  if (Either.isLeft(first) || first.right._tag !== "Start") {
    const detail = Either.isLeft(first) ? first.left.detail : `expected Start, got ${first.right._tag}`
    return yield* send({ _tag: "StartFailed", errorTag: "HostProtocolError", detail })
  }
  yield* serve(first.right, inbox, gone)
}).pipe(Effect.scoped)

/** Runs the child's program as this process's main (the child entry, `AgentHost.childMain`). */
export const run = (): void => NodeRuntime.runMain(main, { disableErrorReporting: false })
