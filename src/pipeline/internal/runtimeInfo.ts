/**
 * What a run knows about where it runs: the event that started its turn and the runtime info of its
 * agent. Re-exported by `Middleware`.
 *
 * @internal
 */
/**
 * The event that started a turn (goondan S2, loosely typed: the orchestrator owns the full shape).
 *
 * @since 0.1.0
 * @category models
 */
export interface InputEvent {
  readonly id?: string | undefined
  readonly type?: string | undefined
  readonly input?: string | undefined
  readonly instanceKey?: string | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  readonly source?: { readonly kind: string; readonly name: string } | undefined
  readonly replyTo?: { readonly target: string; readonly correlationId: string } | undefined
  readonly [key: string]: unknown
}

/**
 * What a middleware may know about where it runs (goondan P8): the agent, its swarm, the inbound event
 * and, for a turn started by another agent, the call chain.
 *
 * @since 0.1.0
 * @category models
 */
export interface RuntimeInfo {
  readonly agent: {
    readonly name: string
    readonly bundleRoot?: string | undefined
    readonly prompt?: { readonly system?: string | undefined } | undefined
  }
  readonly swarm?: {
    readonly swarmName: string
    readonly entryAgent: string
    readonly selfAgent: string
    readonly availableAgents: ReadonlyArray<string>
    readonly callableAgents: ReadonlyArray<string>
  } | undefined
  readonly inbound?: {
    readonly eventId: string
    readonly eventType: string
    readonly sourceKind: string
    readonly sourceName: string
    readonly createdAt: string
    readonly instanceKey?: string | undefined
    readonly eventMetadata?: Readonly<Record<string, unknown>> | undefined
  } | undefined
  readonly call?: {
    readonly callerAgent?: string | undefined
    readonly callerInstanceKey?: string | undefined
    readonly callerTurnId?: string | undefined
    readonly callSource?: string | undefined
    readonly callStack?: ReadonlyArray<string> | undefined
    readonly replyTo?: { readonly target: string; readonly correlationId: string } | undefined
  } | undefined
}
