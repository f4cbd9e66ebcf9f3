/**
 * The worker protocol's framing on stdout: token-prefixed lines with a length and a digest, every
 * other byte kept as log output (re-exported by `WorkerProcess`).
 *
 * @internal
 */

/**
 * A protocol message from the worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface Frame {
  readonly t: string
  readonly [key: string]: unknown
}

/**
 * What the stdout reader and the process report, in arrival order.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkerEvent =
  | { readonly _tag: "Frame"; readonly frame: Frame }
  | { readonly _tag: "BadFrame"; readonly reason: string }
  | { readonly _tag: "StdoutClosed" }
  | { readonly _tag: "Exited" }

const NL = 10
const newline = Buffer.from("\n")

/**
 * The digest a frame carries: FNV-1a (32 bits, hex) over the UTF-16 code units of its JSON text. It
 * detects bytes another process mixed into a frame; it is no defence against the tool itself (see
 * the trust boundary in docs/tools-and-sandbox.md). The worker script computes the same function.
 *
 * @example
 * ```ts
 * import { frameDigest } from "effect-swarm/sandbox/WorkerProcess"
 * frameDigest("{\"t\":\"hello\"}") // 8 hex digits
 * ```
 *
 * @since 0.1.0
 * @category internals
 */
export const frameDigest = (text: string): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, "0")
}

const frameHeader = /^(\d+) ([0-9a-f]{8}) /

/**
 * Splits stdout into frames and log bytes. A frame is a line `token + " " + length + " " + digest +
 * " " + JSON` (length in UTF-16 code units of the JSON, digest {@link frameDigest}); a frame whose
 * length or digest does not match is a `BadFrame`, never data. Log bytes are handed on in runs of
 * whole lines (one call per run, not per line), and only frame lines are accumulated, up to
 * `maxFrameBytes`. The worker writes a newline before every frame; that one newline is dropped, every
 * other byte, blank lines included, is log.
 *
 * @example
 * ```ts
 * import { FrameParser, frameDigest } from "effect-swarm/sandbox/WorkerProcess"
 * const json = JSON.stringify({ t: "ready", tools: [] })
 * const parser = new FrameParser("TOKEN", 1024, (log) => console.log("log", String(log)), (event) => console.log(event))
 * parser.push(Buffer.from(`hello\n\nTOKEN ${json.length} ${frameDigest(json)} ${json}\n`))
 * // log "hello\n", then { _tag: "Frame", frame: { t: "ready", tools: [] } }
 * ```
 *
 * @since 0.1.0
 * @category internals
 */
export class FrameParser {
  private readonly prefix: Buffer
  private mode: "start" | "log" | "frame" | "skip" = "start"
  private matched = 0
  /** A newline seen at the start of a line: the worker's (dropped) if a frame follows, else log. */
  private pendingNewline = false
  private chunks: Array<Buffer> = []
  private size = 0

  constructor(
    token: string,
    private readonly maxFrameBytes: number,
    private readonly onLog: (chunk: Buffer) => void,
    private readonly onEvent: (event: WorkerEvent) => void
  ) {
    this.prefix = Buffer.from(`${token} `, "latin1")
  }

  push(chunk: Buffer): void {
    let i = 0
    const first = this.prefix[0]!
    while (i < chunk.length) {
      if (this.mode === "log") {
        // Runs of lines that cannot start a frame go out in one piece.
        const from = i
        for (;;) {
          const nl = chunk.indexOf(NL, i)
          if (nl === -1) {
            this.onLog(chunk.subarray(from))
            return
          }
          i = nl + 1
          if (i >= chunk.length) break
          const next = chunk[i]
          if (next === NL || next === first) break
        }
        this.onLog(chunk.subarray(from, i))
        this.mode = "start"
        continue
      }
      if (this.mode === "frame" || this.mode === "skip") {
        const nl = chunk.indexOf(NL, i)
        const end = nl === -1 ? chunk.length : nl
        if (this.mode === "frame") {
          this.size += end - i
          if (this.size > this.maxFrameBytes) {
            this.chunks = []
            this.mode = "skip"
            this.onEvent({ _tag: "BadFrame", reason: `a frame exceeded ${this.maxFrameBytes} bytes` })
          } else this.chunks.push(Buffer.from(chunk.subarray(i, end)))
        }
        if (nl === -1) return
        if (this.mode === "frame") this.emit()
        i = nl + 1
        this.mode = "start"
        continue
      }
      // Start of a line: a frame, a blank line, or log text?
      const byte = chunk[i]!
      if (this.matched === 0 && byte === NL) {
        if (this.pendingNewline) this.onLog(newline)
        this.pendingNewline = true
        i++
        continue
      }
      if (byte === this.prefix[this.matched]) {
        this.matched++
        i++
        if (this.matched === this.prefix.length) {
          this.matched = 0
          this.pendingNewline = false
          this.mode = "frame"
          this.chunks = []
          this.size = 0
        }
        continue
      }
      if (this.pendingNewline) this.onLog(newline)
      this.pendingNewline = false
      if (this.matched > 0) this.onLog(this.prefix.subarray(0, this.matched))
      this.matched = 0
      this.mode = "log"
    }
  }

  /** At end of stream: a held newline and a partial prefix are log text. */
  end(): void {
    if (this.pendingNewline) this.onLog(newline)
    this.pendingNewline = false
    if (this.matched > 0) this.onLog(this.prefix.subarray(0, this.matched))
    this.matched = 0
  }

  private emit(): void {
    const text = Buffer.concat(this.chunks).toString("utf8")
    this.chunks = []
    const header = frameHeader.exec(text)
    if (header === null) {
      this.onEvent({ _tag: "BadFrame", reason: `a frame has no length and digest: ${text.slice(0, 200)}` })
      return
    }
    const json = text.slice(header[0].length)
    if (json.length !== Number(header[1]) || frameDigest(json) !== header[2]) {
      this.onEvent({
        _tag: "BadFrame",
        reason:
          `a frame was damaged in transit (${json.length} characters with digest ${frameDigest(json)}, announced ${
            header[1]
          } with ${header[2]}): another process, such as a descendant of the tool ` +
          "sharing its stdout, wrote into it"
      })
      return
    }
    let frame: unknown
    try {
      frame = JSON.parse(json)
    } catch {
      this.onEvent({ _tag: "BadFrame", reason: `a frame is not valid JSON: ${json.slice(0, 200)}` })
      return
    }
    if (frame === null || typeof frame !== "object" || typeof (frame as Frame).t !== "string") {
      this.onEvent({ _tag: "BadFrame", reason: `a frame has no type: ${json.slice(0, 200)}` })
      return
    }
    this.onEvent({ _tag: "Frame", frame: frame as Frame })
  }
}
