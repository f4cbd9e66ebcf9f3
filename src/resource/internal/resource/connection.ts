/**
 * The Connection kind: a connector bound to a swarm, with ingress rules.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as ValueSource from "../../ValueSource.js"
import * as IssueMessage from "../issueMessage.js"
import { NonEmptyString, ref, resource } from "./envelope.js"

/**
 * An ingress rule: the first rule whose `match` fits an event routes it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IngressRule = Schema.Struct({
  match: Schema.optional(Schema.Struct({
    event: Schema.optional(NonEmptyString),
    properties: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
    )
  })),
  route: Schema.Struct({
    agentRef: Schema.optional(ref("Agent")),
    instanceKey: Schema.optional(NonEmptyString),
    instanceKeyProperty: Schema.optional(NonEmptyString),
    instanceKeyPrefix: Schema.optional(Schema.String)
  }).pipe(
    Schema.filter((r) =>
      r.instanceKey !== undefined && r.instanceKeyProperty !== undefined ?
        IssueMessage.encode("route.instanceKey and route.instanceKeyProperty cannot be used together", {
          suggestion: "use a fixed instanceKey or take it from an event property, not both"
        }) :
        true
    )
  )
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConnectionSpec = Schema.Struct({
  connectorRef: ref("Connector"),
  swarmRef: Schema.optional(ref("Swarm")),
  config: Schema.optional(Schema.Record({ key: Schema.String, value: ValueSource.ValueSource })),
  secrets: Schema.optional(Schema.Record({ key: Schema.String, value: ValueSource.ValueSource })),
  verify: Schema.optional(Schema.Struct({
    webhook: Schema.optional(Schema.Struct({ signingSecret: ValueSource.ValueSource }))
  })),
  ingress: Schema.optional(Schema.Struct({
    rules: Schema.optional(Schema.Array(IngressRule))
  }))
})

/** @since 0.1.0 @category schemas */
export const Connection = resource("Connection", ConnectionSpec)
/** @since 0.1.0 @category models */
export type ConnectionResource = typeof Connection.Type
/** @since 0.1.0 @category models */
export type IngressRule = typeof IngressRule.Type
