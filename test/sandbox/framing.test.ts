/**
 * The host side of the worker protocol, byte by byte (issue 13, E5 and E7): stdout is split into
 * frames and logs in runs (not one callback per line), blank lines survive, captures are fixed-size
 * rings, and a frame another process wrote into is a BadFrame, never data.
 */
import { assert, describe, it } from "@effect/vitest"
import { Capture, frameDigest, FrameParser } from "effect-swarm/sandbox/WorkerProcess"
import type { WorkerEvent } from "effect-swarm/sandbox/WorkerProcess"

const token = "T0KEN"

const frameLine = (message: object): string => {
  const json = JSON.stringify(message)
  return `\n${token} ${json.length} ${frameDigest(json)} ${json}\n`
}

const parse = (chunks: ReadonlyArray<string | Buffer>, maxFrameBytes = 1 << 20) => {
  const logs: Array<Buffer> = []
  const events: Array<WorkerEvent> = []
  const parser = new FrameParser(token, maxFrameBytes, (chunk) => logs.push(Buffer.from(chunk)), (e) => events.push(e))
  for (const chunk of chunks) parser.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
  parser.end()
  return { log: Buffer.concat(logs).toString("utf8"), logCalls: logs.length, events }
}

describe("FrameParser", () => {
  it("keeps the tool's blank lines and drops only the newline the worker writes before a frame", () => {
    const out = parse(["a\n\n\nb\n", frameLine({ t: "hello" }), "\n\nc\n", frameLine({ t: "ready", tools: [] })])
    assert.strictEqual(out.log, "a\n\n\nb\n\n\nc\n")
    assert.deepStrictEqual(out.events.map((e) => e._tag === "Frame" ? e.frame.t : e._tag), ["hello", "ready"])
  })

  it("a blank line right before a frame and output split anywhere are kept exactly", () => {
    const text = `x\n\n${frameLine({ t: "hello" })}y\n\n\nz`
    for (let cut = 0; cut <= text.length; cut++) {
      const out = parse([text.slice(0, cut), text.slice(cut)])
      assert.strictEqual(out.log, "x\n\ny\n\n\nz", `cut at ${cut}`)
      assert.strictEqual(out.events.length, 1, `cut at ${cut}`)
    }
  })

  it("2 MB of two-byte lines go out in a handful of runs, not one callback per line", () => {
    const flood = Buffer.from("a\n".repeat(1024 * 1024))
    const out = parse([flood.subarray(0, 65536), flood.subarray(65536), frameLine({ t: "hello" })])
    assert.strictEqual(out.log.length, flood.length)
    assert.isAtMost(out.logCalls, 4)
    assert.strictEqual(out.events.length, 1)
  })

  it("a frame with bytes mixed in, or a wrong length or digest, is a BadFrame, never data", () => {
    const json = JSON.stringify({ t: "result", id: 1, value: "x".repeat(100) })
    const damaged = `\n${token} ${json.length} ${frameDigest(json)} ${json.slice(0, 50)}GRANDCHILD${json.slice(50)}\n`
    const sameLength = `\n${token} ${json.length} ${frameDigest(json)} ${json.replace("xxxx", "yyyy")}\n`
    const bare = `\n${token} ${json}\n`
    for (const line of [damaged, sameLength, bare]) {
      const out = parse([line])
      assert.strictEqual(out.events.length, 1)
      assert.strictEqual(out.events[0]!._tag, "BadFrame", line.slice(0, 40))
    }
    assert.strictEqual(parse([`\n${token} ${json.length} ${frameDigest(json)} ${json}\n`]).events[0]!._tag, "Frame")
  })

  it("non-ASCII frames: the length and digest are over UTF-16 code units, as the worker computes them", () => {
    const out = parse([frameLine({ t: "result", id: 7, value: "héllo ✓ 🚀" })])
    const event = out.events[0]!
    assert.isTrue(event._tag === "Frame" && event.frame.value === "héllo ✓ 🚀", JSON.stringify(event))
  })
})

describe("Capture", () => {
  const naive = (limit: number, chunks: ReadonlyArray<string>) => {
    const all = Buffer.from(chunks.join(""))
    const headLimit = Math.ceil(limit / 2)
    const tailLimit = limit - headLimit
    if (all.length <= limit) return all.toString("utf8")
    const head = all.subarray(0, headLimit).toString("utf8")
    const tail = all.subarray(all.length - tailLimit).toString("utf8")
    return `${head}\n[... ${all.length - limit} bytes omitted ...]\n${tail}`
  }

  it("keeps head and tail exactly, whatever the chunking", () => {
    const chunks = Array.from({ length: 500 }, (_, i) => `${i}:${"z".repeat(i % 7)}\n`)
    for (const limit of [1, 2, 7, 64, 1000, 100000]) {
      const capture = new Capture(limit)
      for (const chunk of chunks) capture.push(Buffer.from(chunk))
      assert.strictEqual(capture.text(), naive(limit, chunks), `limit ${limit}`)
    }
    const big = new Capture(16)
    big.push(Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz"))
    assert.strictEqual(big.text(), "01234567\n[... 20 bytes omitted ...]\nstuvwxyz")
    assert.strictEqual(big.tailText(4), "wxyz")
    big.reset()
    big.push(Buffer.from("again"))
    assert.strictEqual(big.text(), "again")
    assert.strictEqual(big.omitted, 0)
  })
})
