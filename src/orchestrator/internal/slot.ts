/**
 * The orchestrator's instance registry as data: one slot per `agent@instanceKey` (its mailbox, status,
 * supervision state, durable inbox, current generation), the settings the runtime works with, and the
 * registry's shared state (the slots, the Swarm's agents, the shutdown in progress) with the answers every
 * part of the runtime gives the same way (`unavailable`, `acknowledge`).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as AgentAddress from "../AgentAddress.js"
import type { Hosted, ShutdownReason } from "../AgentHost.js"
import type { CalleeOutcome } from "../AgentsApi.js"
import { type AgentTurnFailed, AgentUnavailable } from "../OrchestratorError.js"
import type * as Supervision from "../Supervision.js"
import type * as Inbox from "./inbox.js"
import type * as Lifecycle from "./lifecycle.js"
import type * as Mailbox from "./mailbox.js"

export type InstanceStatus =
  | "starting"
  | "idle"
  | "processing"
  | "restarting"
  | "crashLoopBackOff"
  | "stopped"
  | "crashed"

export interface Slot {
  readonly address: AgentAddress.AgentAddress
  readonly label: string
  readonly mailbox: Mailbox.Mailbox
  status: InstanceStatus
  reason: string | undefined
  restarts: number
  readonly supervision: Supervision.State
  /** When the current worker opened the instance (ms). */
  startedAt: number
  /** When a restart after a crash is due (ms), in backoff. */
  nextStartAt: number | undefined
  /** The envelope whose turn runs now. */
  current: Mailbox.Envelope | undefined
  /** Starts so far: the current worker's instance belongs to this generation. */
  generation: number
  /** The instance of the current generation, once started. */
  hosted: Hosted | undefined
  /** Why the current generation is being stopped (set before its worker is interrupted). */
  stopReason: ShutdownReason | undefined
  /** Its durable inbox (orchestrators with a state root). */
  readonly inbox: Inbox.InstanceInbox | undefined
  /** What the slot holds open (its inbox writer); closed when the slot is released. */
  readonly scope: Scope.CloseableScope
  /** Messages accepted and not yet in the mailbox (their inbox write runs): the slot is not released meanwhile. */
  accepting: number
  /**
   * Serializes an idle release with a reload's restart of the slot (both rare). Accepting a message does not
   * take it: it is synchronous, like the release's own check.
   */
  readonly gate: Effect.Semaphore
  /** Taken out of the registry (idle release): a sender that still holds it goes to a new slot. */
  released: boolean
  /** When its last turn ended, or it was created (ms, on `Clock`). */
  lastActive: number
}

/** Starts the instance of an address on its host for one generation (closing the scope stops it). */
export type Opener = (
  address: AgentAddress.AgentAddress,
  generation: number
) => Effect.Effect<Hosted, AgentTurnFailed, Scope.Scope>

export interface Settings {
  readonly swarm: string
  readonly agentNames: ReadonlyArray<string>
  readonly mailboxCapacity: number
  readonly supervision: Supervision.Settings
  /** Graceful shutdown, idle release and reconcile (see `lifecycle.ts`). */
  readonly lifecycle: Lifecycle.Settings
  /** The durable inboxes (absent: the mailboxes live in memory only). */
  readonly inbox: Inbox.Store | undefined
  /** Told when a turn is over, before its message is acknowledged (async replies, see `AgentsApi`). */
  readonly onTurnEnd?:
    | ((address: AgentAddress.AgentAddress, input: Mailbox.TurnInput, outcome: CalleeOutcome) => Effect.Effect<void>)
    | undefined
  /** Records `crashed` / `stopped` (with the reason) where the instance's status lives. */
  readonly persistStatus: (
    address: AgentAddress.AgentAddress,
    status: "crashed" | "stopped",
    reason: string
  ) => Effect.Effect<void>
}

/** The registry's shared, mutable state (one per orchestrator). */
export interface Registry {
  readonly settings: Settings
  /** The live slots by label (`agent@instanceKey`); a released slot leaves it. */
  readonly slots: Map<string, Slot>
  /** Set when the graceful shutdown starts: from then on no message is accepted. */
  shuttingDown: Lifecycle.ShutdownReason | undefined
  /** The Swarm's agents (`reload` replaces them). */
  agentNames: ReadonlyArray<string>
}

/** The error of a message the slot will not answer: stopped, crashed, or the orchestrator shutting down. */
export const unavailable = (registry: Registry, slot: Slot): AgentUnavailable =>
  new AgentUnavailable({
    address: slot.label,
    status: registry.shuttingDown !== undefined ? "shutting_down" : slot.status === "crashed" ? "crashed" : "stopped",
    reason: registry.shuttingDown ?? slot.reason ?? slot.status
  })

/** Acknowledges envelopes whose turn is over (they leave the durable inbox). */
export const acknowledge = (slot: Slot, envelopes: ReadonlyArray<Mailbox.Envelope>): Effect.Effect<void> => {
  const ids = envelopes.flatMap((e) => e.inboxId === undefined ? [] : [e.inboxId])
  return slot.inbox === undefined || ids.length === 0 ? Effect.void : slot.inbox.done(ids)
}
