/**
 * Tool names as the model sees them: `{resource}__{export}` (goondan T1).
 *
 * `parse` splits at the first `__` and rejects a name with an empty side or a second `__` after the
 * separator, exactly as the reference: `a___b` is `{a, _b}`, `a__b__c`, `__b`, `a__` and `ab` are not
 * tool names. `make` additionally refuses a resource name ending in `_`, which the reference accepted
 * although the result does not parse back to the same parts (`a_` + `b` gives `a___b` = `{a, _b}`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The separator between the resource and the export name.
 *
 * @since 0.1.0
 * @category constants
 */
export const separator = "__"

/**
 * The two halves of a tool name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parts {
  readonly resourceName: string
  readonly exportName: string
}

/**
 * A tool name could not be built from its parts.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolNameError extends Schema.TaggedError<ToolNameError>("effect-swarm/ToolNameError")("ToolNameError", {
  name: Schema.String,
  message: Schema.String
}) {}

/**
 * Splits a tool name into its resource and export names.
 *
 * @example
 * ```ts
 * import { ToolName } from "effect-swarm"
 * ToolName.parse("bash__exec") // Option.some({ resourceName: "bash", exportName: "exec" })
 * ToolName.parse("a___b") // Option.some({ resourceName: "a", exportName: "_b" })
 * ToolName.parse("a__b__c") // Option.none()
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (name: string): Option.Option<Parts> => {
  const index = name.indexOf(separator)
  if (index <= 0) return Option.none()
  const exportName = name.slice(index + separator.length)
  if (exportName.length === 0 || exportName.includes(separator)) return Option.none()
  return Option.some({ resourceName: name.slice(0, index), exportName })
}

/**
 * Whether a string is a valid tool name.
 *
 * @example
 * ```ts
 * import { ToolName } from "effect-swarm"
 * ToolName.isValid("a_b__c-d") // true
 * ToolName.isValid("ab") // false
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isValid = (name: string): boolean => Option.isSome(parse(name))

/**
 * Builds `{resource}__{export}`, refusing empty parts, parts containing `__`, and a resource name
 * ending in `_` (which would not parse back to the same parts).
 *
 * @example
 * ```ts
 * import { ToolName } from "effect-swarm"
 * ToolName.make("bash", "exec") // Either.right("bash__exec")
 * ToolName.make("bash", "") // Either.left(ToolNameError)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (resourceName: string, exportName: string): Either.Either<string, ToolNameError> => {
  const name = `${resourceName}${separator}${exportName}`
  if (resourceName.length === 0 || exportName.length === 0) {
    return Either.left(new ToolNameError({ name, message: "resourceName and exportName must not be empty" }))
  }
  if (resourceName.includes(separator) || exportName.includes(separator)) {
    return Either.left(new ToolNameError({ name, message: "resourceName and exportName must not include '__'" }))
  }
  if (resourceName.endsWith("_")) {
    return Either.left(
      new ToolNameError({
        name,
        message: `resourceName must not end with '_': '${name}' would read as '${
          resourceName.slice(0, -1)
        }' + '_${exportName}'`
      })
    )
  }
  return Either.right(name)
}
