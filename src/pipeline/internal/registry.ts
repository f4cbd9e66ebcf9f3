/**
 * The pipeline's registry of middlewares: one sorted list per kind (lower `priority` outer, ties in
 * registration order), replaced on each registration so that a run's snapshot is just the current array.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Kind, MiddlewareOf, RegisterOptions } from "../Middleware.js"
import type { Registered } from "./run.js"

/** @internal */
export interface Registry {
  /** The current list of each kind (read by a run when it starts). */
  readonly lists: Readonly<Record<Kind, ReadonlyArray<Registered>>>
  readonly register: <K extends Kind>(
    kind: K,
    middleware: MiddlewareOf<K>,
    options?: RegisterOptions
  ) => Effect.Effect<void>
}

/** An empty registry; a middleware registered without a name is named `<kind>#<n>`. @internal */
export const make = (): Registry => {
  const lists: Record<Kind, ReadonlyArray<Registered>> = { turn: [], step: [], toolCall: [] }
  let order = 0
  const counts: Record<Kind, number> = { turn: 0, step: 0, toolCall: 0 }
  const register = <K extends Kind>(kind: K, middleware: MiddlewareOf<K>, options?: RegisterOptions) =>
    Effect.sync(() => {
      counts[kind]++
      const entry: Registered = {
        middleware: middleware as Registered["middleware"],
        priority: options?.priority ?? 0,
        order: order++,
        name: options?.name ?? `${kind}#${counts[kind]}`
      }
      lists[kind] = [...lists[kind], entry].sort((a, b) => a.priority - b.priority || a.order - b.order)
    })
  return { lists, register }
}
