/**
 * The Tool kind: exports and their JSON Schema parameters.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as RuntimeConfig from "../../../config/RuntimeConfig.js"
import { JsonObject, NonEmptyString, PositiveInt, RelativePath, resource, show } from "./envelope.js"
import { validate as validateJsonSchema } from "./jsonSchemaValidator.generated.js"
import { ToolRuntimeSchema } from "./toolRuntime.js"

const jsonSchemaProblem = (schema: Record<string, unknown>): string | undefined => {
  if (schema.type !== "object") {
    return `parameters must be a JSON Schema with type: object, got type ${show(schema.type)}`
  }
  // The draft-07 meta-schema validator ajv would compile here (~22 ms at start-up), compiled ahead of time.
  if (validateJsonSchema(schema) === true) return undefined
  const { errors } = validateJsonSchema as unknown as {
    readonly errors: ReadonlyArray<{ readonly instancePath: string; readonly message?: string }> | null
  }
  const first = errors?.[0]
  return first === undefined ?
    "parameters is not a valid JSON Schema" :
    `parameters is not a valid JSON Schema: ${first.instancePath || "/"} ${first.message ?? "is invalid"}`
}

const exportName = /^[A-Za-z0-9_-]+$/

/**
 * One function a Tool exposes to the model, as `<tool>__<name>`. `idempotent: true` lets a call that a crash
 * interrupted run again when the turn resumes; `needsApproval: true` pauses the turn for a human decision.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolExport = Schema.Struct({
  name: NonEmptyString.pipe(
    Schema.filter((n) =>
      !exportName.test(n) ?
        `export name ${show(n)} may only contain letters, digits, "_" and "-"` :
        n.includes("__") ?
        `export name ${show(n)} must not contain "__" (it separates the tool and export names)` :
        true
    )
  ),
  description: NonEmptyString,
  parameters: JsonObject.pipe(Schema.filter((s) => jsonSchemaProblem(s) ?? true)),
  /** A call interrupted by a crash may be run again on resume (default `false`: it gets an error result). */
  idempotent: Schema.optional(Schema.Boolean),
  /** A call pauses the turn until it is approved or denied (default `false`). */
  needsApproval: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ToolSpec = Schema.Struct({
  entry: RelativePath("entry"),
  errorMessageLimit: Schema.optional(PositiveInt),
  exports: Schema.Array(ToolExport).pipe(
    Schema.filter((xs) => {
      if (xs.length === 0) return "a Tool must have at least one export"
      const seen = new Set<string>()
      for (let i = 0; i < xs.length; i++) {
        const name = xs[i]!.name
        if (seen.has(name)) return { path: [i, "name"], message: `duplicate export name ${show(name)}` }
        seen.add(name)
      }
      return true
    })
  ),
  runtime: Schema.optional(ToolRuntimeSchema)
})

/** @since 0.1.0 @category schemas */
export const Tool = resource("Tool", ToolSpec).pipe(
  Schema.filter((t) => {
    // A sandboxed entry becomes the RuntimeConfig entrypoint: the same rule applies.
    const entryProblem = t.spec.runtime === undefined ? undefined : RuntimeConfig.checkEntrypoint(t.spec.entry)
    if (entryProblem !== undefined) return { path: ["spec", "entry"], message: entryProblem }
    for (let i = 0; i < t.spec.exports.length; i++) {
      const full = `${t.metadata.name}__${t.spec.exports[i]!.name}`
      if (full.length > 64) {
        return {
          path: ["spec", "exports", i, "name"],
          message: `tool name ${show(full)} is ${full.length} characters; models accept at most 64`
        }
      }
    }
    return true
  })
)
/** @since 0.1.0 @category models */
export type ToolResource = typeof Tool.Type
/** @since 0.1.0 @category models */
export type ToolExport = typeof ToolExport.Type
