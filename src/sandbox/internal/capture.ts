/**
 * The capped head-and-tail capture of a worker's stdout and stderr (re-exported by `WorkerProcess`).
 *
 * @internal
 */

/**
 * Keeps the first and the last bytes of a stream up to `limit` in total (half each), counting what
 * was dropped in between. Two fixed buffers: the head fills once, the tail is a ring, so a push costs
 * a copy of at most `limit` bytes whatever the number or size of the chunks (no per-chunk allocation,
 * no array of buffers to shift).
 *
 * @example
 * ```ts
 * import { Capture } from "effect-swarm/sandbox/WorkerProcess"
 * const c = new Capture(8)
 * c.push(Buffer.from("0123456789abcdef"))
 * c.text() // "0123\n[... 8 bytes omitted ...]\ncdef"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Capture {
  private readonly headLimit: number
  private readonly tailLimit: number
  private head: Buffer | undefined
  private headSize = 0
  private ring: Buffer | undefined
  /** Next write position in the ring. */
  private ringEnd = 0
  /** Bytes held by the ring (at most `tailLimit`). */
  private ringSize = 0
  /** Every byte pushed, kept or not. */
  total = 0

  constructor(readonly limit: number) {
    this.headLimit = Math.ceil(limit / 2)
    this.tailLimit = limit - this.headLimit
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length
    let rest = chunk
    if (this.headSize < this.headLimit) {
      const take = Math.min(rest.length, this.headLimit - this.headSize)
      this.head ??= Buffer.allocUnsafe(this.headLimit)
      this.head.set(rest.subarray(0, take), this.headSize)
      this.headSize += take
      rest = rest.subarray(take)
    }
    if (rest.length === 0 || this.tailLimit === 0) return
    // Only the last `tailLimit` bytes of the chunk can survive.
    if (rest.length > this.tailLimit) rest = rest.subarray(rest.length - this.tailLimit)
    this.ring ??= Buffer.allocUnsafe(this.tailLimit)
    const first = Math.min(rest.length, this.tailLimit - this.ringEnd)
    this.ring.set(rest.subarray(0, first), this.ringEnd)
    if (first < rest.length) this.ring.set(rest.subarray(first), 0)
    this.ringEnd = (this.ringEnd + rest.length) % this.tailLimit
    this.ringSize = Math.min(this.tailLimit, this.ringSize + rest.length)
  }

  /** Forgets everything (a pooled worker starts each call with empty captures). */
  reset(): void {
    this.headSize = 0
    this.ringEnd = 0
    this.ringSize = 0
    this.total = 0
  }

  /** Bytes dropped between head and tail. */
  get omitted(): number {
    return this.total - this.headSize - this.ringSize
  }

  private tailBytes(): Buffer {
    if (this.ring === undefined || this.ringSize === 0) return Buffer.alloc(0)
    if (this.ringSize < this.tailLimit) return this.ring.subarray(this.ringEnd - this.ringSize, this.ringEnd)
    return Buffer.concat([this.ring.subarray(this.ringEnd), this.ring.subarray(0, this.ringEnd)])
  }

  private headBytes(): Buffer {
    return this.head === undefined ? Buffer.alloc(0) : this.head.subarray(0, this.headSize)
  }

  /** Head, a marker for omitted bytes when any, and tail, as UTF-8 text. */
  text(): string {
    const head = this.headBytes().toString("utf8")
    const tail = this.tailBytes().toString("utf8")
    return this.omitted > 0 ? `${head}\n[... ${this.omitted} bytes omitted ...]\n${tail}` : head + tail
  }

  /** The last `bytes` bytes kept (from the tail, or the head when nothing was dropped). */
  tailText(bytes: number): string {
    const all = this.omitted > 0 ? this.tailBytes() : Buffer.concat([this.headBytes(), this.tailBytes()])
    return (all.length > bytes ? all.subarray(all.length - bytes) : all).toString("utf8")
  }
}
