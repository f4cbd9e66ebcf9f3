import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, FastCheck, Schema } from "effect"
import { Conversation, Message, MessageEvent } from "effect-swarm"

const msg = (id: string, content: string, role: Message.Role = "user"): Message.Message => ({
  id,
  data: { role, content },
  metadata: {},
  createdAt: new Date(1_700_000_000_000),
  source: role === "tool" ? { type: "tool", toolCallId: "c1", toolName: "t" } : { type: role }
})

// The obvious, non-incremental definition the reference used: recompute from scratch.
const naive = (base: ReadonlyArray<Message.Message>, events: ReadonlyArray<MessageEvent.MessageEvent>) => {
  let out = base.slice()
  for (const e of events) {
    if (e.type === "append") out.push(e.message)
    else if (e.type === "truncate") out = []
    else {
      const i = out.findIndex((m) => m.id === e.targetId)
      if (i < 0) continue
      if (e.type === "replace") out[i] = e.message
      else out.splice(i, 1)
    }
  }
  return out
}

const ids = ["a", "b", "c", "d"]
const draftArb: FastCheck.Arbitrary<MessageEvent.Draft> = FastCheck.oneof(
  {
    weight: 5,
    arbitrary: FastCheck.tuple(FastCheck.constantFrom(...ids), FastCheck.string()).map(([id, c]) =>
      MessageEvent.append(msg(id, c))
    )
  },
  {
    weight: 2,
    arbitrary: FastCheck.tuple(FastCheck.constantFrom(...ids, "zz"), FastCheck.constantFrom(...ids), FastCheck.string())
      .map(([t, id, c]) => MessageEvent.replace(t, msg(id, c)))
  },
  { weight: 2, arbitrary: FastCheck.constantFrom(...ids, "zz").map((t) => MessageEvent.remove(t)) },
  { weight: 1, arbitrary: FastCheck.constant(MessageEvent.truncate) }
)
const sequence = (drafts: ReadonlyArray<MessageEvent.Draft>) => drafts.map((d, i) => MessageEvent.withSeq(d, i + 1))

describe("Conversation", () => {
  it("MessageEvent.withSeq numbers every kind of draft: its fields in order, then seq, and nothing else", () => {
    const m = msg("m1", "hi")
    const drafts: ReadonlyArray<MessageEvent.Draft> = [
      MessageEvent.append(m),
      MessageEvent.replace("m0", m),
      MessageEvent.remove("m0"),
      MessageEvent.truncate
    ]
    for (const draft of drafts) {
      const event = MessageEvent.withSeq(draft, 7)
      assert.strictEqual(JSON.stringify(event), JSON.stringify({ ...draft, seq: 7 }))
      assert.notStrictEqual<unknown>(event, draft)
      if ("message" in draft) assert.strictEqual((event as { readonly message: unknown }).message, draft.message)
    }
  })

  it("append, replace, remove, truncate", () => {
    const c = Conversation.applyAll(Conversation.make([msg("m1", "one")], { baseSeq: 4 }), [
      { seq: 5, type: "append", message: msg("m2", "two") },
      { seq: 6, type: "replace", targetId: "m1", message: msg("m1-v2", "Updated") },
      { seq: 7, type: "remove", targetId: "m2" }
    ])
    assert.deepStrictEqual(c.messages.map((m) => m.id), ["m1-v2"])
    assert.strictEqual(c.lastSeq, 7)
    assert.strictEqual(c.baseSeq, 4)
    assert.strictEqual(c.events.length, 3)
    assert.deepStrictEqual(c.base.map((m) => m.id), ["m1"])
    const t = Conversation.apply(c, { seq: 8, type: "truncate" })
    assert.deepStrictEqual(t.messages, [])
    assert.deepStrictEqual(c.messages.map((m) => m.id), ["m1-v2"])
  })

  it("replace/remove of an unknown id is a warning, not a crash", () => {
    const c = Conversation.applyAll(Conversation.empty, [
      { seq: 1, type: "append", message: msg("m1", "x") },
      { seq: 2, type: "replace", targetId: "nope", message: msg("n", "y") },
      { seq: 3, type: "remove", targetId: "gone" }
    ])
    assert.deepStrictEqual(c.messages.map((m) => m.id), ["m1"])
    assert.deepStrictEqual(c.warnings, [
      { code: "E_MESSAGE_TARGET_NOT_FOUND", message: "replace target not found: nope", seq: 2, targetId: "nope" },
      { code: "E_MESSAGE_TARGET_NOT_FOUND", message: "remove target not found: gone", seq: 3, targetId: "gone" }
    ])
    assert.deepStrictEqual(Conversation.fold(c).warnings, [])
  })

  it("replace and remove hit the first match only", () => {
    const c = Conversation.applyAll(Conversation.make([msg("x", "1"), msg("x", "2")]), [
      { seq: 1, type: "remove", targetId: "x" }
    ])
    assert.deepStrictEqual(c.messages.map((m) => m.data.content), ["2"])
  })

  it("an event at or below lastSeq is ignored (idempotent replay)", () => {
    const c = Conversation.make([msg("m1", "x")], { baseSeq: 10 })
    const same = Conversation.apply(c, { seq: 10, type: "truncate" })
    assert.strictEqual(same, c)
    assert.strictEqual(Conversation.apply(c, { seq: 11, type: "truncate" }).messages.length, 0)
  })

  it("a duplicate or missing seq is reported as a typed problem, never dropped silently", () => {
    const c = Conversation.applyAll(Conversation.make([], { baseSeq: 2 }), [
      { seq: 1, type: "append", message: msg("old", "folded already") },
      { seq: 3, type: "append", message: msg("m3", "x") },
      { seq: 3, type: "append", message: msg("m3b", "same seq") },
      { seq: 6, type: "append", message: msg("m6", "after a gap") }
    ])
    assert.deepStrictEqual(c.messages.map((m) => m.id), ["m3", "m6"])
    assert.deepStrictEqual(c.seqProblems.map((p) => [p.code, p.seq, p.expected]), [
      ["E_SEQ_DUPLICATE", 3, 4],
      ["E_SEQ_GAP", 6, 4]
    ])
    assert.include(c.seqProblems[1]!.message, "4..5 are missing")
    assert.deepStrictEqual(Conversation.fold(c).seqProblems, [])
    assert.deepStrictEqual(Conversation.make([], { baseSeq: 2 }).seqProblems, [])
  })

  it("values are immutable: diverging branches do not see each other", () => {
    const root = Conversation.apply(Conversation.empty, { seq: 1, type: "append", message: msg("a", "a") })
    const left = Conversation.apply(root, { seq: 2, type: "append", message: msg("l", "l") })
    const right = Conversation.apply(root, { seq: 2, type: "append", message: msg("r", "r") })
    const leftMore = Conversation.apply(left, { seq: 3, type: "append", message: msg("l2", "l2") })
    assert.deepStrictEqual(root.messages.map((m) => m.id), ["a"])
    assert.deepStrictEqual(left.messages.map((m) => m.id), ["a", "l"])
    assert.deepStrictEqual(right.messages.map((m) => m.id), ["a", "r"])
    assert.deepStrictEqual(leftMore.messages.map((m) => m.id), ["a", "l", "l2"])
    assert.deepStrictEqual(root.events.length, 1)
    // truncating then appending must not write into a shared empty array
    const t = Conversation.applyAll(root, [{ seq: 2, type: "truncate" }, {
      seq: 3,
      type: "append",
      message: msg("z", "z")
    }])
    assert.deepStrictEqual(Conversation.empty.messages, [])
    assert.deepStrictEqual(t.messages.map((m) => m.id), ["z"])
  })

  it("applyDraft assigns the next seq", () => {
    const [e1, c1] = Conversation.applyDraft(Conversation.make([], { baseSeq: 3 }), MessageEvent.append(msg("a", "a")))
    const [e2, c2] = Conversation.applyDraft(c1, MessageEvent.remove("a"))
    assert.strictEqual(e1.seq, 4)
    assert.strictEqual(e2.seq, 5)
    assert.deepStrictEqual(c2.messages, [])
  })

  it.prop("incremental fold equals the from-scratch fold, at any fold points", [
    FastCheck.array(draftArb, { maxLength: 60 }),
    FastCheck.array(FastCheck.nat(60), { maxLength: 5 })
  ], ([drafts, foldPoints]) => {
    const events = sequence(drafts)
    let c = Conversation.empty
    const points = new Set(foldPoints)
    events.forEach((e, i) => {
      if (points.has(i)) c = Conversation.fold(c)
      c = Conversation.apply(c, e)
    })
    assert.deepStrictEqual(c.messages, naive([], events))
    assert.deepStrictEqual(Conversation.fromEvents(events).messages, naive([], events))
    assert.strictEqual(c.lastSeq, events.length)
  })
})

describe("Conversation.applyAll (runs of appends pushed in place)", () => {
  // Read through size/messageAt too: `messages` is cached by the first read.
  const state = (c: Conversation.Conversation) => ({
    messages: c.messages.slice(),
    shared: Array.from({ length: Conversation.size(c) }, (_, i) => Conversation.messageAt(c, i)),
    events: c.events.slice(),
    lastSeq: c.lastSeq,
    warnings: c.warnings,
    seqProblems: c.seqProblems
  })
  it.prop("in chunks, from forks, with seq gaps and repeats: the same as apply one by one; views never change", [
    FastCheck.array(draftArb, { maxLength: 40 }),
    FastCheck.array(FastCheck.nat(40), { maxLength: 6 }),
    FastCheck.array(FastCheck.tuple(FastCheck.nat(40), FastCheck.integer({ min: -2, max: 2 })), { maxLength: 4 }),
    FastCheck.array(FastCheck.tuple(FastCheck.nat(10), draftArb), { maxLength: 4 })
  ], ([drafts, cuts, seqShifts, forks]) => {
    const events = sequence(drafts).map((e, i) => {
      const shift = seqShifts.find(([at]) => at === i)?.[1] ?? 0
      return shift === 0 ? e : { ...e, seq: Math.max(0, e.seq + shift) }
    })
    const bounds = [...new Set([0, ...cuts.filter((c) => c <= events.length), events.length])].sort((a, b) => a - b)
    const views: Array<[Conversation.Conversation, ReturnType<typeof state>]> = []
    let chunked = Conversation.empty
    for (let i = 1; i < bounds.length; i++) {
      chunked = Conversation.applyAll(chunked, events.slice(bounds[i - 1], bounds[i]))
      views.push([chunked, state(chunked)])
      // a fork from an earlier view: pushes onto it must not show in the views handed out
      for (const [from, draft] of forks) {
        const [view] = views[from % views.length]!
        Conversation.applyAll(view, [
          MessageEvent.withSeq(draft, view.lastSeq + 1),
          MessageEvent.withSeq(draft, view.lastSeq + 2)
        ])
      }
    }
    let single = Conversation.empty
    for (const e of events) single = Conversation.apply(single, e)
    assert.deepStrictEqual(state(chunked), state(single))
    for (const [view, before] of views) assert.deepStrictEqual(state(view), before)
  })
})

describe("Message", () => {
  const roundTrip = (m: Message.Message) =>
    Schema.decodeUnknownSync(Message.Message)(JSON.parse(JSON.stringify(Schema.encodeSync(Message.Message)(m))))

  it("every field of every role survives a JSON round trip", () => {
    const messages: Array<Message.Message> = [
      { ...msg("s", "You are terse.", "system"), metadata: { pinned: true } },
      {
        id: "u",
        data: {
          role: "user",
          content: [{ type: "text", text: "look" }, {
            type: "image",
            image: "https://x/y.png",
            mediaType: "image/png"
          }],
          locale: "ko"
        },
        metadata: { __inbound: { sourceKind: "connector", n: 1, tags: ["a", null] } },
        createdAt: new Date("2026-01-02T03:04:05.678Z"),
        source: { type: "extension", extensionName: "context-message" }
      },
      {
        id: "a",
        data: {
          role: "assistant",
          content: [{ type: "reasoning", text: "hmm", providerOptions: { anthropic: { signature: "sig" } } }, {
            type: "tool-call",
            toolCallId: "c1",
            toolName: "fs__read",
            input: { path: "/x" }
          }],
          toolCalls: [{ id: "c1", name: "fs__read", arguments: { path: "/x" } }]
        },
        metadata: {},
        createdAt: new Date(5),
        source: { type: "assistant", stepId: "turn-1-step-0" }
      },
      {
        id: "t",
        data: {
          role: "tool",
          content: [{
            type: "tool-result",
            toolCallId: "c1",
            toolName: "fs__read",
            output: { ok: [1, 2] },
            isError: false
          }],
          toolCallId: "c1",
          toolName: "fs__read"
        },
        metadata: {},
        createdAt: new Date(6),
        source: { type: "tool", toolCallId: "c1", toolName: "fs__read" }
      }
    ]
    for (const m of messages) assert.deepStrictEqual(roundTrip(m), m)
  })

  // The schema's index signature lets the generator put a non-string under a declared key such as
  // `name`; such values are not Messages, so keep only what the schema accepts.
  const arb = Arbitrary.make(Message.Message).filter(Schema.is(Message.Message))
  it.prop("arbitrary messages round-trip", [arb], ([m]) => {
    if (Number.isNaN(m.createdAt.getTime())) return
    assert.deepStrictEqual(roundTrip(m), m)
  }, { fastCheck: { numRuns: 100 } })

  it.effect("make draws id and createdAt from Random and Clock", () =>
    Effect.gen(function*() {
      const m = yield* Message.make({ role: "tool", content: "42", toolCallId: "c9", toolName: "calc" })
      assert.match(m.id, /^msg-[0-9a-z]+-[0-9a-z]{12}$/)
      assert.strictEqual(m.createdAt.getTime(), 0)
      assert.deepStrictEqual(m.source, { type: "tool", toolCallId: "c9", toolName: "calc" })
      assert.strictEqual(
        Message.text({
          role: "user",
          content: [{ type: "text", text: "a" }, { type: "image", image: "x" }, { type: "text", text: "b" }]
        }),
        "a\nb"
      )
    }))
})
