/**
 * How an async reply becomes a user message of its caller's conversation, in one shape for both ways it
 * gets there: the reply-delivery step middleware (`AgentsTool.deliverReplies`) and the wake-up message of
 * a quiet caller (`wake.ts`). Its source is the agent variant with the reply's correlation id (what both
 * read to skip a reply already in the conversation), its metadata the reply's status under `swarm.reply`.
 */
import type * as Message from "../../conversation/Message.js"
import type { JsonObject } from "../../tool/ToolCatalog.js"
import type { Reply } from "../AgentsApi.js"

/** The message metadata key of a delivered reply. */
export const replyKey = "swarm.reply"

/** The text the model reads for an async reply (`AgentsTool.replyText`). */
export const text = (reply: Reply): string => {
  const head =
    `[async reply from ${reply.agentName}@${reply.instanceKey} to request ${reply.correlationId}: ${reply.status}]`
  if (reply.status === "ok") return `${head}\n${reply.response ?? ""}`
  return `${head}\nERROR: ${reply.error?.message ?? "the request failed"}\nCODE: ${
    reply.error?.code ?? "AGENT_TURN_FAILED"
  }`
}

/** The reply message's source: from the callee, a reply, with the correlation id. */
export const source = (reply: Reply): Message.MessageSource => ({
  type: "agent",
  kind: "reply",
  agentName: reply.agentName,
  instanceKey: reply.instanceKey,
  correlationId: reply.correlationId
})

/** The reply message's metadata: its correlation id and status (and error code) under {@link replyKey}. */
export const metadata = (reply: Reply): { readonly [replyKey]: JsonObject } => ({
  [replyKey]: {
    correlationId: reply.correlationId,
    status: reply.status,
    ...(reply.error === undefined ? {} : { errorCode: reply.error.code })
  }
})

/** The correlation ids of the replies already in `messages`. */
export const deliveredIds = (messages: ReadonlyArray<Message.Message>): Set<string> => {
  const ids = new Set<string>()
  for (const m of messages) {
    if (m.source.type === "agent" && m.source.kind === "reply") ids.add(m.source.correlationId)
  }
  return ids
}
