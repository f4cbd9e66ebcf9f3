// The soak test's kit (soak.test.ts): a seeded script of faults, the scripted models and the tool that
// follow it (the only fakes: at the LLM boundary and one in-process tool), probes that tell the driver when
// every busy instance waits on the Clock, and the ledger of what was issued and how it ended.
//
// Every decision is a pure function of (seed, agent, task, step), never of the order in which fibers ran, so
// a seed names one script of faults; crash counts are per (agent, task, step) attempt, so a turn continued
// after its injected crashes goes on.
import { Effect, Exit, Stream } from "effect"
import type { Model, Orchestrator } from "effect-swarm"
import { Message, ModelError, ToolError } from "effect-swarm"

// ---------------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------------

/** FNV-1a of a string: the seed of one decision. */
const hash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** mulberry32: a small PRNG, uniform in [0, 1). */
export const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The PRNG of one decision: the same seed and key give the same numbers, whatever ran before. */
export const decide = (seed: number, key: string) => prng(hash(`${seed}|${key}`))

export const pick = <A>(rnd: () => number, items: ReadonlyArray<A>): A => items[Math.floor(rnd() * items.length)]!

// ---------------------------------------------------------------------------------------------------
// The script: what a model does at one step of one task
// ---------------------------------------------------------------------------------------------------

/** Who may call whom (the fixture bundle's `callableAgents`). */
export const callable: Readonly<Record<string, ReadonlyArray<string>>> = {
  planner: ["coder", "tester", "scribe"],
  coder: ["tester", "scribe"],
  tester: ["scribe", "planner"],
  scribe: []
}

export type Action =
  | { readonly _tag: "Answer" }
  | { readonly _tag: "Work"; readonly mode: "ok" | "fail" | "throw" | "reject" | "die"; readonly sleepMs: number }
  | {
    readonly _tag: "Call"
    readonly tool: "agents__request" | "agents__send"
    readonly target: string
    readonly async: boolean
    readonly timeoutMs: number | undefined
  }

export interface Plan {
  /** Virtual time the model call takes (before it answers, crashes or fails). */
  readonly delayMs: number
  /** The first `crashes` attempts of this step die: the instance crashes and continues the turn after. */
  readonly crashes: number
  /** The attempt after the crashes fails with a typed model error: the turn fails (`AGENT_TURN_FAILED`). */
  readonly fails: boolean
  readonly action: Action
}

/** A task's depth: how many agents passed it on (`task t0-d3.0p.1c` is 2). */
const depth = (task: string) => task.split(".").length - 1

/** The plan of one model call; `final` tasks (the drain at the end) answer at once. */
export const plan = (seed: number, agent: string, task: string, step: number): Plan => {
  if (task.startsWith("final")) return { delayMs: 0, crashes: 0, fails: false, action: { _tag: "Answer" } }
  const rnd = decide(seed, `${agent}|${task}|${step}`)
  const d = rnd()
  let delayMs = d < 0.5 ? 0 : d < 0.93 ? 1_000 + Math.floor(rnd() * 19_000) : 61_000 + Math.floor(rnd() * 60_000)
  const c = rnd()
  let crashes = c < 0.08 ? 1 : step === 0 && c < 0.1 ? 6 + Math.floor(rnd() * 4) : 0
  let fails = rnd() < 0.05
  // Whatever the seed: every 13th task of the driver crashes 6 times in a row (crashLoopBackOff, then it goes
  // on), the one 4 later 9 times (one restart more than policy.restart allows in 60 s: crashed), and the one 3
  // later fails its first model call (the turn fails).
  const driven = /^task [^-]+-d(\d+)$/.exec(task)
  if (driven !== null && step === 0) {
    const n = Number(driven[1]) % 13
    if (n === 9) fails = true
    if (n === 2 || n === 6) {
      crashes = n === 2 ? 6 : 9
      delayMs = 0
    }
  }
  const a = rnd()
  const targets = callable[agent] ?? []
  const acting = step === 0 || (step < 3 && a < 0.25)
  let action: Action = { _tag: "Answer" }
  if (acting) {
    const b = rnd()
    if (targets.length > 0 && depth(task) < 2 && b < 0.55) {
      const kind = rnd()
      const t = rnd()
      action = {
        _tag: "Call",
        tool: kind < 0.7 ? "agents__request" : "agents__send",
        target: pick(rnd, targets),
        async: kind >= 0.4 && kind < 0.7,
        timeoutMs: t < 0.6 ? undefined : 5_000 + Math.floor(rnd() * 115_000)
      }
    } else if (b < 0.85) {
      const m = rnd()
      const s = rnd()
      action = {
        _tag: "Work",
        mode: m < 0.55 ? "ok" : m < 0.7 ? "fail" : m < 0.8 ? "throw" : m < 0.9 ? "reject" : "die",
        sleepMs: s < 0.6 ? 0 : s < 0.95 ? 1_000 + Math.floor(rnd() * 29_000) : 70_000
      }
    }
  }
  return { delayMs, crashes, fails, action }
}

// ---------------------------------------------------------------------------------------------------
// Probes: what the driver waits for before it moves the clock
// ---------------------------------------------------------------------------------------------------

export interface Probes {
  modelActive: number
  modelSleeping: number
  toolActive: number
  /** Tool calls that wait on the Clock or on another instance (a sleeping `soak__work`, a sync request). */
  toolParked: number
  /** Instances (`agent@key`) whose model call died and that have not called their model since: coming back. */
  readonly crashed: Set<string>
}

export const makeProbes = (): Probes => ({
  modelActive: 0,
  modelSleeping: 0,
  toolActive: 0,
  toolParked: 0,
  crashed: new Set()
})

/** The instance key a task belongs to: `task t0-d3.0p` runs on `…@t0` (agents call their own key). */
export const keyOf = (task: string): string => /^task ([^-]+)-/.exec(task)?.[1] ?? "?"

const parkedWhile = <A, E, R>(probes: Probes, field: "modelSleeping" | "toolParked", self: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => void probes[field]++),
    () => self,
    () => Effect.sync(() => void probes[field]--)
  )

// ---------------------------------------------------------------------------------------------------
// The models
// ---------------------------------------------------------------------------------------------------

const textOf = (m: Message.Message | Message.MessageData): { role: string; text: string } => {
  const data: Message.MessageData = "createdAt" in m && "metadata" in m ? (m as Message.Message).data : m
  return { role: data.role, text: data.role === "user" ? Message.text(data) : "" }
}

/** The task of the running turn (its last `task …` / `final …` user message) and the step (answers since). */
export const locate = (request: Model.Request): { readonly task: string; readonly step: number } => {
  let step = 0
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const { role, text } = textOf(request.messages[i]!)
    if (role === "assistant") step++
    if (role === "user" && (text.startsWith("task ") || text.startsWith("final "))) return { task: text, step }
  }
  return { task: "", step }
}

const response = (text: string, toolCalls: ReadonlyArray<Message.ToolCall>): Model.Response => ({
  message: toolCalls.length === 0 ?
    { role: "assistant", content: text } :
    { role: "assistant", content: text, toolCalls },
  text,
  toolCalls,
  finishReason: toolCalls.length === 0 ? "stop" : "tool-calls",
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  metadata: { provider: "scripted" }
})

export interface ModelStats {
  calls: number
  crashes: number
  failures: number
}

/** A task id for the next hop: `task t0-d3.0p` asked by coder at step 1 gives `task t0-d3.0p.1c`. */
const childTask = (task: string, step: number, agent: string) => `${task}.${step}${agent[0]}`

/** The scripted model of `agent`: follows {@link plan}; dies and fails as the script says. */
export const soakModel = (seed: number, agent: string, probes: Probes, stats: ModelStats): Model.Service => {
  const attempts = new Map<string, number>()
  const generate = (request: Model.Request) =>
    Effect.suspend(() => {
      const { step, task } = locate(request)
      const key = `${task}|${step}`
      const attempt = (attempts.get(key) ?? 0) + 1
      attempts.set(key, attempt)
      const p = plan(seed, agent, task, step)
      const address = `${agent}@${keyOf(task)}`
      probes.crashed.delete(address)
      stats.calls++
      const answer = Effect.suspend((): Effect.Effect<Model.Response, ModelError.ModelError> => {
        if (attempt <= p.crashes) {
          stats.crashes++
          probes.crashed.add(address)
          return Effect.die(new Error(`soak: injected crash of ${agent} at ${key} (attempt ${attempt})`))
        }
        if (p.fails && attempt === p.crashes + 1) {
          stats.failures++
          return Effect.fail(
            new ModelError.ModelUnavailable({ provider: "scripted", status: 503, providerMessage: `soak: ${key}` })
          )
        }
        const action = p.action
        const id = `call-${agent}-${hash(key).toString(36)}-${step}`
        switch (action._tag) {
          case "Answer":
            return Effect.succeed(response(`done ${task.slice(5)}`, []))
          case "Work":
            return Effect.succeed(response("", [{ id, name: "soak__work", arguments: action }]))
          case "Call": {
            const args: Record<string, Message.Json> = { target: action.target, input: childTask(task, step, agent) }
            if (action.async) args.async = true
            if (action.timeoutMs !== undefined && action.tool === "agents__request") args.timeoutMs = action.timeoutMs
            return Effect.succeed(response("", [{ id, name: action.tool, arguments: args }]))
          }
        }
      })
      const delayed = p.delayMs === 0 ?
        answer :
        Effect.zipRight(parkedWhile(probes, "modelSleeping", Effect.sleep(p.delayMs)), answer)
      return Effect.acquireUseRelease(
        Effect.sync(() => void probes.modelActive++),
        () => delayed,
        () => Effect.sync(() => void probes.modelActive--)
      )
    })
  return {
    provider: "scripted",
    model: `soak-${agent}`,
    generate,
    stream: (request) =>
      Stream.fromEffect(Effect.map(generate(request), (r) => ({ _tag: "Finish" as const, response: r })))
  }
}

// ---------------------------------------------------------------------------------------------------
// The ledger: every inter-agent call an agent made and how it ended
// ---------------------------------------------------------------------------------------------------

export type CallOutcome =
  | { readonly _tag: "Ok"; readonly correlationId: string | undefined }
  | { readonly _tag: "Typed"; readonly code: string }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Untyped"; readonly detail: string }

export interface AgentCall {
  readonly caller: string
  readonly tool: string
  readonly target: string
  readonly input: string
  readonly async: boolean
  outcome?: CallOutcome
  /** The target's loss epoch (stops and crashed states so far) when the call ended. */
  epoch?: number
}

export interface Ledger {
  readonly calls: Array<AgentCall>
  readonly work: { ok: number; failed: number; interrupted: number }
}

export const makeLedger = (): Ledger => ({ calls: [], work: { ok: 0, failed: 0, interrupted: 0 } })

const correlationOf = (output: unknown): string | undefined => {
  const found = /corr-[A-Za-z0-9_-]+/.exec(JSON.stringify(output ?? null))
  return found === null ? undefined : found[0]
}

/**
 * `setup` of every instance: registers `soak__work` (succeeds, fails, throws, rejects or dies after an
 * optional virtual sleep) and a toolCall middleware that records every inter-agent call's outcome and keeps
 * the probes.
 */
export const soakSetup = (
  probes: Probes,
  ledger: Ledger,
  epochOf: (address: string) => number
): NonNullable<Orchestrator.Options["setup"]> =>
(instance, context) =>
  Effect.gen(function*() {
    const caller = `${context.address.agentName}@${context.address.instanceKey}`
    yield* instance.tools.register(
      {
        name: "soak__work",
        parameters: {
          type: "object",
          properties: { _tag: { type: "string" }, mode: { type: "string" }, sleepMs: { type: "integer" } }
        }
      },
      (args) => {
        const sleepMs = typeof args.sleepMs === "number" ? args.sleepMs : 0
        const work = Effect.suspend((): Effect.Effect<unknown, ToolError.ToolFailure> => {
          switch (args.mode) {
            case "fail":
              return Effect.fail(
                new ToolError.ToolFailure({ name: "SoakFailure", message: "soak: failed", code: "E_SOAK" })
              )
            case "throw":
              return Effect.sync((): void => {
                throw new Error("soak: thrown")
              })
            case "reject":
              return Effect.promise(() => Promise.reject(new Error("soak: rejected")))
            case "die":
              return Effect.die("soak: died")
            default:
              return Effect.succeed({ worked: true })
          }
        })
        return sleepMs === 0 ? work : Effect.zipRight(parkedWhile(probes, "toolParked", Effect.sleep(sleepMs)), work)
      }
    )
    yield* instance.pipeline.register("toolCall", (ctx, next) => {
      const isCall = ctx.toolName === "agents__request" || ctx.toolName === "agents__send"
      const sync = ctx.toolName === "agents__request" && ctx.args.async !== true
      const record: AgentCall | undefined = isCall ?
        {
          caller,
          tool: ctx.toolName,
          target: `${String(ctx.args.target)}@${context.address.instanceKey}`,
          input: String(ctx.args.input),
          async: ctx.args.async === true
        } :
        undefined
      if (record !== undefined) ledger.calls.push(record)
      const run = sync ? parkedWhile(probes, "toolParked", next) : next
      return Effect.acquireUseRelease(
        Effect.sync(() => void probes.toolActive++),
        () => run,
        () => Effect.sync(() => void probes.toolActive--)
      ).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (ctx.toolName === "soak__work") {
              if (Exit.isFailure(exit)) ledger.work.interrupted++
              else if (exit.value.status === "ok") ledger.work.ok++
              else ledger.work.failed++
            }
            if (record === undefined) return
            record.epoch = epochOf(record.target)
            if (Exit.isSuccess(exit)) {
              const r = exit.value
              record.outcome = r.status === "ok" ?
                { _tag: "Ok", correlationId: correlationOf(r.output) } :
                r.error?.code === undefined ?
                { _tag: "Untyped", detail: JSON.stringify(r.error) } :
                { _tag: "Typed", code: r.error.code }
            } else {
              record.outcome = Exit.isInterrupted(exit) ?
                { _tag: "Interrupted" } :
                { _tag: "Untyped", detail: String(exit.cause) }
            }
          })
        )
      )
    })
  })
