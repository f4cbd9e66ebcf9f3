/**
 * The checks every inter-agent call goes through, in order, before anything is sent: a target, a
 * known agent, the allow-list, the timeout, then (requests only) self calls and cycles on
 * `agent@instance` through the carried chain. Pure functions; the API turns their verdicts into
 * `AgentsApiError`s.
 */
import { AgentsApiError } from "../../pipeline/Middleware.js"
import { instanceKeyProblem } from "../AgentAddress.js"

/** The default request timeout (the reference's 60 s). */
export const defaultTimeoutMs = 60_000

/** The reference's limits: async requests in flight per caller, and replies waiting in its inbox. */
export const defaultMaxPendingAsync = 100
export const defaultMaxInbox = 256

/** `agent@instanceKey`. */
export const address = (agentName: string, instanceKey: string): string => `${agentName}@${instanceKey}`

/** Who may call whom, resolved once from the bundle: caller agent name to the names it may call. */
export interface CallPolicy {
  readonly swarmName: string
  readonly entryAgent: string
  readonly agents: ReadonlyArray<string>
  readonly callable: (caller: string) => ReadonlyArray<string>
}

/**
 * The callable agents of `caller` from its own list and the swarm's entry (which replaces it); `"*"`
 * means every other member. The caller itself is never in the result (a call to another instance of
 * the same agent needs it named explicitly).
 */
export const resolveCallable = (
  agents: ReadonlyArray<string>,
  caller: string,
  own: ReadonlyArray<string> | undefined,
  swarm: Readonly<Record<string, ReadonlyArray<string>>> | undefined
): ReadonlyArray<string> => {
  const list = swarm?.[caller] ?? own ?? []
  if (list.includes("*")) return agents.filter((a) => a !== caller)
  const members = new Set(agents)
  return Array.from(new Set(list)).filter((a) => members.has(a))
}

/** What a call policy is resolved from (`AgentsApi.PolicyOptions`). */
export interface PolicyOptions {
  readonly swarmName: string
  readonly entryAgent: string
  readonly agents: ReadonlyArray<string>
  /** Each Agent's `spec.callableAgents`. */
  readonly agentCallable?: Readonly<Record<string, ReadonlyArray<string> | undefined>> | undefined
  /** The Swarm's `spec.callableAgents`. */
  readonly swarmCallable?: Readonly<Record<string, ReadonlyArray<string>>> | undefined
}

/** `AgentsApi.policyOf`: the resolved allow-list of each caller, cached. */
export const policyOf = (options: PolicyOptions): CallPolicy => {
  const cache = new Map<string, ReadonlyArray<string>>()
  return {
    swarmName: options.swarmName,
    entryAgent: options.entryAgent,
    agents: options.agents,
    callable: (caller) => {
      let c = cache.get(caller)
      if (c === undefined) {
        c = resolveCallable(options.agents, caller, options.agentCallable?.[caller], options.swarmCallable)
        cache.set(caller, c)
      }
      return c
    }
  }
}

const fail = (
  code: AgentsApiError["code"],
  message: string,
  extra?: { readonly target?: string; readonly chain?: ReadonlyArray<string>; readonly suggestion?: string }
) =>
  new AgentsApiError({
    code,
    message,
    ...(extra?.target === undefined ? {} : { target: extra.target }),
    ...(extra?.chain === undefined ? {} : { chain: extra.chain }),
    ...(extra?.suggestion === undefined ? {} : { suggestion: extra.suggestion })
  })

/** A trimmed, non-empty target that names an agent of the swarm the caller may call. */
export const checkTarget = (
  policy: CallPolicy,
  caller: string,
  rawTarget: unknown
): AgentsApiError | string => {
  const target = typeof rawTarget === "string" ? rawTarget.trim() : ""
  if (target === "") {
    return fail("AGENT_INVALID_REQUEST", "an agents call needs a target agent name", {
      suggestion: `name one of: ${policy.callable(caller).join(", ") || "(none)"}`
    })
  }
  if (!policy.agents.includes(target)) {
    return fail("AGENT_NOT_FOUND", `agent '${target}' is not an agent of swarm '${policy.swarmName}'`, {
      target,
      suggestion: `call one of: ${policy.callable(caller).join(", ") || "(none)"}`
    })
  }
  const callable = policy.callable(caller)
  if (target !== caller && !callable.includes(target)) {
    return fail("AGENT_NOT_CALLABLE", `agent '${caller}' may not call '${target}'`, {
      target,
      suggestion: callable.length === 0
        ? `add '${target}' to spec.callableAgents of Agent/${caller} (or the Swarm's callableAgents.${caller})`
        : `call one of: ${callable.join(", ")}, or add '${target}' to callableAgents of Agent/${caller}`
    })
  }
  return target
}

/**
 * A call to another instance of the caller's own agent must be allowed explicitly (`"*"` never
 * includes the caller). Run after the self-call check, which answers a call to the same instance.
 */
export const checkOwnAgent = (policy: CallPolicy, caller: string, target: string): AgentsApiError | undefined =>
  target === caller && !policy.callable(caller).includes(caller)
    ? fail("AGENT_NOT_CALLABLE", `agent '${caller}' may not call other instances of itself`, {
      target,
      suggestion: `add '${caller}' to spec.callableAgents of Agent/${caller}`
    })
    : undefined

/** An instance key: the caller's own when omitted. */
export const checkInstanceKey = (raw: unknown, own: string): AgentsApiError | string => {
  if (raw === undefined || raw === null) return own
  if (typeof raw !== "string" || raw.trim() === "") {
    return fail("AGENT_INVALID_REQUEST", `instanceKey must be a non-empty string, got ${JSON.stringify(raw)}`, {
      suggestion: "omit instanceKey to use the caller's own key"
    })
  }
  const key = raw.trim()
  const problem = instanceKeyProblem(key)
  if (problem !== undefined) {
    return fail("AGENT_INVALID_REQUEST", `instanceKey ${JSON.stringify(key.slice(0, 80))}: ${problem}`, {
      suggestion: "use a short key of printable characters (for example \"thread-1\"), or omit it"
    })
  }
  return key
}

/** The callee's input: a text (omitted is empty). Untyped callers (JS tools, extensions) pass anything. */
export const checkInput = (raw: unknown): AgentsApiError | string => {
  if (raw === undefined || raw === null) return ""
  if (typeof raw === "string") return raw
  return fail("AGENT_INVALID_REQUEST", `input must be a string, got ${Array.isArray(raw) ? "an array" : typeof raw}`, {
    suggestion: "pass the message as text; serialise structured data with JSON.stringify"
  })
}

/**
 * A timeout in milliseconds: a positive safe integer, or the default when omitted. The reference fell
 * back to 60 s silently for 0, negatives, fractions, NaN and Infinity; those are refused here.
 */
export const checkTimeout = (raw: unknown, fallback: number): AgentsApiError | number => {
  if (raw === undefined || raw === null) return fallback
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw > 0) return raw
  return fail(
    "AGENT_INVALID_REQUEST",
    `timeoutMs must be a positive integer number of milliseconds, got ${
      typeof raw === "number" ? String(raw) : JSON.stringify(raw)
    }`,
    { suggestion: `omit timeoutMs for the default (${fallback} ms), or pass e.g. 30000` }
  )
}

/**
 * Self calls and cycles: `chain` are the callers that led to the caller's turn (oldest first), `self`
 * the caller's own `agent@instance`. The target may appear nowhere in `chain + self`.
 */
export const checkCycle = (
  chain: ReadonlyArray<string>,
  self: string,
  target: string
): AgentsApiError | ReadonlyArray<string> => {
  const next = chain.at(-1) === self ? chain : [...chain, self]
  if (target === self) {
    return fail("AGENT_SELF_CALL", `${self} cannot request itself: the request would wait for its own turn`, {
      target,
      chain: next,
      suggestion: "answer directly, or call another instance (instanceKey) of the agent"
    })
  }
  if (next.includes(target)) {
    return fail("CIRCULAR_CALL_DETECTED", `circular call detected: ${[...next, target].join(" -> ")}`, {
      target,
      chain: next,
      suggestion: `${target} is waiting for this call chain; reply to it instead of calling it`
    })
  }
  return next
}

/** Reads a call chain recorded in metadata (strings only). */
export const chainOf = (u: unknown): ReadonlyArray<string> =>
  Array.isArray(u) ? u.filter((x): x is string => typeof x === "string") : []
