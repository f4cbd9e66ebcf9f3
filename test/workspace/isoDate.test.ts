import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as IsoDate from "../../src/workspace/internal/isoDate.js"

// The message codec writes and reads `createdAt` with these instead of the built-ins: they must agree.
describe("isoDate (the message codec's createdAt)", () => {
  it("format is toISOString for every date, in and out of four-digit years", () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (date) => {
        assert.strictEqual(IsoDate.format(date), date.toISOString())
      }),
      { numRuns: 5000 }
    )
    for (const ms of [0, -1, 951_782_400_000, -62_167_219_200_000, 253_402_300_799_999, 253_402_300_800_000]) {
      assert.strictEqual(IsoDate.format(new Date(ms)), new Date(ms).toISOString())
    }
    assert.throws(() => IsoDate.format(new Date(NaN)))
  })

  it("parse reads back every canonical string, and is new Date(s) wherever it answers", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("0000-01-01T00:00:00.000Z"),
          max: new Date("9999-12-31T23:59:59.999Z"),
          noInvalidDate: true
        }),
        (d) => {
          assert.strictEqual(IsoDate.parse(d.toISOString()), d.getTime())
        }
      ),
      { numRuns: 5000 }
    )
    // Arbitrary 24-character strings near the canonical form: an answer is always the built-in's.
    const near = fc.tuple(
      fc.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      fc.nat(23),
      fc.constantFrom("", "x", "-", "9", " ")
    ).map(([s, i, c]) => c === "" ? s : s.slice(0, i) + c + s.slice(i + 1))
    fc.assert(
      fc.property(near, (s) => {
        const ms = IsoDate.parse(s)
        if (ms !== undefined) assert.strictEqual(ms, new Date(s).getTime(), s)
      }),
      { numRuns: 5000 }
    )
    // Out of range fields are left to new Date (lenient about day 31 of a 30-day month; 24:00 and 60 s).
    for (
      const s of [
        "2023-02-29T00:00:00.000Z",
        "2023-04-31T00:00:00.000Z",
        "2023-01-01T24:00:00.000Z",
        "2023-01-01T23:59:60.000Z",
        "2023-13-01T00:00:00.000Z",
        "2023-00-10T00:00:00.000Z",
        "2023-01-01T00:00:00Z"
      ]
    ) {
      assert.strictEqual(IsoDate.parse(s), undefined, s)
    }
    assert.strictEqual(IsoDate.parse("2024-02-29T12:34:56.789Z"), Date.parse("2024-02-29T12:34:56.789Z"))
  })
})
