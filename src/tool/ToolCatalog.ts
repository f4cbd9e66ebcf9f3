/**
 * The tool catalog: the tools a step offers the model, each with its JSON Schema. The catalog is the
 * guard as well: the executor refuses a call to a tool that is not in the step's catalog.
 *
 * @since 0.1.0
 */

/**
 * A JSON value.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | JsonObject

/**
 * A JSON object.
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonObject {
  readonly [key: string]: JsonValue
}

/**
 * A JSON Schema document (any draft ajv understands: draft-07 by default, `$defs`/`definitions`,
 * `$ref`, `oneOf`, numeric and string constraints, ...).
 *
 * @since 0.1.0
 * @category models
 */
export type JsonSchema = JsonObject

/**
 * Where a catalog item comes from: a Tool resource of the bundle, an extension, or something else.
 *
 * @since 0.1.0
 * @category models
 */
export interface Source {
  readonly type: "config" | "extension" | "native" | (string & {})
  readonly name: string
}

/**
 * One tool offered to the model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCatalogItem {
  /** The tool name, `{resource}__{export}`. */
  readonly name: string
  readonly description?: string | undefined
  /** The arguments' JSON Schema; absent means arguments are not validated. */
  readonly parameters?: JsonSchema | undefined
  readonly source?: Source | undefined
}

/**
 * A catalog: items in the order they are offered.
 *
 * @since 0.1.0
 * @category models
 */
export type ToolCatalog = ReadonlyArray<ToolCatalogItem>

/**
 * The item of a given name, if the catalog has one.
 *
 * @example
 * ```ts
 * import { ToolCatalog } from "effect-swarm"
 * ToolCatalog.find([{ name: "bash__exec" }], "bash__exec") // { name: "bash__exec" }
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const find = (catalog: ToolCatalog, name: string): ToolCatalogItem | undefined => {
  for (let i = 0; i < catalog.length; i++) {
    const item = catalog[i]!
    if (item.name === name) return item
  }
  return undefined
}

/**
 * Merges catalogs in order, keeping the first item of each name (the reference's rule: configured
 * tools win over extension tools of the same name).
 *
 * @example
 * ```ts
 * import { ToolCatalog } from "effect-swarm"
 * ToolCatalog.merge([{ name: "a__x", description: "config" }], [{ name: "a__x" }, { name: "b__y" }])
 * // [{ name: "a__x", description: "config" }, { name: "b__y" }]
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (...catalogs: ReadonlyArray<ToolCatalog>): Array<ToolCatalogItem> => {
  const seen = new Set<string>()
  const out: Array<ToolCatalogItem> = []
  for (const catalog of catalogs) {
    for (const item of catalog) {
      if (seen.has(item.name)) continue
      seen.add(item.name)
      out.push(item)
    }
  }
  return out
}
