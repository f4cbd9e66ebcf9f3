/**
 * An `ExtensionState` service that keeps each state as JSON in memory: the state of extensions loaded
 * into an in-memory agent instance, which has no state root.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExtensionState, ExtensionStateNotObject, type State } from "../../workspace/ExtensionState.js"
import type { InstanceRef } from "../../workspace/WorkspacePaths.js"

const keyOf = (instance: InstanceRef, extension: string) =>
  JSON.stringify([instance.workspaceId, instance.agentName, instance.instanceKey, extension])

/** @internal */
export const make = (): ExtensionState["Type"] => {
  const states = new Map<string, string>()
  return ExtensionState.of({
    get: (instance, extension) =>
      Effect.sync(() => {
        const json = states.get(keyOf(instance, extension))
        return json === undefined ? Option.none() : Option.some(JSON.parse(json) as State)
      }),
    set: (instance, extension, value) =>
      Effect.suspend(() => {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          return Effect.fail(new ExtensionStateNotObject({ extension, received: typeof value }))
        }
        const key = keyOf(instance, extension)
        const json = JSON.stringify(value)
        if (states.get(key) === json) return Effect.succeed(false)
        states.set(key, json)
        return Effect.succeed(true)
      }),
    remove: (instance, extension) => Effect.sync(() => void states.delete(keyOf(instance, extension)))
  })
}
