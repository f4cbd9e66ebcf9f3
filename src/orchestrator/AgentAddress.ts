/**
 * Addresses of agent instances: `agent@instanceKey`. An instance is reachable by message only, through
 * its address; nothing else of it is shared, so the same address can later name an entity of a cluster.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as InstanceName from "../workspace/InstanceName.js"

/**
 * A parsed `agent@instanceKey`.
 *
 * @example
 * ```ts
 * import { AgentAddress } from "effect-swarm"
 * const address: AgentAddress.AgentAddress = { agentName: "coder", instanceKey: "thread-1" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentAddress {
  readonly agentName: string
  readonly instanceKey: string
}

/**
 * The instance key of an address written without one (`agent` alone).
 *
 * @example
 * ```ts
 * import { AgentAddress } from "effect-swarm"
 * AgentAddress.defaultInstanceKey // "default": what `coder` alone means
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInstanceKey = "default"

/**
 * A string that is not an `agent@instanceKey` address.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentAddress } from "effect-swarm"
 * const program = AgentAddress.parse("@nobody").pipe(
 *   Effect.catchTag("InvalidAgentAddress", (e) => Effect.succeed(e.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAgentAddress extends Schema.TaggedError<InvalidAgentAddress>("effect-swarm/InvalidAgentAddress")(
  "InvalidAgentAddress",
  { input: Schema.String, detail: Schema.String }
) {
  /** The inter-agent error code (see docs/orchestrator.md). */
  get code(): "AGENT_ADDRESS_INVALID" {
    return "AGENT_ADDRESS_INVALID"
  }
  override get message(): string {
    return `invalid agent address ${JSON.stringify(this.input)}: ${this.detail}; ` +
      `write agent@instanceKey (for example "coder@thread-1"), or the agent name alone for its "default" instance`
  }
}

// Agent names follow the resource name format; instance keys are free text without control characters.
const agentNamePattern = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/i

const check = (input: string): Either.Either<AgentAddress, InvalidAgentAddress> => {
  const at = input.indexOf("@")
  const agentName = at < 0 ? input : input.slice(0, at)
  const instanceKey = at < 0 ? defaultInstanceKey : input.slice(at + 1)
  const fail = (detail: string) => Either.left(new InvalidAgentAddress({ input, detail }))
  if (agentName.length === 0) return fail("the agent name is empty")
  if (!agentNamePattern.test(agentName)) {
    return fail(`agent name ${JSON.stringify(agentName)} is not a resource name (letters, digits, - _ .)`)
  }
  if (instanceKey.length === 0) return fail("the instance key after @ is empty")
  const problem = instanceKeyProblem(instanceKey)
  if (problem !== undefined) return fail(problem)
  return Either.right({ agentName, instanceKey })
}

/**
 * Why `instanceKey` cannot name an instance, or `undefined` when it can (`InstanceName.instanceKeyProblem`,
 * the rule every way of naming an instance applies).
 *
 * @example
 * ```ts
 * import { AgentAddress } from "effect-swarm"
 * AgentAddress.instanceKeyProblem("thread-1") // undefined
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const instanceKeyProblem: (instanceKey: string) => string | undefined = InstanceName.instanceKeyProblem

/**
 * Parses `agent@instanceKey` (the first `@` separates them; `agent` alone is `agent@default`).
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { AgentAddress } from "effect-swarm"
 * AgentAddress.parseEither("coder@thread-1") // Right({ agentName: "coder", instanceKey: "thread-1" })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseEither = (input: string): Either.Either<AgentAddress, InvalidAgentAddress> => check(input)

/**
 * {@link parseEither} as an Effect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentAddress } from "effect-swarm"
 * const program = Effect.map(AgentAddress.parse("coder@thread-1"), AgentAddress.format) // "coder@thread-1"
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Effect.Effect<AgentAddress, InvalidAgentAddress> => check(input)

/**
 * An address from its parts, checked like {@link parse}.
 *
 * @example
 * ```ts
 * import { AgentAddress } from "effect-swarm"
 * const address = AgentAddress.make("coder", "thread-1")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (agentName: string, instanceKey: string = defaultInstanceKey) =>
  Either.flatMap(
    check(`${agentName}@${instanceKey}`),
    (a) =>
      a.agentName === agentName ?
        Either.right(a) :
        Either.left(new InvalidAgentAddress({ input: agentName, detail: "the agent name contains @" }))
  )

/**
 * `agent@instanceKey`.
 *
 * @example
 * ```ts
 * import { AgentAddress } from "effect-swarm"
 * AgentAddress.format({ agentName: "coder", instanceKey: "thread-1" }) // "coder@thread-1"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (address: AgentAddress): string => `${address.agentName}@${address.instanceKey}`

/**
 * Whether two addresses name the same instance.
 *
 * @example
 * ```ts
 * import { AgentAddress } from "effect-swarm"
 * const a = { agentName: "coder", instanceKey: "t1" }
 * AgentAddress.equals(a, { ...a }) // true
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const equals = (a: AgentAddress, b: AgentAddress): boolean =>
  a.agentName === b.agentName && a.instanceKey === b.instanceKey
