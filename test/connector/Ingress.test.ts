import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Ingress, Resource } from "effect-swarm"

const connector = Schema.decodeUnknownSync(Resource.Connector)({
  apiVersion: "effect-swarm/v1",
  kind: "Connector",
  metadata: { name: "chat" },
  spec: {
    entry: "./chat.ts",
    events: [{
      name: "message",
      properties: { n: { type: "number", optional: true }, room: { type: "string", optional: true } }
    }]
  }
})

const connection = (rules: ReadonlyArray<unknown> | undefined) =>
  Schema.decodeUnknownSync(Resource.Connection)({
    apiVersion: "effect-swarm/v1",
    kind: "Connection",
    metadata: { name: "chat-in" },
    spec: { connectorRef: "Connector/chat", ...(rules === undefined ? {} : { ingress: { rules } }) }
  })

const route = (rules: ReadonlyArray<unknown> | undefined, event: unknown) =>
  Ingress.route({ connection: connection(rules), connector, entryAgent: "entry" }, event)

describe("Ingress.route", () => {
  it("without rules: the entry agent, the event's instanceKey, else default", () => {
    const keyed = Either.getOrThrow(route(undefined, { name: "message", text: "hi", instanceKey: " k1 " }))
    assert.deepStrictEqual([keyed.agentName, keyed.instanceKey, keyed.rule], ["entry", "k1", undefined])
    assert.strictEqual(Either.getOrThrow(route(undefined, { name: "message", text: "hi" })).instanceKey, "default")
  })

  it("first matching rule wins; numbers match their text; instanceKeyProperty falls back to the event's key when blank", () => {
    const rules = [
      { match: { event: "message", properties: { n: 7 } }, route: { agentRef: "Agent/seven", instanceKey: "fixed" } },
      { match: { event: "message" }, route: { instanceKeyProperty: "room", instanceKeyPrefix: "r-" } },
      { route: { agentRef: "Agent/never" } }
    ]
    const seven = Either.getOrThrow(route(rules, { name: "message", text: "x", properties: { n: 7 } }))
    assert.deepStrictEqual([seven.agentName, seven.instanceKey, seven.rule], ["seven", "fixed", 0])
    const room = Either.getOrThrow(route(rules, { name: "message", text: "x", properties: { room: "a" } }))
    assert.deepStrictEqual([room.agentName, room.instanceKey, room.rule], ["entry", "r-a", 1])
    const blank = Either.getOrThrow(
      route(rules, { name: "message", text: "x", properties: { room: " " }, instanceKey: "ev" })
    )
    assert.strictEqual(blank.instanceKey, "ev")
  })

  it("image and file messages become text the model can read", () => {
    assert.strictEqual(
      Either.getOrThrow(route(undefined, { name: "message", message: { type: "image", url: "http://x/a.png" } })).text,
      "[image] http://x/a.png"
    )
    assert.strictEqual(
      Either.getOrThrow(
        route(undefined, { name: "message", message: { type: "file", url: "http://x/f", name: "f.pdf" } })
      ).text,
      "[file:f.pdf] http://x/f"
    )
  })

  it("a value that is not an event is ConnectorEventInvalid, never a crash", () => {
    for (
      const bad of [null, "message", { name: 3 }, { name: "message", text: "x", properties: [1] }, {
        name: "message",
        text: "x",
        instanceKey: 5
      }]
    ) {
      const r = route(undefined, bad)
      assert.isTrue(Either.isLeft(r))
      if (Either.isLeft(r)) assert.strictEqual(r.left._tag, "ConnectorEventInvalid")
    }
  })

  it("a Connector needs exactly one of entry or builtin", () => {
    const decode = (spec: unknown) =>
      Schema.decodeUnknownEither(Resource.Connector)({
        apiVersion: "effect-swarm/v1",
        kind: "Connector",
        metadata: { name: "c" },
        spec
      })
    const events = [{ name: "e" }]
    assert.isTrue(Either.isRight(decode({ builtin: "http", events })))
    assert.isTrue(Either.isLeft(decode({ events })))
    assert.isTrue(Either.isLeft(decode({ entry: "./c.ts", builtin: "http", events })))
    assert.isTrue(Either.isLeft(decode({ builtin: "Not A Name", events })))
  })
})
