/**
 * The Model kind.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as ValueSource from "../../ValueSource.js"
import { JsonObject, NonEmptyString, resource } from "./envelope.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const ModelSpec = Schema.Struct({
  provider: NonEmptyString,
  model: NonEmptyString,
  apiKey: Schema.optional(ValueSource.ValueSource),
  endpoint: Schema.optional(
    Schema.String.pipe(Schema.filter((s) => /^https?:\/\/[^\s]+$/.test(s) || "must be an http(s) URL"))
  ),
  options: Schema.optional(JsonObject),
  capabilities: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Boolean }))
})

/** @since 0.1.0 @category schemas */
export const Model = resource("Model", ModelSpec)
/** @since 0.1.0 @category models */
export type ModelResource = typeof Model.Type
