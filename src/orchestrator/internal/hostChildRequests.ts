/**
 * The child-process host's requests to one child, parent side: a turn (`Run`, with its streamed deltas and
 * its `Cancel` when the requester gives up), the recovered-inbox question (`InLog`) and the abandon of an
 * interrupted turn (`Abandon`), each under its own id and settled by the child's correlated answer, or
 * failed with `HostCrashed` when the child exits first.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { TurnResult } from "../../pipeline/Middleware.js"
import type { Exit as HostExit, Hosted, RunOptions } from "../AgentHost.js"
import { AgentTurnFailed, HostCrashed } from "../OrchestratorError.js"
import * as Protocol from "./hostProtocol.js"

/** The child's answers to the parent's requests. */
export type Answer = Extract<
  Protocol.ToParent,
  { readonly _tag: "Delta" | "Done" | "Failed" | "Cancelled" | "InLogResult" | "Abandoned" }
>

interface RunSlot {
  readonly reply: Deferred.Deferred<TurnResult, AgentTurnFailed | HostCrashed>
  readonly options: RunOptions
}

interface InLog {
  readonly started: ReadonlyArray<string>
  readonly open: string | undefined
}

/** The requests to one child (`Hosted.run`, `inLog`, `abandon`), and where its answers settle them. */
export interface Requests {
  readonly run: Hosted["run"]
  readonly inLog: (ids: ReadonlyArray<string>) => Effect.Effect<InLog, HostCrashed>
  readonly abandon: (reason: string) => Effect.Effect<void, HostCrashed>
  /** Settles the request an answer is for (an answer for none, e.g. after a cancel, is dropped). */
  readonly answer: (message: Answer) => Effect.Effect<void>
}

export const make = (child: {
  /** The instance's address, for errors. */
  readonly label: string
  readonly generation: number
  /** How long the child may take to record an abandoned turn. */
  readonly gracePeriod: Duration.Duration
  readonly send: (message: Protocol.ToChild) => Effect.Effect<void>
  /** Completes when the child process has exited. */
  readonly exited: Effect.Effect<HostExit>
}): Requests => {
  const { exited, generation, gracePeriod, label, send } = child
  const runs = new Map<number, RunSlot>()
  const queries = new Map<number, Deferred.Deferred<InLog>>()
  const abandons = new Map<number, Deferred.Deferred<string | undefined>>()
  let nextRun = 0

  const answer = (message: Answer): Effect.Effect<void> => {
    switch (message._tag) {
      case "Delta": {
        const onDelta = runs.get(message.id)?.options.onDelta
        return onDelta === undefined ? Effect.void : onDelta(message.stepIndex, message.part)
      }
      case "Done": {
        const slot = runs.get(message.id)
        runs.delete(message.id)
        return slot === undefined ? Effect.void : Deferred.succeed(slot.reply, message.result).pipe(Effect.asVoid)
      }
      case "Failed": {
        const slot = runs.get(message.id)
        runs.delete(message.id)
        if (slot === undefined) return Effect.void
        const error = message.crash ?
          new HostCrashed({ address: label, generation, detail: message.detail }) :
          new AgentTurnFailed({ address: label, errorTag: message.errorTag, detail: message.detail })
        return Deferred.fail(slot.reply, error).pipe(Effect.asVoid)
      }
      case "Cancelled": {
        const slot = runs.get(message.id)
        runs.delete(message.id)
        return slot === undefined ? Effect.void : Deferred.interrupt(slot.reply).pipe(Effect.asVoid)
      }
      case "InLogResult": {
        const query = queries.get(message.id)
        queries.delete(message.id)
        return query === undefined ?
          Effect.void :
          Deferred.succeed(query, { started: message.started, open: message.open }).pipe(Effect.asVoid)
      }
      case "Abandoned": {
        const waiting = abandons.get(message.id)
        abandons.delete(message.id)
        return waiting === undefined ? Effect.void : Deferred.succeed(waiting, message.error).pipe(Effect.asVoid)
      }
    }
  }

  const run: Requests["run"] = (input, runOptions) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const id = nextRun++
        const reply = yield* Deferred.make<TurnResult, AgentTurnFailed | HostCrashed>()
        runs.set(id, { reply, options: runOptions })
        yield* send({
          _tag: "Run",
          id,
          input: Protocol.wireInput(input),
          resume: runOptions.resume,
          stream: runOptions.onDelta !== undefined
        })
        return yield* restore(Effect.raceFirst(
          Deferred.await(reply),
          Effect.flatMap(
            exited,
            (exit) => new HostCrashed({ address: label, generation, detail: exit.detail })
          )
        )).pipe(
          // The requester gave up: the child interrupts the turn (it stays open in the log).
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              if (!runs.delete(id)) return Effect.void
              return send({ _tag: "Cancel", id })
            })
          )
        )
      })
    )

  // Asks the child which recovered inbox messages its log already holds (the child owns the log).
  const inLog = (ids: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const id = nextRun++
      const answer = yield* Deferred.make<InLog>()
      queries.set(id, answer)
      yield* send({ _tag: "InLog", id, ids })
      return yield* Effect.raceFirst(
        Deferred.await(answer),
        Effect.flatMap(exited, (exit) => new HostCrashed({ address: label, generation, detail: exit.detail }))
      ).pipe(Effect.ensuring(Effect.sync(() => queries.delete(id))))
    })

  // The child records its interrupted turn as abandoned (it owns the log); after `Cancel`, in order. A child
  // that does not answer within the grace period (its event loop blocked) fails it: the caller stops it
  // anyway (a stop, a timeout), and the turn stays open in its log. Interruptible: it runs in finalizers.
  const abandon = (reason: string) =>
    Effect.gen(function*() {
      const id = nextRun++
      const answer = yield* Deferred.make<string | undefined>()
      abandons.set(id, answer)
      yield* send({ _tag: "Abandon", id, reason })
      const error = yield* Effect.raceFirst(
        Deferred.await(answer),
        Effect.flatMap(exited, (exit) => new HostCrashed({ address: label, generation, detail: exit.detail }))
      ).pipe(
        Effect.interruptible,
        Effect.timeoutFail({
          duration: gracePeriod,
          onTimeout: () =>
            new HostCrashed({
              address: label,
              generation,
              detail: `the child did not record its interrupted turn within ${Duration.format(gracePeriod)}`
            })
        }),
        Effect.ensuring(Effect.sync(() => abandons.delete(id)))
      )
      if (error !== undefined) {
        return yield* new HostCrashed({ address: label, generation, detail: error })
      }
    })

  return { run, inLog, abandon, answer }
}
