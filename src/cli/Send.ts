/**
 * `effect-swarm send <agent[@instance]> <text>` runs one turn of an Agent of the bundle in `--dir`
 * (default `.`) and prints the reply; `approve` / `deny <agent@instance> <callId>` decide a tool call the
 * turn paused on and continue it. The instance is durable under the state root (`EFFECT_SWARM_HOME`, else
 * `~/.effect-swarm`), in the workspace of the Swarm that lists the Agent (or `--workspace`); without
 * `@instance` it is `agent@default`. Its model, prompt, tools, extensions and policy come from the bundle
 * (`AgentInstance.fromBundle`); TypeScript entries load on Node 20 through tsx (see `TypeScript`).
 *
 * Output: the reply text, or with `--json` one object `{ instance, workspaceId, turnId, finishReason,
 * reply, pending }`. On a terminal a spinner on stderr says what the agent is doing. Exit status 0 for a
 * reply, 4 when the turn waits for approval (the pending calls are printed with the command that decides
 * them), 1 when the turn ended on a budget or an error, 3 for an error the user can fix (bundle, key,
 * unknown agent or call).
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as AgentInstance from "../agent/AgentInstance.js"
import * as Turn from "../agent/Turn.js"
import { safe } from "../connector/internal/terminalText.js"
import * as Message from "../conversation/Message.js"
import type { TurnResult } from "../pipeline/Middleware.js"
import * as Bundle from "../resource/Bundle.js"
import { CliExit, ExitCode } from "./CliExit.js"
import * as Host from "./internal/host.js"
import { withSpinner } from "./internal/progress.js"
import * as Root from "./internal/root.js"
import * as Target from "./internal/target.js"
import { detectColor, paint } from "./Output.js"
import * as TypeScript from "./TypeScript.js"

/**
 * Options of {@link send}, {@link approve} and {@link deny}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The bundle directory (default `.`). */
  readonly dir?: string | undefined
  /** The Swarm whose policy and workspace apply (default: the one listing the Agent). */
  readonly swarm?: string | undefined
  readonly workspace?: string | undefined
  readonly json?: boolean | undefined
  /** The state root (default: `StateRoot.resolve`). */
  readonly root?: string | undefined
}

const open = (dir: string, root: string, agentName: string, instanceKey: string, options: Options) =>
  Effect.gen(function*() {
    const bundle = yield* Bundle.load(dir, { stateRoot: root })
    yield* TypeScript.ensureLoader(TypeScript.typeScriptEntries(bundle))
    return yield* AgentInstance.fromBundle(bundle, {
      agent: agentName,
      instanceKey,
      swarm: options.swarm,
      workspaceId: options.workspace
    })
  })

const print = (instance: AgentInstance.AgentInstance, result: TurnResult, options: Options) =>
  Effect.gen(function*() {
    const label = instance.label
    const reply = result.responseMessage === undefined ? undefined : Message.text(result.responseMessage.data)
    const pending = result.finishReason === "awaiting_approval" ? yield* AgentInstance.pendingApprovals(instance) : []
    if (options.json === true) {
      yield* Console.log(JSON.stringify({
        instance: label,
        workspaceId: instance.ref.workspaceId,
        turnId: result.turnId,
        finishReason: result.finishReason,
        ...(result.limit === undefined ? {} : { limit: result.limit }),
        ...(result.error === undefined ? {} : { error: result.error }),
        reply: reply ?? null,
        pending
      }))
    } else {
      const c = paint(yield* detectColor)
      // Model text is shown, never obeyed by the terminal (--json gives it exactly).
      if (reply !== undefined && reply.length > 0) yield* Console.log(safe(reply))
      for (const p of pending) {
        yield* Console.log(
          `${c("33", "awaiting approval")}: ${safe(p.toolName)} (call ${safe(p.toolCallId)}); ` +
            `effect-swarm approve ${label} ${safe(p.toolCallId)}   or   effect-swarm deny ${label} ${
              safe(p.toolCallId)
            } --reason "..."`
        )
      }
      if (result.finishReason === "budget_exceeded") {
        yield* Console.error(c("31", `turn ${result.turnId} stopped: budget ${result.limit ?? "exceeded"}`))
      } else if (result.finishReason === "error") {
        yield* Console.error(c("31", `turn ${result.turnId} failed: ${safe(result.error?.message ?? "model error")}`))
      } else if (result.finishReason === "max_steps") {
        yield* Console.error(c("33", `turn ${result.turnId} stopped at the step limit (maxStepsPerTurn)`))
      }
    }
    if (result.finishReason === "awaiting_approval") return yield* new CliExit({ code: ExitCode.awaitingApproval })
    if (result.finishReason === "budget_exceeded" || result.finishReason === "error") {
      return yield* new CliExit({ code: ExitCode.failed })
    }
  })

// Input sent while an earlier turn waits for approval: say which calls, exit 4.
const onAwaiting = (instance: AgentInstance.AgentInstance, options: Options) => (e: { readonly message: string }) =>
  Effect.gen(function*() {
    const pending = yield* AgentInstance.pendingApprovals(instance)
    if (options.json === true) {
      yield* Console.log(JSON.stringify({ instance: instance.label, finishReason: "awaiting_approval", pending }))
    } else {
      yield* Console.error(e.message)
      for (const p of pending) {
        yield* Console.error(`  effect-swarm approve ${instance.label} ${safe(p.toolCallId)}   (${safe(p.toolName)})`)
      }
    }
    return yield* new CliExit({ code: ExitCode.awaitingApproval })
  })

/**
 * Runs one turn of `target` (`agent` or `agent@instanceKey`) with `text` and prints the reply.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Send } from "effect-swarm/cli/Send"
 * Send.send("coordinator@local", "hello", { dir: "examples/bundles/multi-agent" }).pipe(
 *   Effect.provide(NodeContext.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category commands
 */
export const send = Effect.fn("Send.send")(function*(target: string, text: string, options: Options) {
  const { agentName, instanceKey } = yield* Target.parse(target)
  const root = yield* Root.resolve(options.root)
  return yield* Effect.gen(function*() {
    const instance = yield* open(options.dir ?? ".", root, agentName, instanceKey ?? "default", options)
    const result = yield* withSpinner(instance.label, Turn.run(instance, text)).pipe(
      Effect.catchTag("AwaitingApproval", onAwaiting(instance, options))
    )
    yield* print(instance, result, options)
  }).pipe(Effect.scoped, Effect.provide(Host.layer(root)))
})

const decide = (approved: boolean) =>
  Effect.fn(approved ? "Send.approve" : "Send.deny")(
    function*(target: string, callId: string, options: Options & { readonly reason?: string | undefined }) {
      const root = yield* Root.resolve(options.root)
      return yield* Effect.gen(function*() {
        const ref = yield* Target.resolve(target, root, options.workspace)
        const instance = yield* open(options.dir ?? ".", root, ref.agentName, ref.instanceKey, {
          ...options,
          workspace: ref.workspaceId
        })
        const result = yield* withSpinner(
          instance.label,
          approved ? AgentInstance.approve(instance, callId) : AgentInstance.deny(instance, callId, options.reason)
        ).pipe(Effect.catchTag("AwaitingApproval", onAwaiting(instance, options)))
        yield* print(instance, result, options)
      }).pipe(Effect.scoped, Effect.provide(Host.layer(root)))
    }
  )

/**
 * Approves the paused tool call `callId` of `target`; the turn continues (the tool runs) and its reply is
 * printed, or the remaining pending calls when others of the step still wait.
 *
 * @since 0.1.0
 * @category commands
 */
export const approve = decide(true)

/**
 * Denies the paused tool call `callId` (the model reads `E_TOOL_DENIED` with the reason) and continues.
 *
 * @since 0.1.0
 * @category commands
 */
export const deny = decide(false)
