// What the provider tests do with a model's stream: collect its parts, and take the Finish part's response.
import { assert } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import type { Model } from "effect-swarm"

export const collect = <E>(stream: Stream.Stream<Model.StreamPart, E>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** The response of the last part, which must be the Finish. */
export const finish = (parts: ReadonlyArray<Model.StreamPart>): Model.Response => {
  const last = parts[parts.length - 1]!
  assert.strictEqual(last._tag, "Finish")
  return (last as Extract<Model.StreamPart, { _tag: "Finish" }>).response
}
