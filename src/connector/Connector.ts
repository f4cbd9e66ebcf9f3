/**
 * The connector contract: what a connector is given, in two forms.
 *
 * - A connector module (a Connector resource's `entry`) exports `run(ctx)` (as its default export, as
 *   goondan's do, or as a named `run`) and receives a {@link ConnectorContext}: promise-based, so plain
 *   TypeScript connectors written for goondan keep working. `run` is expected to keep running (a
 *   server, a read loop); when it resolves the connector is done and is not restarted; when it rejects
 *   or throws the connector crashed and is restarted with backoff (see `Connectors`).
 * - A built-in connector (`spec.builtin`: `http`, `cli`, or one registered through `Connectors.run`
 *   options) is an Effect {@link Builtin} receiving the same operations as Effects ({@link Runtime}).
 *
 * Both forms: `emit(event)` resolves when the event is accepted (routed by the Connection's ingress rules
 * and enqueued in the instance's mailbox through the Orchestrator); `request(event)` resolves with the
 * turn's reply; `onReply(handler)` receives the reply of every event emitted afterwards; `stream(event)`
 * / `request(event, { onDelta })` deliver the reply text as it is generated. An event the Connector does
 * not declare, or that no ingress rule routes, is a typed error returned to the connector (see
 * `ConnectorError`), never dropped.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { RuntimeEvent } from "../event/RuntimeEvent.js"
import type { OrchestratorError } from "../orchestrator/OrchestratorError.js"
import type { FinishReason } from "../pipeline/Middleware.js"
import type { ConnectorCrashed, ConnectorLoadError, RoutingError, WebhookSignatureInvalid } from "./ConnectorError.js"
import type { Event } from "./Ingress.js"

export type {
  /**
   * An event a connector emits (see `Ingress.Event`).
   *
   * @since 0.1.0
   * @category models
   */
  Event
}

/**
 * An event accepted by the Orchestrator: where it went.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly event: string
  readonly agentName: string
  readonly instanceKey: string
  /** `agent@instanceKey`. */
  readonly address: string
}

/**
 * The reply of the turn an event started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reply extends Accepted {
  readonly turnId: string
  /** The reply text (empty when the turn ended without one, see `finishReason`). */
  readonly text: string
  readonly finishReason: FinishReason
  readonly error?: { readonly message: string; readonly code?: string | undefined } | undefined
}

/**
 * What `stream(event)` yields: reply text as it is generated, then the reply.
 *
 * @since 0.1.0
 * @category models
 */
export type ReplyChunk =
  | { readonly type: "delta"; readonly text: string }
  | { readonly type: "reply"; readonly reply: Reply }

/**
 * The result of verifying a webhook signature.
 *
 * @since 0.1.0
 * @category models
 */
export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/**
 * Replay protection for `verifyWebhook`: the signed timestamp (Unix seconds) the request carried (`undefined`
 * when it carried none: refused) and how far from the `Clock` it may be.
 *
 * @example
 * ```ts
 * import type { Connector } from "effect-swarm"
 * import { Webhook } from "effect-swarm"
 * // Inside a connector module, with the request's headers at hand:
 * const options = (headers: Record<string, string | undefined>): Connector.WebhookOptions => ({
 *   timestamp: headers[Webhook.timestampHeader],
 *   toleranceSeconds: 60
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WebhookOptions {
  readonly timestamp: string | undefined
  /** Seconds either way (default `Webhook.defaultTolerance`, 300). */
  readonly toleranceSeconds?: number | undefined
}

/**
 * A logger whose lines carry the connection and connector names (Effect's logger underneath).
 *
 * @since 0.1.0
 * @category models
 */
export interface Logger {
  readonly debug: (...message: ReadonlyArray<unknown>) => void
  readonly info: (...message: ReadonlyArray<unknown>) => void
  readonly warn: (...message: ReadonlyArray<unknown>) => void
  readonly error: (...message: ReadonlyArray<unknown>) => void
}

/**
 * What a connector module's `run(ctx)` receives. goondan's `{ emit, config, secrets, logger }` keep their
 * meaning; the rest are extensions.
 *
 * @example
 * ```ts
 * import type { Connector } from "effect-swarm"
 * import * as readline from "node:readline"
 *
 * export default async function run(ctx: Connector.ConnectorContext): Promise<void> {
 *   const lines = readline.createInterface({ input: process.stdin })
 *   ctx.signal.addEventListener("abort", () => lines.close())
 *   for await (const line of lines) {
 *     const reply = await ctx.request({ name: "line", message: { type: "text", text: line }, instanceKey: "local" })
 *     console.log(reply.text)
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectorContext {
  /** The Connection's name. */
  readonly connection: string
  /** The Connector's name. */
  readonly connector: string
  /** `spec.config` of the Connection, resolved (an optional environment value that is unset is absent). */
  readonly config: Readonly<Record<string, string>>
  /** `spec.secrets` of the Connection, resolved. */
  readonly secrets: Readonly<Record<string, string>>
  /** Resolves once the event is routed and accepted by the Orchestrator; rejects with a typed error. */
  readonly emit: (event: Event) => Promise<Accepted>
  /** Resolves with the reply of the turn the event starts; `onDelta` receives its text as it is generated. */
  readonly request: (
    event: Event,
    options?: { readonly onDelta?: ((text: string) => void) | undefined }
  ) => Promise<Reply>
  /** The reply text as it is generated (`delta` chunks), then the `reply`. */
  readonly stream: (event: Event) => AsyncIterable<ReplyChunk>
  /**
   * Receives the reply of every event `emit`ted after it is registered (a handler that throws is logged).
   * Returns a function that unregisters it.
   */
  readonly onReply: (handler: (reply: Reply) => void | Promise<void>) => () => void
  /**
   * Verifies an HMAC-SHA256 webhook signature (`sha256=<hex>` or `<hex>`) with the Connection's
   * `verify.webhook.signingSecret`, in constant time. Without `options` the signature covers the raw body
   * alone (no replay protection); with `options` it covers `<timestamp>.<body>` and the timestamp (Unix
   * seconds, as the sender put it in its header) must be within `toleranceSeconds` (default 300) of the
   * runtime's `Clock` (see `Webhook.verifyTimestamped`). Without a signing secret it fails.
   */
  readonly verifyWebhook: (
    body: string | Uint8Array,
    signature: string | undefined,
    options?: WebhookOptions
  ) => Verification
  /** Aborted when the connector is stopped (the runner's scope closes, or a restart). */
  readonly signal: AbortSignal
  /** Registers cleanup run when the connector is stopped (in reverse order). */
  readonly onStop: (cleanup: () => void | Promise<void>) => void
  readonly logger: Logger
}

/**
 * A connector module: `run` as its default export (goondan) or a named export.
 *
 * @since 0.1.0
 * @category models
 */
export type Run = (ctx: ConnectorContext) => void | Promise<void>

/**
 * What an Effect connector ({@link Builtin}) receives: the operations of {@link ConnectorContext} as
 * Effects, plus the runtime event stream (for the `http` connector's event streams).
 *
 * @since 0.1.0
 * @category models
 */
export interface Runtime {
  readonly connection: string
  readonly connector: string
  readonly config: Readonly<Record<string, string>>
  readonly secrets: Readonly<Record<string, string>>
  /** Whether the Connection has `verify.webhook.signingSecret`. */
  readonly verifiesWebhooks: boolean
  readonly emit: (event: unknown) => Effect.Effect<Accepted, RoutingError | OrchestratorError>
  /** Like `emit`, with an effect that waits for the reply (and `onDelta` receiving the reply text as it comes). */
  readonly submit: (
    event: unknown,
    options?: { readonly onDelta?: ((text: string, accepted: Accepted) => Effect.Effect<void>) | undefined }
  ) => Effect.Effect<readonly [Accepted, Effect.Effect<Reply, OrchestratorError>], RoutingError | OrchestratorError>
  readonly request: (
    event: unknown,
    options?: { readonly onDelta?: ((text: string) => Effect.Effect<void>) | undefined }
  ) => Effect.Effect<Reply, RoutingError | OrchestratorError>
  readonly verifyWebhook: (
    body: string | Uint8Array,
    signature: string | undefined,
    options?: WebhookOptions
  ) => Effect.Effect<void, WebhookSignatureInvalid>
  /** The runtime events of every instance, from when the stream starts. */
  readonly runtimeEvents: Stream.Stream<RuntimeEvent>
  /**
   * A subscription to the runtime events of every instance, in place when this effect completes (nothing
   * published after it is missed), for as long as the scope: subscribe first, then tell a client it is on.
   */
  readonly subscribeRuntimeEvents: Effect.Effect<Queue.Dequeue<RuntimeEvent>, never, Scope.Scope>
  /** Publishes facts about the running connector (such as the `url` it listens on) in its status. */
  readonly announce: (info: Readonly<Record<string, string>>) => Effect.Effect<void>
}

/**
 * A built-in connector: runs until its scope closes (return = done, failure = crashed and restarted).
 *
 * @since 0.1.0
 * @category models
 */
export type Builtin = (ctx: Runtime) => Effect.Effect<void, ConnectorCrashed | ConnectorLoadError, Scope.Scope>
