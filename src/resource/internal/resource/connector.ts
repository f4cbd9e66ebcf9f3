/**
 * The Connector kind and the events it declares.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { NonEmptyString, RelativePath, resource, show } from "./envelope.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConnectorEvent = Schema.Struct({
  name: NonEmptyString,
  properties: Schema.optional(Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      type: Schema.Literal("string", "number", "boolean"),
      optional: Schema.optional(Schema.Boolean)
    })
  }))
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConnectorSpec = Schema.Struct({
  entry: RelativePath("entry"),
  events: Schema.Array(ConnectorEvent).pipe(
    Schema.filter((xs) => {
      if (xs.length === 0) return "a Connector must declare at least one event"
      const seen = new Set<string>()
      for (let i = 0; i < xs.length; i++) {
        const name = xs[i]!.name
        if (seen.has(name)) return { path: [i, "name"], message: `duplicate event name ${show(name)}` }
        seen.add(name)
      }
      return true
    })
  )
})

/** @since 0.1.0 @category schemas */
export const Connector = resource("Connector", ConnectorSpec)
/** @since 0.1.0 @category models */
export type ConnectorResource = typeof Connector.Type
