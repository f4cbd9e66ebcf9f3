import { assert, describe, it } from "@effect/vitest"
import { Ajv } from "ajv"
import { Effect } from "effect"
import * as fs from "node:fs"
// @ts-expect-error: a plain .mjs script without types
import { generate, target } from "../../scripts/gen-json-schema-validator.mjs"
import { validate } from "../../src/resource/internal/resource/jsonSchemaValidator.generated.js"

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false })
const errorsOf = (f: unknown) => (f as { readonly errors: unknown }).errors

describe("the precompiled JSON Schema meta-schema validator", () => {
  it.effect("is what scripts/gen-json-schema-validator.mjs generates from the installed ajv (not stale)", () =>
    Effect.sync(() => assert.strictEqual(fs.readFileSync(target, "utf8"), generate())))

  it.effect("judges schemas exactly as ajv.validateSchema does, errors included", () =>
    Effect.sync(() => {
      const schemas: ReadonlyArray<Record<string, unknown>> = [
        { type: "object", properties: { a: { type: "string", minLength: 1 } }, required: ["a"] },
        { type: "object", properties: { a: { type: "strin" } } },
        { type: "object", required: "a" },
        { type: "object", properties: { a: { enum: [1, 1] } } },
        { type: "object", properties: { n: { type: "integer", minimum: "0" } }, additionalProperties: 3 },
        { type: "object", allOf: [], items: [{ type: ["string", "string"] }] }
      ]
      for (const schema of schemas) {
        const expected = ajv.validateSchema(schema)
        assert.strictEqual(validate(schema), expected, JSON.stringify(schema))
        assert.deepStrictEqual(errorsOf(validate), expected ? null : ajv.errors, JSON.stringify(schema))
      }
    }))
})
