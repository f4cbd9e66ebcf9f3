/**
 * The runtime-specific parts of the tool worker's script (`worker/WorkerScript.ts`, which composes
 * `output + <protocol> + input` into one program shipped to the child as text): the two ends of the script
 * that talk to Bun, Deno or Node, kept apart from the protocol in between, which is the same for the three.
 *
 * Names the script's parts share (all top-level bindings of the one program):
 * - {@link output} binds `isDeno`, `isBun`, `encoder` (a `TextEncoder`), `own`
 *   (`Object.prototype.hasOwnProperty`), `writeRaw(text)` (one protocol frame, whole, to stdout),
 *   `exitNow(code)` (exit once the frames written are flushed) and `envSet` / `envDelete` / `envGet` (the
 *   process environment, around each call).
 * - {@link input} uses the protocol's `onText(text)` (decoded stdin, any chunking) and `chain` (the promise of
 *   the work queued so far), and `exitNow` when stdin ends.
 *
 * Like the rest of the script: no backticks, no template substitutions, no imports (see `WorkerScript.source`).
 *
 * @internal
 */

/**
 * The script's start: the header line, then each runtime's stdout, exit and environment.
 *
 * @internal
 */
export const output = String.raw`// effect-swarm tool worker (generated, do not edit). Dependency-free on purpose.
const isDeno = typeof globalThis.Deno !== "undefined" && typeof globalThis.Deno.stdin !== "undefined"
// Bun's native stdio, not process.stdin/stdout: setting up those Node-compatible streams costs Bun
// about 25 ms of CPU per start, more than the rest of the worker.
const isBun = !isDeno && typeof globalThis.Bun !== "undefined" && typeof globalThis.Bun.stdin !== "undefined"
const encoder = new TextEncoder()
const own = Object.prototype.hasOwnProperty
let writeRaw
let exitNow
let envSet
let envDelete
let envGet
if (isDeno) {
  const D = globalThis.Deno
  const out = D.stdout
  writeRaw = (s) => {
    const bytes = encoder.encode(s)
    let offset = 0
    while (offset < bytes.length) offset += out.writeSync(bytes.subarray(offset))
  }
  exitNow = (code) => D.exit(code)
  envSet = (k, v) => { try { D.env.set(k, v) } catch (_) {} }
  envDelete = (k) => { try { D.env.delete(k) } catch (_) {} }
  envGet = (k) => { try { return D.env.get(k) } catch (_) { return undefined } }
} else if (isBun) {
  // Frames must reach the pipe whole even when tool code writes to stdout through another writer
  // (process.stdout, Bun.write) with data still pending on a full pipe: flushed alternately, the two
  // would put the tool's bytes inside a result frame. A frame of at most PIPE_BUF bytes (4096 on
  // Linux) goes through Bun's own sink, in one write(2) that the kernel makes atomic on a pipe, now or
  // once the pipe has room; a larger one through node:fs writeSync, waiting out EAGAIN, which blocks
  // the event loop so nothing else reaches the pipe until the frame is complete. node:fs is loaded on
  // the first large frame only: loading it costs Bun about 3 ms of CPU, a third of a cold call's.
  const pipeBuf = 4096
  const sink = globalThis.Bun.stdout.writer()
  // The sink's flush still under way (the pipe was full), or null: later frames queue behind it.
  let pending = null
  let fs = null
  const pause = new Int32Array(new SharedArrayBuffer(4))
  const writeSync = (bytes) => {
    if (fs === null) fs = import.meta.require("node:fs")
    let offset = 0
    while (offset < bytes.length) {
      try {
        offset += fs.writeSync(1, bytes, offset, bytes.length - offset)
      } catch (error) {
        // stdout is non-blocking once tool code created process.stdout: wait for the host to drain it.
        if (error === null || typeof error !== "object" || error.code !== "EAGAIN") throw error
        Atomics.wait(pause, 0, 0, 1)
      }
    }
  }
  const drained = () => {
    pending = null
  }
  writeRaw = (s) => {
    const bytes = encoder.encode(s)
    if (pending === null && bytes.length > pipeBuf) return writeSync(bytes)
    sink.write(bytes)
    const flushed = sink.flush()
    if (typeof flushed === "object" && flushed !== null) pending = flushed.then(drained, drained)
  }
  const proc = globalThis.process
  const exit = proc.exit.bind(proc)
  exitNow = (code) => {
    if (pending === null) exit(code)
    else pending.then(() => exit(code))
  }
  const env = proc.env
  envSet = (k, v) => { env[k] = v }
  envDelete = (k) => { delete env[k] }
  envGet = (k) => env[k]
} else {
  const proc = globalThis.process
  const stdout = proc.stdout
  const write = stdout.write.bind(stdout)
  // A large frame may still be queued when the worker exits (a cold worker exits as soon as its call
  // settles): exit waits until every frame has been handed to the pipe.
  let unflushed = 0
  let onFlushed = null
  const flushed = () => {
    if (--unflushed === 0 && onFlushed !== null) onFlushed()
  }
  writeRaw = (s) => {
    unflushed++
    write(s, flushed)
  }
  const exit = proc.exit.bind(proc)
  exitNow = (code) => {
    if (unflushed === 0) exit(code)
    else onFlushed = () => exit(code)
  }
  const env = proc.env
  envSet = (k, v) => { env[k] = v }
  envDelete = (k) => { delete env[k] }
  envGet = (k) => env[k]
}

`

/**
 * The script's end: reading stdin in each runtime, and exiting once it ends and the queued work settles (the
 * comment that introduces it ends the protocol's text).
 *
 * @internal
 */
export const input = String.raw`if (isDeno && typeof globalThis.Deno.stdin.read === "function") {
  // Deno.stdin.read rather than Deno.stdin.readable: web streams cost Deno about 13 ms of start-up CPU.
  const decoder = new TextDecoder()
  const stdin = globalThis.Deno.stdin
  const buffer = new Uint8Array(65536)
  ;(async () => {
    for (;;) {
      const n = await stdin.read(buffer)
      if (n === null) break
      onText(decoder.decode(buffer.subarray(0, n), { stream: true }))
    }
    chain.then(() => exitNow(0), () => exitNow(0))
  })()
} else if (isDeno || isBun) {
  const readStdin = async () => {
    const decoder = new TextDecoder()
    const reader = (isDeno ? globalThis.Deno.stdin.readable : globalThis.Bun.stdin.stream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      onText(decoder.decode(value, { stream: true }))
    }
    chain.then(() => exitNow(0), () => exitNow(0))
  }
  if (isBun && globalThis.Bun.argv.length > 2) {
    // A cold call (no native tools): the host wrote init and the call to a file of its own, named here,
    // before the spawn. Bun imports a text module without starting its thread pool, which reading a
    // pipe starts (about 1 ms of a 6 ms start when quiet). stdin is read only once the call has settled
    // (its frames written), so the worker still lives until the host ends it or closes stdin, as
    // every worker does.
    ;(async () => {
      const { default: text } = await import(globalThis.Bun.argv[2], { with: { type: "text" } })
      onText(text)
      chain.then(readStdin, readStdin)
    })()
  } else readStdin()
} else {
  const stdin = globalThis.process.stdin
  stdin.setEncoding("utf8")
  stdin.on("data", onText)
  stdin.on("end", () => chain.then(() => exitNow(0), () => exitNow(0)))
}
`
