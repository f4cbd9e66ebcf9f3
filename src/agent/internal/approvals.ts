/**
 * Deciding paused tool calls: the decision is durable (`approval.resolved`) before the turn continues;
 * the turn continues once every call of its step is decided.
 */
import * as Effect from "effect/Effect"
import type { TurnResult } from "../../pipeline/Middleware.js"
import { ApprovalNotPending } from "../AgentError.js"
import type { AgentInstance } from "./instance.js"
import * as Loop from "./loop.js"
import { pendingApprovals } from "./openTurn.js"

/** The tool calls of the instance that wait for a decision. */
export const pending = (instance: AgentInstance) =>
  Array.from(instance.state.log.approvals.values())
    .filter((a) => a.decision === undefined && !instance.state.log.ended.has(a.turnId))
    .map(({ toolCallId, toolName, turnId }) => ({ toolCallId, toolName, turnId }))

export const decide = (instance: AgentInstance, toolCallId: string, approved: boolean, reason?: string) =>
  instance.state.lock.withPermits(1)(Effect.gen(function*() {
    const approval = instance.state.log.approvals.get(toolCallId)
    if (approval === undefined || approval.decision !== undefined || instance.state.log.ended.has(approval.turnId)) {
      return yield* new ApprovalNotPending({
        instance: instance.label,
        toolCallId,
        pending: pending(instance).map((p) => p.toolCallId)
      })
    }
    // The decision is durable before the turn continues.
    yield* Loop.record(instance, "approval.resolved", approval.turnId, {
      toolCallId,
      approved,
      ...(reason === undefined ? {} : { reason })
    })
    const waiting: TurnResult = { turnId: approval.turnId, finishReason: "awaiting_approval" }
    if (pendingApprovals(instance, approval.turnId).length > 0) return waiting
    const resumed = yield* Loop.resumeLocked(instance)
    return resumed._tag === "Some" ? resumed.value : waiting
  }))
