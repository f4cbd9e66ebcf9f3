/**
 * The worker script every tool process runs: a small dependency-free ES module (it must not import
 * `effect`, which would add 100-300 ms to every cold start) that works unchanged in Bun, Node and Deno.
 *
 * Protocol (one JSON object per line):
 * - host to worker on stdin: `init` (session token, entrypoint file URL, native-tool switches), then
 *   `call` requests (with the tool-call span's `traceparent` as `tp` when the host has one) and `reply`
 *   answers to native-tool calls. Messages run in order, so a cold call is
 *   sent right behind `init`; when stdin ends the worker exits once queued work settles and its frames
 *   are flushed. A cold Bun call without native tools gets the same two lines in a file instead (its
 *   path is the worker's first argument; see `launcher.ts`), imported as a text module, and stdin is
 *   never read: reading a pipe starts Bun's thread pool, which a bare Bun start never does;
 * - worker to host on stdout: every protocol frame is written as
 *   `"\n" + token + " " + length + " " + digest + " " + JSON + "\n"` (length and FNV-1a digest of the
 *   JSON text, so bytes another process mixed in make a damaged frame, a `ProtocolError`).
 *   The token is random per worker process and never exposed to tool code, so whatever the tool
 *   prints (`console.log`, `process.stdout.write` of garbage, unterminated lines) can never be mistaken
 *   for a frame: the host treats every other byte as logs. Frames: `hello` (the handshake, sent before
 *   the entrypoint is imported), `ready` (with the tool names) or `loadError`, then per call `result`,
 *   `notFound`, `threw` (the first and last with `ms`, how long the tool function ran, for the host's
 *   `effect-swarm.sandbox.worker` span), and `native` requests.
 *
 * Why stdout rather than an extra fd: Deno cannot write an inherited descriptor without `--allow-all`,
 * and one uniform design for the three runtimes is easier to reason about and to test. Each runtime's
 * cheapest stdio is used (`Bun.stdin`, with frames through `Bun.stdout.writer()` up to PIPE_BUF bytes and
 * a synchronous `fs.writeSync` above; `Deno.stdin.read`/`Deno.stdout`; `process` on Node): Node-compatible
 * streams cost Bun about 25 ms of start-up, web streams cost Deno about 13 ms.
 *
 * The script is one program, composed here from three pieces of text: the runtime-specific ends (each
 * runtime's stdout, exit and environment before, its stdin after: `sandbox/internal/workerStdio.ts`) around
 * the protocol below, the same for the three runtimes.
 *
 * @since 0.1.0
 */
import { input, output } from "../internal/workerStdio.js"

/**
 * The worker's source text, written to a private temporary directory by the runtime. It contains no
 * backticks and no template substitutions; the entrypoint is sent as a file URL in the `init` message
 * and imported with `import()`, so no path is ever spliced into code.
 *
 * @example
 * ```ts
 * import { source } from "effect-swarm/sandbox/worker/WorkerScript"
 * source.includes("import(") // true
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const source: string = output + String.raw`let token = ""
let tools = null
let native = { agents: false, workflows: false }
let environment = ""
let nextReply = 0
const pendingReplies = new Map()

// FNV-1a over the UTF-16 code units: with the length, lets the host tell a frame another process wrote
// into (a descendant sharing stdout) from a whole one. The host computes the same function.
const digest = (text) => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, "0")
}

const frameJson = (json) => {
  writeRaw("\n" + token + " " + json.length + " " + digest(json) + " " + json + "\n")
}

const frame = (message) => frameJson(JSON.stringify(message))

const safeString = (value) => {
  try { return String(value) } catch (_) { return "[unprintable value]" }
}

const describe = (error) => {
  try {
    if (error !== null && typeof error === "object") {
      const out = {
        name: typeof error.name === "string" ? error.name : "Error",
        message: typeof error.message === "string" ? error.message : safeString(error)
      }
      if (typeof error.stack === "string") out.stack = error.stack
      for (const key of ["code", "suggestion", "helpUrl"]) {
        const v = error[key]
        if (v !== undefined && v !== null) out[key] = safeString(v)
      }
      return out
    }
    return { name: "NonErrorThrown", message: safeString(error) }
  } catch (_) {
    return { name: "NonErrorThrown", message: "[unreadable thrown value]" }
  }
}

const isTable = (value) => value !== null && (typeof value === "object" || typeof value === "function")

// Own-property lookup only: "constructor" or "toString" never resolve to Object.prototype.
const tables = (mod) => {
  const out = []
  if (own.call(mod, "default") && isTable(mod.default) && typeof mod.default !== "function") out.push(mod.default)
  if (own.call(mod, "handlers") && isTable(mod.handlers)) out.push(mod.handlers)
  out.push(mod)
  return out
}

const listTools = (mod) => {
  const names = []
  for (const table of tables(mod)) {
    for (const key of Object.keys(table)) {
      if (table === mod && (key === "default" || key === "handlers")) continue
      let value
      try { value = table[key] } catch (_) { continue }
      if (typeof value === "function" && !names.includes(key)) names.push(key)
    }
  }
  return names
}

const lookup = (mod, id) => {
  for (const table of tables(mod)) {
    if (table === mod && (id === "default" || id === "handlers")) continue
    if (!own.call(table, id)) continue
    const value = table[id]
    if (typeof value === "function") return value
  }
  return undefined
}

const callNative = (kind, callId, target, input, options) => new Promise((resolve, reject) => {
  const rid = ++nextReply
  pendingReplies.set(rid, { resolve, reject })
  frame({ t: "native", id: callId, rid, kind, target, input, options })
})

// The same words as the host's refusal (internal/session.ts).
const disabledBridge = (toolId, bridge, field) => {
  const e = new Error("tool " + JSON.stringify(toolId) + " may not use ctx." + bridge +
    ": it is not in the tool's spec.runtime.nativeTools")
  e.name = "NativeToolDisabled"
  e.suggestion = "declare it in the Tool resource (spec.runtime.nativeTools: [" + bridge + "]), or for tools run " +
    "directly through ToolRuntime, RuntimeConfig.withNativeTools({ " + field + ": true })"
  return Promise.reject(e)
}

// One call of an export of "table"; every frame goes through "emit" (the warm-up below discards them).
const runCall = async (msg, table = tools, emit = frameJson) => {
  // The host may send a call with init, before the handshake: after a loadError there is nothing to run.
  if (table === null) return
  const frame = (message) => emit(JSON.stringify(message))
  let fn
  try {
    fn = lookup(table, msg.tool)
  } catch (error) {
    // An export whose getter throws: the tool's error, not a crash of the worker.
    frame({ t: "threw", id: msg.id, error: describe(error) })
    return
  }
  if (fn === undefined) {
    frame({ t: "notFound", id: msg.id, available: listTools(table) })
    return
  }
  const callEnv = msg.env !== null && typeof msg.env === "object" ? msg.env : {}
  const ctx = { toolId: msg.tool, callId: msg.id, environment, env: Object.assign({}, callEnv) }
  // The tool-call span's W3C traceparent, for tools that forward it on their own requests.
  ctx.traceparent = typeof msg.tp === "string" ? msg.tp : undefined
  // Always present: a bridge the tool did not declare fails with a reason (NativeToolDisabled; the
  // host refuses such a request too); ctx.nativeTools says which ones are declared.
  ctx.nativeTools = { callAgent: native.agents, callWorkflow: native.workflows }
  ctx.callAgent = native.agents ?
    (target, input, options) => callNative("agent", msg.id, target, input, options) :
    () => disabledBridge(msg.tool, "callAgent", "callAgents")
  ctx.callWorkflow = native.workflows ?
    (name, input) => callNative("workflow", msg.id, name, input) :
    () => disabledBridge(msg.tool, "callWorkflow", "callWorkflows")
  const saved = []
  for (const key of Object.keys(callEnv)) {
    saved.push([key, envGet(key)])
    envSet(key, callEnv[key])
  }
  // How long the tool function ran here (ms, monotonic), reported in the outcome frame: the host records
  // it as the call's span inside the worker.
  const started = performance.now()
  try {
    const value = await fn(msg.input, msg.config, ctx)
    const ms = performance.now() - started
    let text
    try {
      text = value === undefined ? undefined : JSON.stringify(value)
    } catch (error) {
      frame({ t: "threw", id: msg.id, error: describe(error), serialization: true, ms })
      return
    }
    if (text === undefined) frame({ t: "result", id: msg.id, undef: true, ms })
    else emit("{\"t\":\"result\",\"id\":" + JSON.stringify(msg.id) + ",\"value\":" + text + ",\"ms\":" + ms + "}")
  } catch (error) {
    frame({ t: "threw", id: msg.id, error: describe(error), ms: performance.now() - started })
  } finally {
    for (const [key, previous] of saved) {
      if (previous === undefined) envDelete(key)
      else envSet(key, previous)
    }
  }
}

const onInit = async (msg) => {
  token = msg.token
  environment = typeof msg.environment === "string" ? msg.environment : ""
  native = { agents: msg.native && msg.native.agents === true, workflows: msg.native && msg.native.workflows === true }
  // The handshake: the runtime started and speaks the protocol. Failures after this are the tool's.
  frame({ t: "hello" })
  try {
    tools = await import(msg.entry)
  } catch (error) {
    frame({ t: "loadError", error: describe(error) })
    return
  }
  frame({ t: "ready", tools: listTools(tools) })
  // A worker started ahead of its call (pre-started or pooled) runs the call path on a built-in export
  // while it waits: a call line parsed, the export run, its frame built and encoded (not written). Once
  // is not enough: Deno's first real call after an idle second took 2-5 ms with one warm-up run and
  // 0.7 ms with several (Bun and Node 0.5 ms either way). Tool code is not touched.
  if (msg.warm === true) {
    const encode = (json) => encoder.encode("\n" + token + " " + json.length + " " + digest(json) + " " + json + "\n")
    for (let i = 0; i < warmRuns; i++) await runCall(JSON.parse(warmLine), warmTable, encode)
  }
}

const warmTable = { warm: (input) => input }
const warmLine = "{\"t\":\"call\",\"id\":0,\"tool\":\"warm\",\"input\":{\"a\":[1,\"b\"]},\"env\":{}}"
const warmRuns = 10

let chain = Promise.resolve()
const onLine = (line) => {
  if (line.length === 0) return
  let msg
  try { msg = JSON.parse(line) } catch (_) { return }
  if (msg === null || typeof msg !== "object") return
  if (msg.t === "init") chain = chain.then(() => onInit(msg))
  else if (msg.t === "call") chain = chain.then(() => runCall(msg))
  else if (msg.t === "reply") {
    const waiter = pendingReplies.get(msg.rid)
    if (waiter === undefined) return
    pendingReplies.delete(msg.rid)
    if (msg.ok) waiter.resolve(msg.value)
    else {
      const e = new Error(msg.error && typeof msg.error.message === "string" ? msg.error.message : "native call failed")
      if (msg.error && typeof msg.error.name === "string") e.name = msg.error.name
      if (msg.error && typeof msg.error.suggestion === "string") e.suggestion = msg.error.suggestion
      waiter.reject(e)
    }
  }
}

let buffered = ""
const onText = (text) => {
  buffered += text
  let nl = buffered.indexOf("\n")
  while (nl !== -1) {
    const line = buffered.slice(0, nl)
    buffered = buffered.slice(nl + 1)
    onLine(line)
    nl = buffered.indexOf("\n")
  }
}

// The host closes stdin when it is done with this worker: exit once queued work settles, even if tool
// code left timers behind.
` + input
