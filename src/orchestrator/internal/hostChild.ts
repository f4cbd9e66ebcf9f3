/**
 * The child-process host, parent side: one Node process per instance and generation, spawned with an IPC
 * channel (JSON messages checked by `hostProtocol`), in its own process group. The handshake (`Start` ->
 * `Ready`) waits `readyTimeout` on the Clock; the child opens the instance itself and writes its own
 * files. The process's exit completes that generation's `exited` only. `stop` asks for a shutdown, waits
 * `gracePeriod`, sends TERM to the group, waits `killGrace`, then KILL, and always reaps. With
 * `target.calls` the child's agents API calls are answered here (`hostBridge`); `abandon` is an `Abandon`
 * message the child answers once `Turn.abandon` recorded the interrupted turn (the requests and their
 * correlated answers: `hostChildRequests`).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as InheritedFds from "../../sandbox/internal/inheritedFds.js"
import * as Instances from "../../workspace/Instances.js"
import * as WorkspacePaths from "../../workspace/WorkspacePaths.js"
import * as AgentAddress from "../AgentAddress.js"
import type { Exit as HostExit, Hosted, Service, ShutdownReason, Target } from "../AgentHost.js"
import { AgentTurnFailed } from "../OrchestratorError.js"
import * as HostBridge from "./hostBridge.js"
import * as Requests from "./hostChildRequests.js"
import { describeExit, entry, signalGroup, tailLimit, unsupported } from "./hostChildSupport.js"
import type { ChildProcessOptions } from "./hostLayers.js"
import * as Protocol from "./hostProtocol.js"

/** Options of the child-process host: the public `AgentHost.ChildProcessOptions`, documented there. */
type ChildOptions = ChildProcessOptions

/** Starts one child for a target, in the scope. */
const startChild = (options: ChildOptions, stateRoot: string, fs: FileSystem.FileSystem, target: Target) =>
  Effect.gen(function*() {
    const label = AgentAddress.format(target.address)
    const refused = unsupported(target)
    if (refused !== undefined) {
      return yield* new AgentTurnFailed({ address: label, errorTag: "HostUnsupported", detail: refused })
    }
    const gracePeriod = Duration.decode(options.gracePeriod ?? "10 seconds")
    const killGrace = Duration.decode(options.killGrace ?? "5 seconds")
    const readyTimeout = Duration.decode(options.readyTimeout ?? "60 seconds")
    const inbox = yield* Queue.unbounded<unknown>()
    const exited = yield* Deferred.make<HostExit>()
    const ready = yield* Deferred.make<number, AgentTurnFailed>()
    let tail = ""
    // The first protocol violation that got the child killed: its exit reports it, not the signal.
    let violation: string | undefined
    let stopping: Deferred.Deferred<void> | undefined

    const { execArgv, file } = entry(options.entry)
    if (options.entry !== undefined) {
      // A missing entry would only show as an exit code 1 with Node's stack trace: say what is wrong instead.
      const found = yield* fs.stat(file).pipe(
        Effect.map((info) => info.type === "File"),
        Effect.orElseSucceed(() => false)
      )
      if (!found) {
        return yield* new AgentTurnFailed({
          address: label,
          errorTag: "HostEntryNotFound",
          detail: `the child entry ${file} (AgentHost.childProcess({ entry })) is not a file; build the bundle ` +
            "whose entry calls AgentHost.childMain(), or point `entry` at it (a path relative to the working " +
            `directory ${process.cwd()}, or absolute)`
        })
      }
    }
    const which = options.entry === undefined ? "" : ` (entry ${file})`
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        // Without the fds this process inherited (a supervisor's pipe): see `inheritedFds.ts`.
        const spawned = InheritedFds.spawnShielded(
          ["ignore", "pipe", "pipe", "ipc"],
          (stdio) =>
            ChildProcess.fork(file, [], {
              execArgv: [...execArgv, ...(options.execArgv ?? [])],
              env: { ...process.env, ...options.env },
              stdio,
              detached: true,
              serialization: "json"
            })
        )
        const keep = (chunk: Buffer) => {
          tail = (tail + chunk.toString("utf8")).slice(-tailLimit)
        }
        spawned.stdout?.on("data", keep)
        spawned.stderr?.on("data", keep)
        spawned.on("message", (message) => void Queue.unsafeOffer(inbox, message))
        spawned.on("error", (e) =>
          Deferred.unsafeDone(
            exited,
            Exit.succeed({ generation: target.generation, detail: `the child process failed: ${e.message}` })
          ))
        spawned.on("exit", (code, signal) =>
          Deferred.unsafeDone(
            exited,
            Exit.succeed({
              generation: target.generation,
              detail: violation === undefined ?
                describeExit(code, signal, tail) :
                `the child process broke the host protocol and was killed: ${violation}`
            })
          ))
        return spawned
      }),
      () => Effect.suspend(() => stop("orchestrator_shutdown"))
    )
    const pid = child.pid ?? -1

    const send = (message: Protocol.ToChild): Effect.Effect<void> =>
      Effect.sync(() => {
        if (!child.connected) return
        try {
          child.send(Protocol.encodeToChild(message), (e) => {
            // The channel closed under us: the exit that follows tells the orchestrator.
            if (e !== null) void e
          })
        } catch {
          // Same: the child is gone, `exited` completes.
        }
      })

    /** Kills a child that broke the protocol; the first `detail` is what its exit reports. */
    const kill = (detail: string) =>
      Effect.zipRight(
        Effect.logError(`${label} (generation ${target.generation}, pid ${pid}): ${detail}; killing it`),
        Effect.sync(() => {
          violation ??= detail
          signalGroup(pid, "SIGKILL")
        })
      )

    const exitedEffect = Deferred.await(exited)
    const requests = Requests.make({ label, generation: target.generation, gracePeriod, send, exited: exitedEffect })

    const route = (message: Protocol.ToParent): Effect.Effect<void> => {
      switch (message._tag) {
        case "Delta":
        case "Done":
        case "Failed":
        case "Cancelled":
        case "InLogResult":
        case "Abandoned":
          return requests.answer(message)
        case "Ready":
          return message.generation === target.generation ?
            Deferred.succeed(ready, message.pid).pipe(Effect.asVoid) :
            kill(`answered the handshake for generation ${message.generation}, expected ${target.generation}`)
        case "StartFailed":
          return Deferred.fail(
            ready,
            new AgentTurnFailed({ address: label, errorTag: message.errorTag, detail: message.detail })
          ).pipe(Effect.asVoid)
        case "Call":
          return bridge === undefined ?
            send({ _tag: "CallResult", id: message.id, answer: HostBridge.unavailable(message.op) }) :
            bridge.call(message)
        case "CallCancel":
          return bridge === undefined ? Effect.void : bridge.cancel(message.id)
        case "Rejected":
          return Effect.logError(`${label}: the child refused message ${message.message}: ${message.detail}`)
      }
    }

    // The child's agents API calls, answered as the instance this child was started for.
    const calls = target.calls
    const bridge = calls === undefined ? undefined : yield* HostBridge.make({
      calls,
      ref: { workspaceId: target.workspaceId, ...target.address },
      send
    })
    if (bridge !== undefined) {
      // The child is gone: its calls have no caller left (async requests live on in the AgentsApi).
      yield* Effect.forkScoped(Effect.zipRight(Deferred.await(exited), bridge.interruptAll))
    }

    // Every message from the child is decoded here, in arrival order.
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(Queue.take(inbox), (raw) =>
        Either.match(Protocol.decodeToParent(raw), {
          onLeft: (e) => kill(e.message),
          onRight: route
        })))
    )

    // `stop` runs uninterruptibly (finalizers): only this wait may be cut short by its timeout.
    const awaitExit = Effect.interruptible(exitedEffect)

    const stop = (reason: ShutdownReason): Effect.Effect<void> =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (stopping !== undefined) {
          return yield* Deferred.await(stopping)
        }
        const done = yield* Deferred.make<void>()
        stopping = done
        // A child that never answered the handshake ran no turn and has nothing to finish: KILL at once, so a
        // failed start is reaped before its requester hears of it (no grace period on the Clock).
        const handshake = yield* Deferred.poll(ready)
        const wasReady = Option.isSome(handshake) && Exit.isSuccess(yield* Effect.exit(handshake.value))
        if (!wasReady && !(yield* Deferred.isDone(exited))) {
          signalGroup(pid, "SIGKILL")
          yield* exitedEffect
        }
        if (!(yield* Deferred.isDone(exited))) {
          yield* send({ _tag: "Shutdown", reason })
          const graceful = yield* Effect.timeout(awaitExit, gracePeriod).pipe(Effect.option)
          if (Option.isNone(graceful)) {
            yield* Effect.logWarning(
              `${label} (pid ${pid}) did not shut down within ${Duration.format(gracePeriod)}: TERM`
            )
            signalGroup(pid, "SIGTERM")
            const termed = yield* Effect.timeout(awaitExit, killGrace).pipe(Effect.option)
            if (Option.isNone(termed)) {
              yield* Effect.logWarning(`${label} (pid ${pid}) ignored TERM for ${Duration.format(killGrace)}: KILL`)
              signalGroup(pid, "SIGKILL")
              yield* exitedEffect
            }
          }
        }
        // Whatever the child left in its group (tool subprocesses) goes with it.
        signalGroup(pid, "SIGKILL")
        yield* Deferred.succeed(done, undefined)
      }))

    yield* send({
      _tag: "Start",
      generation: target.generation,
      bundleRoot: target.bundle.root,
      stateRoot,
      swarm: target.swarm.resource.metadata.name,
      agent: target.address.agentName,
      instanceKey: target.address.instanceKey,
      workspaceId: target.workspaceId,
      ...(calls === undefined ? {} : { calls: { callable: calls.callable(target.address.agentName) } })
    })
    yield* Effect.raceFirst(
      Deferred.await(ready),
      Effect.flatMap(exitedEffect, (exit) =>
        violation === undefined ?
          new AgentTurnFailed({
            address: label,
            errorTag: "HostStartFailed",
            detail: `the child process${which} ended before it was ready: ${exit.detail}` +
              (options.entry === undefined ? "" : "; does the entry call AgentHost.childMain()?")
          }) :
          // It spoke, but not the protocol: say what did not decode (the field), not the signal.
          new AgentTurnFailed({
            address: label,
            errorTag: "HostProtocolError",
            detail: `the child process${which} (pid ${pid}) broke the host protocol during the handshake and ` +
              `was killed: ${violation}`
          }))
    ).pipe(
      Effect.timeoutFail({
        duration: readyTimeout,
        onTimeout: () =>
          new AgentTurnFailed({
            address: label,
            errorTag: "HostReadyTimeout",
            detail: `the child process${which} (pid ${pid}) was not ready within ${Duration.format(readyTimeout)}; ` +
              (options.entry === undefined ? "" : "check that the entry calls AgentHost.childMain(), or ") +
              `raise AgentHost.childProcess({ readyTimeout })${tail.length > 0 ? `; its output: ${tail.trim()}` : ""}`
          })
      })
    )

    const hosted: Hosted = {
      generation: target.generation,
      pid,
      run: requests.run,
      exited: exitedEffect,
      abandon: requests.abandon,
      inLog: requests.inLog,
      stop
    }
    return hosted
  })

/** The child-process host service. */
export const make = (options: ChildOptions = {}): Effect.Effect<Service, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stateRoot = yield* WorkspacePaths.resolveRoot(options.stateRoot)
    const instances = yield* Instances.make({ root: stateRoot })
    const service: Service = {
      kind: "childProcess",
      // The orchestrator's durable inbox lives beside the instances (the parent writes only that file).
      root: stateRoot,
      start: (target: Target): Effect.Effect<Hosted, AgentTurnFailed, Scope.Scope> =>
        startChild(options, stateRoot, fs, target),
      // Only when no child holds the instance: after it crashed for good, or was stopped.
      persistStatus: (workspaceId, address, status, reason) =>
        instances.setStatus({ workspaceId, ...address }, status, reason).pipe(
          Effect.catchAll((e) =>
            Effect.logWarning(`${AgentAddress.format(address)}: cannot record status ${status}: ${e.message}`)
          ),
          Effect.asVoid
        )
    }
    return service
  })
