/**
 * The command tree of the `effect-swarm` CLI. Only the tree (names, arguments, options, help) is loaded
 * at start-up; each command's implementation is imported when that command runs, so `--help` never
 * loads the bundle loader, the agent loop or the stores (the bundled bin splits them into chunks).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { version } from "../version.js"
// Types only (erased): the modules themselves are imported when their command runs.
import type * as InstanceCommands from "./InstanceCommands.js"
import type * as Send from "./Send.js"

// The implementations, imported on first use (a missing chunk is a broken install: a defect).
const lazy = <M>(load: () => Promise<M>) => Effect.promise(load)

const json = Options.boolean("json").pipe(Options.withDescription("print JSON for scripts instead of text"))

const otel = Options.text("otel").pipe(
  Options.withDescription(
    "export traces and metrics over OTLP/HTTP, to this endpoint or (--otel alone) OTEL_EXPORTER_OTLP_ENDPOINT, else " +
      "http://localhost:4318; OTEL_EXPORTER_OTLP_ENDPOINT alone turns it on too"
  ),
  Options.optional
)
// Runs a command with telemetry when --otel or the OTEL_* variables ask for it (see internal/telemetry.ts).
const traced = <A, E, R>(flag: Option.Option<string>, self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(lazy(() => import("./internal/telemetry.js")), (m) => m.traced(flag, self))

const bundleDir = Args.text({ name: "dir" }).pipe(Args.withDescription("the bundle directory"), Args.withDefault("."))
const swarmOption = (description: string) =>
  Options.text("swarm").pipe(Options.withDescription(description), Options.optional)

const validate = Command.make(
  "validate",
  {
    dir: bundleDir,
    json: Options.boolean("json").pipe(Options.withDescription("print the issues as a JSON array"))
  },
  ({ dir, json }) => Effect.flatMap(lazy(() => import("./Validate.js")), (m) => m.validate(dir, { json }))
).pipe(
  Command.withDescription(
    "Load and validate a bundle; print every issue as `file:document path (line N)  CODE  message`. Exits 1 on errors."
  )
)

const workspace = Options.text("workspace").pipe(
  Options.withDescription("the workspace (default: every workspace under the state root)"),
  Options.optional
)
const target = Args.text({ name: "agent@instance" }).pipe(
  Args.withDescription("the instance, as agent@instanceKey (or agent alone when it has one instance)")
)
const orUndefined = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)

// The instance commands' module, imported when one of them runs.
const withInstances = <A, E, R>(f: (m: typeof InstanceCommands) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(lazy(() => import("./InstanceCommands.js")), f)

const instancesList = Command.make(
  "list",
  { workspace, json },
  (o) => withInstances((m) => m.list({ workspace: orUndefined(o.workspace), json: o.json }))
).pipe(Command.withDescription("List the instances under the state root: workspace, agent@instance, status."))

const instancesDelete = Command.make(
  "delete",
  { target, workspace, json },
  (o) => withInstances((m) => m.delete_(o.target, { workspace: orUndefined(o.workspace), json: o.json }))
).pipe(Command.withDescription("Delete an instance: its conversation, runtime events and extension state."))

const instancesRepair = Command.make(
  "repair",
  { target, workspace, json },
  (o) => withInstances((m) => m.repair(o.target, { workspace: orUndefined(o.workspace), json: o.json }))
).pipe(
  Command.withDescription(
    "Salvage a damaged conversation log: keep every valid record, report each dropped line, keep the original."
  )
)

const instances = Command.make("instances").pipe(
  Command.withDescription("List, delete or repair instances."),
  Command.withSubcommands([instancesList, instancesDelete, instancesRepair])
)

const events = Command.make(
  "events",
  {
    target,
    workspace,
    json: Options.boolean("json").pipe(Options.withDescription("print the records as JSON, one per line")),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("keep printing events as they are appended (until Ctrl-C)")
    )
  },
  (o) =>
    Effect.flatMap(
      lazy(() => import("./Events.js")),
      (m) => Effect.scoped(m.events(o.target, { workspace: orUndefined(o.workspace), json: o.json, follow: o.follow }))
    )
).pipe(Command.withDescription("Print an instance's runtime events (turns, steps, tool calls, approvals)."))

const dir = Options.directory("dir").pipe(
  Options.withAlias("d"),
  Options.withDescription("the bundle directory"),
  Options.withDefault(".")
)
const swarm = swarmOption("the Swarm whose policy and workspace apply (default: the one listing the agent)")
const sendOptions = { dir, swarm, workspace, json, otel }
const common = (o: {
  readonly dir: string
  readonly swarm: Option.Option<string>
  readonly workspace: Option.Option<string>
  readonly json: boolean
}) => ({ dir: o.dir, swarm: orUndefined(o.swarm), workspace: orUndefined(o.workspace), json: o.json })
// send / approve / deny: the Send module, imported when the command runs, with telemetry when asked for.
const withSend = <A, E, R>(
  otel: Option.Option<string>,
  f: (m: typeof Send) => Effect.Effect<A, E, R>
) => traced(otel, Effect.flatMap(lazy(() => import("./Send.js")), f))

const send = Command.make(
  "send",
  {
    target: Args.text({ name: "agent[@instance]" }).pipe(
      Args.withDescription("the agent, and its instance (default: agent@default)")
    ),
    text: Args.text({ name: "text" }).pipe(Args.withDescription("the user input")),
    ...sendOptions
  },
  (o) => withSend(o.otel, (m) => m.send(o.target, o.text, common(o)))
).pipe(
  Command.withDescription(
    "Run one turn of an agent of the bundle and print its reply (exit 4: a tool call waits for approval)."
  )
)

const callId = Args.text({ name: "callId" }).pipe(Args.withDescription("the paused tool call's id"))

const approve = Command.make(
  "approve",
  { target, callId, ...sendOptions },
  (o) => withSend(o.otel, (m) => m.approve(o.target, o.callId, common(o)))
).pipe(Command.withDescription("Approve a tool call a turn paused on; the turn continues and its reply prints."))

const deny = Command.make(
  "deny",
  {
    target,
    callId,
    ...sendOptions,
    reason: Options.text("reason").pipe(Options.withDescription("why (the model reads it)"), Options.optional)
  },
  (o) => withSend(o.otel, (m) => m.deny(o.target, o.callId, { ...common(o), reason: orUndefined(o.reason) }))
).pipe(
  Command.withDescription("Deny a tool call a turn paused on (the model reads E_TOOL_DENIED); the turn continues.")
)

const mcp = Command.make(
  "mcp",
  {
    dir: bundleDir,
    swarm: swarmOption("the Swarm to serve (default: the bundle's)"),
    http: Options.integer("http").pipe(
      Options.withDescription("serve Streamable HTTP on 127.0.0.1:<port>/mcp instead of stdio (0: a free port)"),
      Options.optional
    )
  },
  (o) =>
    Effect.flatMap(
      lazy(() => import("./Mcp.js")),
      (m) => m.mcp(o.dir, { swarm: orUndefined(o.swarm), http: orUndefined(o.http) })
    )
).pipe(
  Command.withDescription(
    "Serve a swarm's agents as MCP tools (one per agent: input text, reply text) over stdio or HTTP."
  )
)

const run = Command.make(
  "run",
  {
    dir: bundleDir,
    swarm: swarmOption("the Swarm to run (default: the bundle's only one, or the one named default)"),
    once: Options.text("once").pipe(
      Options.withDescription("send this one message, stream the reply, show the tool calls, and exit"),
      Options.optional
    ),
    to: Options.text("to").pipe(
      Options.withDescription("with --once: agent[@instance] to send it to (default: the entry agent @default)"),
      Options.optional
    ),
    fallbackModel: Options.text("fallback-model").pipe(
      Options.withDescription(
        "a Model of the bundle for agents whose Model has no API key in the environment (a scripted one runs offline)"
      ),
      Options.optional
    ),
    watch: Options.boolean("watch").pipe(
      Options.withDescription(
        "reload what changed when the bundle's files change (only the edited agents restart; an invalid edit keeps the running swarm)"
      )
    ),
    otel
  },
  (o) =>
    traced(
      o.otel,
      Effect.flatMap(
        lazy(() => import("./Run.js")),
        (m) =>
          m.run(o.dir, {
            swarm: orUndefined(o.swarm),
            once: orUndefined(o.once),
            to: orUndefined(o.to),
            fallbackModel: orUndefined(o.fallbackModel),
            watch: o.watch
          })
      )
    )
).pipe(
  Command.withDescription(
    "Run a Swarm of the bundle until Ctrl-C / SIGTERM, or with --once one message: the reply streams, tool calls show."
  )
)

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("effect-swarm").pipe(
  Command.withDescription(
    "Run LLM agents declared as YAML bundles (run, validate, send, instances, events, approve, deny, mcp)."
  ),
  Command.withSubcommands([run, validate, send, instances, events, approve, deny, mcp])
)

/** @internal */
export const options = { json }

const runRoot = Command.run(root, { name: "effect-swarm", version })

/**
 * Runs the CLI on `argv` (as given by `process.argv`). A bare `--otel` (no `http(s)://` endpoint after it)
 * is given the value `env` first (the `OTEL_*` endpoint, else localhost:4318): the parser wants a value.
 *
 * @example
 * ```ts
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Cli } from "effect-swarm/cli/Cli"
 * Cli.cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const cli = (argv: ReadonlyArray<string>) =>
  runRoot(argv.map((arg, i) => arg === "--otel" && !/^https?:\/\//.test(argv[i + 1] ?? "") ? "--otel=env" : arg))
