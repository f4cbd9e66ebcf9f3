/**
 * Connector events and their routing: an event is checked against the events its Connector declares
 * (`spec.events`: name, property types, optional properties), then routed by the Connection's ingress
 * rules to an agent instance of the Swarm.
 *
 * Routing (the reference's rules, N3): the first rule whose `match` fits wins (`match.event` equal when
 * set, every `match.properties` entry equal after stringifying, AND; a rule without `match` is a
 * catch-all). The agent is the rule's `route.agentRef`, else the Swarm's entry agent. The instance key is
 * the rule's `route.instanceKey`, else `route.instanceKeyPrefix + properties[route.instanceKeyProperty]`
 * when that property is set and not blank, else the event's `instanceKey`, else `default`. A Connection
 * without rules sends every event to the entry agent. A Connection with rules of which none matches
 * returns {@link ConnectorError.IngressNoMatch} to the connector (the reference dropped the event
 * silently).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { ConnectionResource, ConnectorResource } from "../resource/Resource.js"
import { ConnectorEventInvalid, IngressNoMatch, type RoutingError } from "./ConnectorError.js"

/**
 * The content of an event (goondan's shapes): text, or an image or file by URL.
 *
 * @since 0.1.0
 * @category models
 */
export type EventMessage =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly url: string }
  | { readonly type: "file"; readonly url: string; readonly name?: string | undefined }

/**
 * An event a connector emits. `message` is goondan's field; `text` is a shorthand for a text message.
 * `properties` are checked against the Connector's declared event properties. `instanceKey` is used
 * when no ingress rule sets one.
 *
 * @example
 * ```ts
 * import type { Ingress } from "effect-swarm"
 * const event: Ingress.Event = {
 *   name: "stdin_message",
 *   message: { type: "text", text: "hello" },
 *   properties: { channel: "main" },
 *   instanceKey: "local"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  readonly name: string
  readonly message?: EventMessage | undefined
  readonly text?: string | undefined
  readonly properties?: Readonly<Record<string, string | number | boolean>> | undefined
  readonly instanceKey?: string | undefined
}

/**
 * Where an event goes, and the text of the turn it starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Route {
  readonly agentName: string
  readonly instanceKey: string
  /** The index of the rule that matched; `undefined` when the Connection has no rules. */
  readonly rule: number | undefined
  /** The turn's input text (`[image] <url>` / `[file:<name>] <url>` for those messages). */
  readonly text: string
  readonly event: string
  /** The event's properties, as strings. */
  readonly properties: Readonly<Record<string, string>>
}

/**
 * What routing needs to know of a Connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly connection: ConnectionResource
  readonly connector: ConnectorResource
  /** The Swarm's entry agent (the default route). */
  readonly entryAgent: string
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const textOf = (event: Record<string, unknown>): Either.Either<string, string> => {
  const m = event.message
  if (m === undefined) {
    return typeof event.text === "string" ?
      Either.right(event.text) :
      Either.left("the event has neither message nor text")
  }
  if (!isRecord(m)) return Either.left("message must be { type: \"text\", text } (or image / file with url)")
  if (m.type === "text" && typeof m.text === "string") return Either.right(m.text)
  if (m.type === "image" && typeof m.url === "string") return Either.right(`[image] ${m.url}`)
  if (m.type === "file" && typeof m.url === "string") {
    return Either.right(`[file:${typeof m.name === "string" && m.name.length > 0 ? m.name : "file"}] ${m.url}`)
  }
  return Either.left(
    `message ${JSON.stringify(m)} is not { type: "text", text }, { type: "image", url } or { type: "file", url, name? }`
  )
}

/**
 * Checks an event (any value a connector passed) against its Connector's declared events, and routes it
 * by the Connection's ingress rules.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import type { Ingress } from "effect-swarm"
 * import { Ingress as I } from "effect-swarm"
 * declare const target: Ingress.Target
 * const routed = I.route(target, { name: "stdin_message", text: "hi", properties: { line: "hi" } })
 * if (Either.isRight(routed)) console.log(`${routed.right.agentName}@${routed.right.instanceKey}`)
 * ```
 *
 * @since 0.1.0
 * @category routing
 */
export const route = (target: Target, input: unknown): Either.Either<Route, RoutingError> => {
  const connection = target.connection.metadata.name
  const connector = target.connector.metadata.name
  const declared = target.connector.spec.events
  const eventName = isRecord(input) && typeof input.name === "string" ? input.name : String(
    isRecord(input) ? input.name : input
  )
  const invalid = (detail: string, suggestion: string, property?: string) =>
    Either.left(new ConnectorEventInvalid({ connection, connector, event: eventName, property, detail, suggestion }))
  if (!isRecord(input) || typeof input.name !== "string") {
    return invalid(
      `an event must be an object with a string name, got ${JSON.stringify(input) ?? String(input)}`,
      `emit { name: ${JSON.stringify(declared[0]?.name ?? "event")}, message: { type: "text", text } }`
    )
  }
  const spec = declared.find((e) => e.name === input.name)
  if (spec === undefined) {
    return invalid(
      `Connector/${connector} declares no event ${JSON.stringify(input.name)}`,
      `declared events: ${declared.map((e) => e.name).join(", ")}; declare it in the Connector's spec.events`
    )
  }
  const text = textOf(input)
  if (Either.isLeft(text)) return invalid(text.left, "send message: { type: \"text\", text: \"...\" }", "message")
  const rawProps = input.properties ?? {}
  if (!isRecord(rawProps)) {
    return invalid("properties must be an object of strings, numbers and booleans", "e.g. { channel: \"main\" }")
  }
  const properties: Record<string, string> = {}
  const declaredProps = spec.properties ?? {}
  for (const [key, value] of Object.entries(rawProps)) {
    const want = declaredProps[key]
    if (want === undefined) {
      const names = Object.keys(declaredProps)
      return invalid(
        "the property is not declared",
        names.length === 0 ?
          `event ${spec.name} declares no properties; declare it under spec.events[].properties` :
          `declared properties: ${names.join(", ")}`,
        key
      )
    }
    if (typeof value !== want.type) {
      return invalid(
        `expected a ${want.type}, got ${value === null ? "null" : typeof value} ${JSON.stringify(value)}`,
        `send a ${want.type}`,
        key
      )
    }
    properties[key] = String(value)
  }
  for (const [key, want] of Object.entries(declaredProps)) {
    if (want.optional !== true && !(key in properties)) {
      return invalid(
        "the property is required and missing",
        `send ${key} (a ${want.type}) or declare it optional: true`,
        key
      )
    }
  }
  if (input.instanceKey !== undefined && typeof input.instanceKey !== "string") {
    return invalid(
      `instanceKey must be a string, got ${JSON.stringify(input.instanceKey)}`,
      "e.g. instanceKey: \"chat-42\"",
      "instanceKey"
    )
  }
  const eventKey = typeof input.instanceKey === "string" && input.instanceKey.trim().length > 0 ?
    input.instanceKey.trim() :
    undefined

  const rules = target.connection.spec.ingress?.rules ?? []
  if (rules.length === 0) {
    return Either.right({
      agentName: target.entryAgent,
      instanceKey: eventKey ?? "default",
      rule: undefined,
      text: text.right,
      event: spec.name,
      properties
    })
  }
  const index = rules.findIndex((rule) => {
    const match = rule.match
    if (match === undefined) return true
    if (match.event !== undefined && match.event !== spec.name) return false
    return Object.entries(match.properties ?? {}).every(([k, v]) => properties[k] === String(v))
  })
  if (index < 0) {
    return Either.left(
      new IngressNoMatch({
        connection,
        connector,
        event: spec.name,
        properties,
        rules: rules.map((r, i) =>
          `#${i} ${
            r.match === undefined ?
              "(catch-all)" :
              `event=${r.match.event ?? "*"}${
                Object.entries(r.match.properties ?? {}).map(([k, v]) => ` ${k}=${String(v)}`).join("")
              }`
          }`
        )
      })
    )
  }
  const r = rules[index]!.route
  const fromProperty = r.instanceKeyProperty === undefined ? undefined : properties[r.instanceKeyProperty]?.trim()
  const instanceKey = r.instanceKey?.trim() ??
    (fromProperty !== undefined && fromProperty.length > 0
      ? `${(r.instanceKeyPrefix ?? "").trim()}${fromProperty}`
      : undefined) ??
    eventKey ??
    "default"
  return Either.right({
    agentName: r.agentRef?.name ?? target.entryAgent,
    instanceKey,
    rule: index,
    text: text.right,
    event: spec.name,
    properties
  })
}
