/**
 * The Effect operations of one connection (`Connector.Runtime`): config and secrets resolved through
 * `ValueSource`, events routed by `Ingress` and handed to the Orchestrator.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as Turn from "../../agent/Turn.js"
import * as Message from "../../conversation/Message.js"
import type * as EventBus from "../../event/EventBus.js"
import type * as Trace from "../../event/Trace.js"
import type * as Orchestrator from "../../orchestrator/Orchestrator.js"
import type { TurnResult } from "../../pipeline/Middleware.js"
import type * as Bundle from "../../resource/Bundle.js"
import type { ConnectionResource, ConnectorResource } from "../../resource/Resource.js"
import * as ValueSource from "../../resource/ValueSource.js"
import type { Accepted, Reply, Runtime } from "../Connector.js"
import { ConnectorLoadError, WebhookSignatureInvalid } from "../ConnectorError.js"
import * as Ingress from "../Ingress.js"
import * as Webhook from "../Webhook.js"
import * as IngressSpan from "./ingressSpan.js"

/** A connection ready to start: its resources and resolved values. */
export interface Prepared {
  readonly name: string
  readonly connectorName: string
  readonly connection: Bundle.Entry<ConnectionResource>
  readonly connector: Bundle.Entry<ConnectorResource>
  readonly config: Readonly<Record<string, string>>
  readonly secrets: Readonly<Record<string, string>>
  readonly signingSecret: string | undefined
  readonly target: Ingress.Target
}

const resolveAll = (
  connection: Bundle.Entry<ConnectionResource>,
  connectorName: string,
  field: "config" | "secrets",
  sources: Readonly<Record<string, ValueSource.ValueSource>> | undefined
) =>
  Effect.gen(function*() {
    const out: Record<string, string> = {}
    for (const [key, source] of Object.entries(sources ?? {})) {
      const value = yield* ValueSource.resolve(
        source,
        `Connection/${connection.resource.metadata.name}.spec.${field}.${key}`
      )
        .pipe(Effect.mapError((e) => loadConfigError(connection, connectorName, e)))
      if (Option.isSome(value)) out[key] = value.value
    }
    return out
  })

const loadConfigError = (
  connection: Bundle.Entry<ConnectionResource>,
  connectorName: string,
  e: ValueSource.ValueSourceError
) =>
  new ConnectorLoadError({
    code: "E_CONNECTOR_CONFIG",
    connection: connection.resource.metadata.name,
    connector: connectorName,
    file: connection.file,
    reason: e.message,
    suggestion: "set the environment variable (or the secret's variable), or give the field a value in the Connection"
  })

/** Resolves a connection's config, secrets and signing secret. */
export const prepare = (
  connection: Bundle.Entry<ConnectionResource>,
  connector: Bundle.Entry<ConnectorResource>,
  entryAgent: string
): Effect.Effect<Prepared, ConnectorLoadError> =>
  Effect.gen(function*() {
    const name = connection.resource.metadata.name
    const connectorName = connector.resource.metadata.name
    const spec = connection.resource.spec
    const config = yield* resolveAll(connection, connectorName, "config", spec.config)
    const secrets = yield* resolveAll(connection, connectorName, "secrets", spec.secrets)
    const signing = spec.verify?.webhook?.signingSecret
    const signingSecret = signing === undefined ? undefined : yield* ValueSource.resolve(
      signing,
      `Connection/${name}.spec.verify.webhook.signingSecret`
    ).pipe(
      Effect.mapError((e) => loadConfigError(connection, connectorName, e)),
      Effect.map(Option.getOrUndefined)
    )
    return {
      name,
      connectorName,
      connection,
      connector,
      config,
      secrets,
      signingSecret,
      target: { connection: connection.resource, connector: connector.resource, entryAgent }
    }
  })

/** The message metadata key recording where an inbound event came from. */
export const inboundKey = "swarm.inbound"

const replyOf = (accepted: Accepted, result: TurnResult): Reply => ({
  ...accepted,
  turnId: result.turnId,
  text: result.responseMessage === undefined ? "" : Message.text(result.responseMessage.data),
  finishReason: result.finishReason,
  error: result.error
})

/** The `Connector.Runtime` of a prepared connection. */
export const make = (
  prepared: Prepared,
  orchestrator: Orchestrator.Service,
  bus: EventBus.Service,
  info: SubscriptionRef.SubscriptionRef<Readonly<Record<string, string>>>
): Runtime => {
  const routeOf = (event: unknown) =>
    Effect.suspend(() => {
      const routed = Ingress.route(prepared.target, event)
      return Either.isLeft(routed) ? Effect.fail(routed.left) : Effect.succeed(routed.right)
    })
  const inputOf = (
    route: Ingress.Route,
    parentTrace: Trace.TraceContext | undefined,
    onDelta?: (text: string, accepted: Accepted) => Effect.Effect<void>
  ) => ({
    input: route.text,
    call: {
      ...(parentTrace === undefined ? {} : { parentTrace }),
      metadata: {
        [inboundKey]: {
          connection: prepared.name,
          connector: prepared.connectorName,
          event: route.event,
          properties: route.properties
        }
      },
      onDelta: onDelta === undefined ?
        undefined :
        (_step: number, part: Turn.Delta) =>
          part._tag === "TextDelta" ? onDelta(part.text, acceptedOf(route)) : Effect.void
    }
  })
  const acceptedOf = (route: Ingress.Route): Accepted => ({
    event: route.event,
    agentName: route.agentName,
    instanceKey: route.instanceKey,
    address: `${route.agentName}@${route.instanceKey}`
  })
  const address = (route: Ingress.Route) => ({ agentName: route.agentName, instanceKey: route.instanceKey })
  // Each inbound event as a span, the parent of its turn (see internal/ingressSpan.ts).
  const traced = <A, E>(
    route: Ingress.Route,
    mode: IngressSpan.Info["mode"],
    f: (parent: Trace.TraceContext | undefined) => Effect.Effect<A, E>
  ) =>
    IngressSpan.around({
      connection: prepared.name,
      connector: prepared.connectorName,
      event: route.event,
      agentName: route.agentName,
      instanceKey: route.instanceKey,
      mode
    }, f)
  return {
    connection: prepared.name,
    connector: prepared.connectorName,
    config: prepared.config,
    secrets: prepared.secrets,
    verifiesWebhooks: prepared.signingSecret !== undefined,
    emit: (event) =>
      Effect.flatMap(
        routeOf(event),
        (route) =>
          traced(
            route,
            "emit",
            (p) => Effect.as(orchestrator.send(address(route), inputOf(route, p)), acceptedOf(route))
          )
      ),
    submit: (event, options) =>
      Effect.flatMap(
        routeOf(event),
        (route) =>
          traced(route, "submit", (p) =>
            Effect.map(orchestrator.submit(address(route), inputOf(route, p, options?.onDelta)), (reply) => {
              const accepted = acceptedOf(route)
              return [
                accepted,
                Effect.map(reply, (result) =>
                  replyOf(accepted, result))
              ] as const
            }))
      ),
    request: (event, options) =>
      Effect.flatMap(routeOf(event), (route) =>
        traced(route, "request", (p) =>
          Effect.map(
            orchestrator.request(address(route), inputOf(route, p, options?.onDelta)),
            (result) => replyOf(acceptedOf(route), result)
          ))),
    verifyWebhook: (body, signature, options) =>
      Effect.gen(function*() {
        const rejected = (reason: string) =>
          new WebhookSignatureInvalid({
            connection: prepared.name,
            header: Webhook.header,
            timestampHeader: options === undefined ? undefined : Webhook.timestampHeader,
            reason
          })
        const secret = prepared.signingSecret
        if (secret === undefined) {
          return yield* rejected(`Connection/${prepared.name} has no spec.verify.webhook.signingSecret to verify with`)
        }
        const result = options === undefined ?
          Webhook.verify(secret, body, signature) :
          Webhook.verifyTimestamped(secret, body, signature, options.timestamp, {
            nowMillis: yield* Clock.currentTimeMillis,
            toleranceSeconds: options.toleranceSeconds
          })
        if (!result.ok) return yield* rejected(result.reason)
      }),
    runtimeEvents: bus.stream,
    subscribeRuntimeEvents: bus.subscribe,
    announce: (facts) => SubscriptionRef.update(info, (current) => ({ ...current, ...facts }))
  }
}
