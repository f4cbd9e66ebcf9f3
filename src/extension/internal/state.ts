/**
 * The state cells of one environment: each extension's state loaded once, changed in memory through
 * `api.state`, and written back through `ExtensionState` only when its content changed.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Json } from "../../conversation/Message.js"
import type * as ExtensionState from "../../workspace/ExtensionState.js"
import { ExtensionStateNotObject } from "../../workspace/ExtensionState.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"
import type { StateApi } from "../ExtensionApi.js"

interface Cell {
  current: ExtensionState.State | null
  /** The compact JSON of what is on disk (`null`: nothing). */
  saved: string | null
}

/** @internal */
export interface Cells {
  readonly load: (extension: string) => Effect.Effect<void, ExtensionState.ExtensionStateError>
  readonly api: (extension: string) => StateApi
  /** Writes every changed state; returns the names of the extensions written. */
  readonly save: Effect.Effect<ReadonlyArray<string>, ExtensionState.ExtensionStateError>
}

const isJson = Schema.is(Json)

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (value === undefined) return "undefined"
  if (Array.isArray(value)) return "an array"
  if (typeof value !== "object") return `a ${typeof value}`
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return "an instance of a class"
  return "an object containing a non-JSON value"
}

const isPlainObject = (value: unknown): value is ExtensionState.State => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return (proto === Object.prototype || proto === null) && isJson(value)
}

/**
 * The most characters of one extension's state as JSON (4 MiB). The state is read when the instance opens
 * and written at the end of every turn that changed it: a state that grows without end (a log kept in it)
 * would make every turn slower and the file unbounded.
 *
 * @internal
 */
export const maxStateChars = 4 * 1024 * 1024

const tooLarge = (extension: string, chars: number) =>
  new RangeError(
    `extension ${extension}: its state would be ${chars} characters of JSON, over the limit of ${maxStateChars}; ` +
      `keep large or growing data in files of your own (or trim it) and only references in the state`
  )

/** @internal */
export const make = (service: ExtensionState.Service, instance: InstanceRef): Cells => {
  const cells = new Map<string, Cell>()
  const cell = (extension: string): Cell => {
    let c = cells.get(extension)
    if (c === undefined) {
      c = { current: null, saved: null }
      cells.set(extension, c)
    }
    return c
  }

  const load = (extension: string) =>
    Effect.map(service.get(instance, extension), (stored) => {
      const c = cell(extension)
      c.current = Option.getOrNull(stored)
      c.saved = c.current === null ? null : JSON.stringify(c.current)
    })

  const api = (extension: string): StateApi => {
    const c = cell(extension)
    return {
      get: () => c.current,
      set: (value) => {
        if (!isPlainObject(value)) throw new ExtensionStateNotObject({ extension, received: describe(value) })
        const json = JSON.stringify(value)
        if (json.length > maxStateChars) throw tooLarge(extension, json.length)
        // A copy: later changes to the caller's object are not the state until set again.
        c.current = JSON.parse(json) as ExtensionState.State
      }
    }
  }

  // Compared by content at save time, so a change made in place on the object `get` returned counts too.
  const save = Effect.suspend(() => {
    const written: Array<string> = []
    return Effect.as(
      Effect.forEach(cells, ([extension, c]) => {
        if (c.current === null) return Effect.void
        // A change made in place may have put a value JSON cannot hold (a BigInt, a cycle, a function):
        // a typed error naming the extension, not a throw out of the turn.
        if (!isPlainObject(c.current)) {
          return Effect.fail(
            new ExtensionStateNotObject({ extension, received: `${describe(c.current)} (changed in place)` })
          )
        }
        const json = JSON.stringify(c.current)
        if (json === c.saved) return Effect.void
        // Grown in place past the limit: the file keeps what was saved last; the warning says why.
        if (json.length > maxStateChars) {
          return Effect.logWarning(`${tooLarge(extension, json.length).message}; the state is not saved`)
        }
        return Effect.map(service.set(instance, extension, c.current), () => {
          c.saved = json
          written.push(extension)
        })
      }, { discard: true }),
      written
    )
  })

  return { load, api, save }
}
