/**
 * The hand-written encoder and decoder of message lines against Schema, byte for byte and error for error.
 * Schema is the specification: `MessageEvent` encoded with `Schema.encodeSync` and `JSON.stringify` (`v`
 * first), and decoded with `Schema.decodeUnknown`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Either, FastCheck as fc, Schema } from "effect"
import type { MessageEvent as ME } from "effect-swarm"
import { Jsonl, MessageEvent, MessageStore } from "effect-swarm"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { decodeLine } from "../../src/workspace/internal/jsonlCodec.js"
import { encodeEvents } from "../../src/workspace/internal/messageCodec.js"
import * as MessageText from "../../src/workspace/internal/messageText.js"
import { FsLive, tempRoot } from "./helpers.js"

const schemaEncode = Schema.encodeSync(MessageEvent.MessageEvent)

/** What Schema writes for an event, or its error. */
const viaSchema = (event: unknown): Either.Either<string, Error> => {
  try {
    return Either.right(`{"v":1,${JSON.stringify(schemaEncode(event as ME.MessageEvent)).slice(1)}`)
  } catch (cause) {
    return Either.left(cause as Error)
  }
}

// The first record Schema rebuilds that has an own "__proto__" key (written by hand here, independently of
// the library's check).
const protoRecord = (event: unknown): string | undefined => {
  const own = (u: unknown) => typeof u === "object" && u !== null && Object.hasOwn(u, "__proto__")
  const message = (event as { message?: { data?: { content?: unknown; toolCalls?: unknown }; metadata?: unknown } })
    .message
  if (message === undefined) return undefined
  if (own(message.metadata)) return "message.metadata"
  if (own(message.data)) return "message.data"
  for (const [field, items] of [["content", message.data?.content], ["toolCalls", message.data?.toolCalls]] as const) {
    if (!Array.isArray(items)) continue
    const i = items.findIndex(own)
    if (i >= 0) return `message.data.${field}[${i}]`
  }
  return undefined
}

/** The same codec without the hand-written paths: Schema alone. */
const schemaCodec = Jsonl.codec(MessageEvent.MessageEvent, { version: 1 })

// ---------------------------------------------------------------------------------------------------------
// Hostile values: every character class JSON escapes, lone surrogates, numbers JSON cannot write, values that
// are not JSON at all, keys in any order, extra and `undefined` fields, class instances, odd dates.

const chars = fc.constantFrom(
  "a",
  "Z",
  " ",
  "\"",
  "\\",
  "/",
  "\u0000",
  "\u0007",
  "\n",
  "\u001f",
  "\u007f",
  "é",
  "\u2028",
  "\ud800",
  "\udfff",
  "😀",
  "中"
)
const str = fc.oneof(
  fc.string({ unit: chars, maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ maxLength: 12 })
)
const num = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 0, 1e21, 1e-7, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, 5e-324, NaN, Infinity, -Infinity)
)
class Box {
  constructor(readonly value: number) {}
}
const key = fc.oneof({ weight: 10, arbitrary: str }, { weight: 1, arbitrary: fc.constantFrom("__proto__", "toJSON") })
// Objects from entries, so any key (`__proto__` included) is an own key and the order is the entries' order.
const objectOf = <A>(value: fc.Arbitrary<A>) =>
  fc.array(fc.tuple(key, value), { maxLength: 4 }).map((entries) => Object.fromEntries(entries))
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: str },
    { weight: 4, arbitrary: num },
    fc.boolean(),
    fc.constant(null),
    { weight: 3, arbitrary: fc.array(tie("json"), { maxLength: 3 }) },
    { weight: 3, arbitrary: objectOf(tie("json")) },
    // not JSON
    fc.constantFrom(undefined, () => 1, new Date(0), new Box(1), Symbol.for("s"), 1n, [1, , 2])
  )
}))

/** An object from named fields (absent when the generated value is the `absent` marker) plus extra keys, shuffled. */
const absent = Symbol("absent")
const record = (fields: Record<string, fc.Arbitrary<unknown>>, extras = true) =>
  fc.tuple(
    fc.record(fields),
    extras ? fc.array(fc.tuple(key, json), { maxLength: 2 }) : fc.constant([]),
    fc.boolean(),
    fc.boolean()
  ).map(([known, more, shuffle, prototype]) => {
    let entries = Object.entries(known).filter(([, v]) => v !== absent)
    entries = [...entries, ...more]
    if (shuffle) entries = entries.reverse()
    const o = Object.fromEntries(entries)
    return prototype ? Object.setPrototypeOf(o, Box.prototype) : o
  })
const maybe = <A>(arb: fc.Arbitrary<A>) =>
  fc.oneof({ weight: 6, arbitrary: arb }, { weight: 2, arbitrary: fc.constant(absent) }, {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, 1, null)
  })
const odd = <A>(arb: fc.Arbitrary<A>) =>
  fc.oneof({ weight: 12, arbitrary: arb }, { weight: 1, arbitrary: json }, {
    weight: 1,
    arbitrary: fc.constant(absent)
  })

const part = fc.oneof(
  record({ type: fc.constantFrom("text", "reasoning"), text: odd(str) }),
  record({ type: fc.constant("image"), image: odd(str), mediaType: maybe(str) }),
  record({ type: fc.constant("file"), data: odd(str), mediaType: odd(str), filename: maybe(str) }),
  record({ type: fc.constant("tool-call"), toolCallId: odd(str), toolName: odd(str), input: json }),
  record({
    type: fc.constant("tool-result"),
    toolCallId: odd(str),
    toolName: odd(str),
    output: json,
    isError: maybe(fc.boolean())
  }),
  record({ type: fc.constant("bogus") })
)
const data = record({
  role: odd(fc.constantFrom("system", "user", "assistant", "tool")),
  content: odd(fc.oneof(str, fc.array(part, { maxLength: 3 }))),
  name: maybe(str),
  toolCalls: maybe(fc.array(record({ id: odd(str), name: odd(str), arguments: json }), { maxLength: 2 })),
  toolCallId: maybe(str),
  toolName: maybe(str)
})
const source = fc.oneof(
  record({ type: fc.constantFrom("user", "system") }),
  record({ type: fc.constant("assistant"), stepId: maybe(str) }),
  record({ type: fc.constant("tool"), toolCallId: odd(str), toolName: odd(str) }),
  record({ type: fc.constant("extension"), extensionName: odd(str) }),
  record({
    type: fc.constant("agent"),
    kind: odd(fc.constantFrom("request", "send", "reply")),
    agentName: odd(str),
    instanceKey: odd(str),
    correlationId: odd(str)
  }),
  record({ type: odd(str) })
)
class OtherDate extends Date {
  override toISOString() {
    return "other"
  }
}
const createdAt = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -1e13, max: 1e13 }).map((ms) => new Date(ms)) },
  fc.date(),
  fc.constantFrom(
    new Date(NaN),
    new Date(253_402_300_800_000),
    new Date(-62_167_219_200_001),
    new OtherDate(0),
    "2024-01-01T00:00:00.000Z",
    0
  )
)
const message = record({
  id: odd(fc.oneof({ weight: 8, arbitrary: str }, { weight: 1, arbitrary: fc.constant("") })),
  data: odd(data),
  metadata: odd(fc.oneof(objectOf(json), fc.constant({}))),
  createdAt: odd(createdAt),
  source: odd(source)
})
const seq = fc.oneof({ weight: 8, arbitrary: fc.nat() }, {
  weight: 1,
  arbitrary: fc.constantFrom(-1, -0, 1.5, NaN, Infinity, 2 ** 53, "1")
})
const hostileEvent: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: record({ seq, type: fc.constant("append"), message }, false) },
  { weight: 2, arbitrary: record({ seq, type: fc.constant("replace"), targetId: odd(str), message }, false) },
  record({ seq, type: fc.constant("remove"), targetId: odd(str) }, false),
  record({ seq, type: fc.constant("truncate") }, false),
  record({ seq, type: odd(str) }, false)
)

describe("message lines: the hand-written encoder writes what Schema writes", () => {
  it.prop("a generated event: the same text, byte for byte, and the fast path takes it", [
    Arbitrary.make(MessageEvent.MessageEvent)
  ], ([event]) => {
    const expected = viaSchema(event)
    if (Either.isLeft(expected)) {
      // Schema's own arbitrary makes invalid dates: refused either way.
      assert.isTrue("message" in event && Number.isNaN(event.message.createdAt.getTime()))
      return
    }
    assert.strictEqual(MessageStore.eventCodec.encode(event), expected.right)
    const fast = MessageText.eventLine(event, 1)
    const time = "message" in event ? event.message.createdAt.getTime() : 0
    // Only a year outside 0-9999, or an integer-like key next to a struct's fields (it would come first), goes
    // the general way.
    if (fast !== undefined) assert.strictEqual(fast, expected.right)
    else {
      assert.isTrue(
        time < -62_167_219_200_000 || time > 253_402_300_799_999 || /[{,]"\d/.test(expected.right),
        `the fast path refused ${expected.right}`
      )
    }
    assert.deepStrictEqual(encodeEvents([event]), Either.right(expected.right + "\n"))
  }, { timeout: 120_000, fastCheck: { numRuns: 200 } })

  it.prop("a hostile event: the same text, or the same typed error", [hostileEvent], ([event]) => {
    const expected = viaSchema(event)
    const fast = MessageText.eventLine(event as ME.MessageEvent, 1)
    const stored = encodeEvents([event as ME.MessageEvent])
    if (Either.isRight(expected)) {
      if (fast !== undefined) assert.strictEqual(fast, expected.right)
      assert.strictEqual(MessageStore.eventCodec.encode(event as ME.MessageEvent), expected.right)
      // Stored as Schema writes it, unless Schema's text lost an own "__proto__" key of a record it rebuilds
      // (refused, naming the record) or would not read back (refused, with the decoder's reason).
      const back = schemaCodec.decode(JSON.parse(expected.right))
      const proto = protoRecord(event)
      if (proto !== undefined) {
        assert.strictEqual(Either.isLeft(stored) && stored.left.reason.split(" has a key")[0], proto)
      } else if (Either.isRight(back)) assert.deepStrictEqual(stored, Either.right(expected.right + "\n"))
      else assert.strictEqual(Either.isLeft(stored) && stored.left.reason, back.left.reason)
    } else {
      assert.strictEqual(fast, undefined, `fast path wrote ${fast} where Schema fails: ${expected.left.message}`)
      assert.throws(() => MessageStore.eventCodec.encode(event as ME.MessageEvent), expected.left.message)
      assert.isTrue(Either.isLeft(stored))
      if (Either.isLeft(stored)) {
        assert.strictEqual(stored.left._tag, "InvalidMessage")
        assert.strictEqual(stored.left.index, 0)
        assert.strictEqual(stored.left.reason, `it cannot be encoded as JSON (${expected.left.message})`)
      }
    }
  }, { timeout: 120_000, fastCheck: { numRuns: 1000 } })

  it("examples: escapes, lone surrogates, -0, big numbers, every source, NaN refused", () => {
    const at = new Date(Date.UTC(2026, 11, 4, 22, 30, 1, 7))
    const sources = [
      { type: "user" },
      { type: "system" },
      { type: "assistant" },
      { type: "assistant", stepId: "s\"1" },
      { type: "tool", toolCallId: "c1", toolName: "t" },
      { type: "extension", extensionName: "x" },
      { type: "agent", kind: "reply", agentName: "a", instanceKey: "k", correlationId: "c" }
    ] as const
    for (const source of sources) {
      const event: ME.MessageEvent = {
        seq: -0,
        type: "append",
        message: {
          id: "m\u2028\ud800😀",
          data: { role: "user", content: "a\"b\\c\n\u0000\udfff", extra: [1e21, -0, 5e-324] },
          metadata: { n: 2 ** 53, s: "\u001f" },
          createdAt: at,
          source
        }
      }
      const line = MessageText.eventLine(event, 1)
      assert.isDefined(line)
      assert.strictEqual(line, Either.getOrThrow(viaSchema(event)))
      assert.include(line!, `"createdAt":"2026-12-04T22:30:01.007Z"`)
    }
    const nan: ME.MessageEvent = {
      seq: 1,
      type: "append",
      message: {
        id: "m",
        data: { role: "user", content: "" },
        metadata: { n: NaN },
        createdAt: at,
        source: { type: "user" }
      }
    }
    assert.isUndefined(MessageText.eventLine(nan, 1))
    assert.isTrue(Either.isLeft(encodeEvents([nan])))
  })
})

// ---------------------------------------------------------------------------------------------------------
// Decoding: lines as they are written, and the same lines damaged.

const damage = fc.oneof(
  fc.constant((line: string) => line),
  fc.nat().map((n) => (line: string) => line.slice(0, n % (line.length + 1))),
  fc.tuple(
    fc.constantFrom("\"seq\":", "\"type\":", "\"id\":", "\"role\":", "\"createdAt\":", "\"source\":", "\"v\":"),
    fc.jsonValue()
  )
    .map(([field, value]) => (line: string) => {
      const at = line.indexOf(field)
      if (at < 0) return line
      const text = JSON.stringify(value)
      // the value after the field name, up to the next comma or brace, replaced with other JSON
      const end = line.slice(at + field.length).search(/[,}]/)
      return line.slice(0, at + field.length) + text + line.slice(at + field.length + Math.max(0, end))
    }),
  fc.constantFrom(
    (line: string) => line.replace("\"createdAt\":\"", "\"createdAt\":\"+0"),
    (line: string) => line.replace(/\.\d{3}Z/, "Z"),
    (line: string) => line.replace("}", ",\"extra\":1}"),
    (line: string) => line.replace("\"v\":1", "\"v\":2"),
    (line: string) => line.replace("\"v\":1", "\"v\":0"),
    (line: string) => line.replace("\"user\"", "\"nobody\""),
    (line: string) => `${line}x`,
    () => "\u0000\u0000\u0000",
    () => "[]",
    () => "{\"toString\":false,\"v\":1}"
  )
)

describe("own \"__proto__\" keys and deep nesting: never lost, never read two ways", () => {
  const file = "/data/events.jsonl"
  const line = (message: string) => `{"v":1,"seq":1,"type":"append","message":${message}}`
  const msgText = (data: string, metadata = "{}") =>
    `{"id":"m","data":${data},"metadata":${metadata},"createdAt":"2026-12-05T08:00:00.000Z","source":{"type":"user"}}`
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n)

  it("a line with an own __proto__ key where Schema rebuilds the record: the fast path leaves it to Schema", () => {
    const lines = [
      line(msgText(`{"role":"user","content":"x"}`, `{"__proto__":{"admin":true}}`)),
      line(msgText(`{"role":"user","content":"x","__proto__":1}`)),
      line(msgText(`{"role":"assistant","content":[{"type":"text","text":"t","__proto__":{"a":1}}]}`)),
      line(
        msgText(`{"role":"assistant","content":"","toolCalls":[{"id":"c","name":"t","arguments":{},"__proto__":2}]}`)
      )
    ]
    for (const text of lines) {
      assert.isUndefined(MessageStore.decodeEventFast(JSON.parse(text)), text)
      assert.deepStrictEqual(
        decodeLine(MessageStore.eventCodec, file, 3, text),
        decodeLine(schemaCodec, file, 3, text),
        text
      )
    }
  })

  it("nesting past Message.isJson's 256 levels: refused alike by both paths, naming the line", () => {
    for (
      const text of [
        line(
          msgText(
            `{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c","toolName":"t","input":${deep(300)}}]}`
          )
        ),
        line(msgText(`{"role":"user","content":"x","extra":${deep(300)}}`)),
        line(msgText(`{"role":"user","content":"x"}`, `{"deep":${deep(300)}}`))
      ]
    ) {
      assert.isUndefined(MessageStore.decodeEventFast(JSON.parse(text)))
      const fast = decodeLine(MessageStore.eventCodec, file, 3, text)
      assert.isTrue(Either.isLeft(fast))
      assert.deepStrictEqual(fast, decodeLine(schemaCodec, file, 3, text))
    }
    // 256 levels inside a tool input are fine on both paths.
    const ok = line(
      msgText(
        `{"role":"assistant","content":[{"type":"tool-call","toolCallId":"c","toolName":"t","input":${deep(200)}}]}`
      )
    )
    assert.isDefined(MessageStore.decodeEventFast(JSON.parse(ok)))
  })

  it("a __proto__ key inside a tool input (a value kept as it is) is stored and reads back as an own key", () => {
    const input = JSON.parse(`{"__proto__":{"admin":true},"q":1}`)
    const event: ME.MessageEvent = {
      seq: 1,
      type: "append",
      message: {
        id: "m",
        data: { role: "assistant", content: [{ type: "tool-call", toolCallId: "c", toolName: "t", input }] },
        metadata: {},
        createdAt: new Date(0),
        source: { type: "assistant" }
      }
    }
    const stored = Either.getOrThrow(encodeEvents([event]))
    const back = Either.getOrThrow(decodeLine(MessageStore.eventCodec, file, 1, stored.trimEnd()))
    const part = (back as unknown as { message: { data: { content: Array<{ input: object }> } } }).message.data
      .content[0]!
    assert.isTrue(Object.hasOwn(part.input, "__proto__"))
    assert.isUndefined((part.input as { admin?: boolean }).admin)
  })

  it("an own __proto__ key in a record Schema rebuilds is refused naming the record, never dropped", () => {
    const event = (metadata: Record<string, never>): ME.MessageEvent => ({
      seq: 1,
      type: "append",
      message: {
        id: "m",
        data: { role: "user", content: "x" },
        metadata,
        createdAt: new Date(0),
        source: { type: "user" }
      }
    })
    const stored = encodeEvents([event(JSON.parse(`{"__proto__":{"admin":true},"n":1}`))])
    assert.isTrue(Either.isLeft(stored))
    if (Either.isLeft(stored)) {
      assert.strictEqual(stored.left._tag, "InvalidMessage")
      assert.include(stored.left.reason, `message.metadata has a key named "__proto__"`)
    }
  })
})

describe("message lines: the fast decoder reads what Schema reads", () => {
  const file = "/data/events.jsonl"
  it.prop("same value, or the same typed error naming the file and line", [
    fc.oneof(hostileEvent, Arbitrary.make(MessageEvent.MessageEvent)),
    damage,
    fc.integer({ min: 1, max: 1e6 })
  ], ([event, damageLine, lineNo]) => {
    const written = viaSchema(event)
    if (Either.isLeft(written)) return
    const line = damageLine(written.right)
    const fast = decodeLine(MessageStore.eventCodec, file, lineNo, line)
    const slow = decodeLine(schemaCodec, file, lineNo, line)
    assert.deepStrictEqual(fast, slow)
    if (Either.isLeft(fast)) {
      assert.strictEqual(fast.left.file, file)
      assert.strictEqual(fast.left.line, lineNo)
    }
  }, { timeout: 120_000, fastCheck: { numRuns: 1000 } })

  it.effect("a damaged line in the middle of a real file: the same error through either codec", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const events = path.join(root, "events.jsonl")
      const good = (seq: number) => Either.getOrThrow(viaSchema(MessageEvent.withSeq(MessageEvent.truncate, seq)))
      nodeFs.writeFileSync(events, `${good(1)}\n${good(2)}\n{"v":1,"seq":3,"type":"append","message":{}}\n${good(4)}\n`)
      const fast = yield* Effect.flip(Jsonl.readAll(events, MessageStore.eventCodec))
      const slow = yield* Effect.flip(Jsonl.readAll(events, schemaCodec))
      assert.deepStrictEqual(fast, slow)
      assert.strictEqual(fast._tag, "JsonlCorruptLine")
      if (fast._tag === "JsonlCorruptLine") {
        assert.strictEqual(fast.file, events)
        assert.strictEqual(fast.line, 3)
      }
    }).pipe(Effect.provide(FsLive), Effect.scoped))
})
