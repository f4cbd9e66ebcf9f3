/**
 * The Package kind: a bundle's name, version and dependencies.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { checkPackageName, NonEmptyString, specOptional } from "./envelope.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const PackageDependency = Schema.Struct({
  name: Schema.String.pipe(Schema.filter((n) => checkPackageName(n) ?? true)),
  version: NonEmptyString
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const PackageSpec = Schema.Struct({
  version: Schema.optional(NonEmptyString),
  description: Schema.optional(Schema.String),
  access: Schema.optional(Schema.Literal("public", "restricted")),
  dependencies: Schema.optional(Schema.Array(PackageDependency)),
  registry: Schema.optional(Schema.Struct({ url: NonEmptyString }))
})

/** @since 0.1.0 @category schemas */
export const Package = specOptional("Package", PackageSpec)
/** @since 0.1.0 @category models */
export type PackageResource = typeof Package.Type
