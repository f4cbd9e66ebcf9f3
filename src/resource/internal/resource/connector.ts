/**
 * The Connector kind and the events it declares.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as IssueMessage from "../issueMessage.js"
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
  /** The module exporting `run(ctx)`, relative to the bundle root (exactly one of `entry` or `builtin`). */
  entry: Schema.optional(RelativePath("entry")),
  /** A connector built into the runtime (`http`, `cli`, or one registered through `Connectors.run` options). */
  builtin: Schema.optional(Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9-]*$/, {
    message: () => "builtin must be a connector name such as \"http\" or \"cli\" (lowercase letters, digits, -)"
  }))),
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
}).pipe(
  Schema.filter((spec) =>
    spec.entry === undefined && spec.builtin === undefined ?
      IssueMessage.encode("a Connector needs an entry module or a builtin connector", {
        suggestion: "add entry: ./connectors/<name>.ts (a module exporting run(ctx)) or builtin: http"
      }) :
      spec.entry !== undefined && spec.builtin !== undefined ?
      IssueMessage.encode("entry and builtin cannot be used together", { suggestion: "keep exactly one of them" }) :
      true
  )
)

/** @since 0.1.0 @category schemas */
export const Connector = resource("Connector", ConnectorSpec)
/** @since 0.1.0 @category models */
export type ConnectorResource = typeof Connector.Type
