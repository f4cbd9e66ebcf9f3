/**
 * The typed failure of loading an extension: its module cannot be imported, it has no `register`
 * function, or `register` threw, rejected or did not finish in time.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why an extension did not load.
 *
 * - `E_EXT_LOAD`: the module has no `register` function (the reference's code for this case);
 * - `E_EXT_IMPORT`: the entry module cannot be imported (missing file, syntax error, a throw at
 *   module top level);
 * - `E_EXT_INIT`: `register` threw, rejected, or did not settle within the register timeout;
 * - `E_EXT_DUPLICATE`: the agent uses two extensions of the same name (their state files would collide);
 * - `E_EXT_AGENT_NOT_FOUND`: the agent the environment is built for is not in the bundle;
 * - `E_EXT_NO_STATE`: a durable agent instance was given extensions and no `ExtensionState` service;
 * - `E_EXT_OPTIONS`: `Extension.load`'s `handlerTimeout` or `maxEventChain` is not a valid value.
 *
 * @since 0.1.0
 * @category models
 */
export const Code = Schema.Literal(
  "E_EXT_LOAD",
  "E_EXT_IMPORT",
  "E_EXT_INIT",
  "E_EXT_DUPLICATE",
  "E_EXT_AGENT_NOT_FOUND",
  "E_EXT_NO_STATE",
  "E_EXT_OPTIONS"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Code = typeof Code.Type

/**
 * An extension could not be loaded. It names the extension, its entry module, the YAML file that
 * declares it (when it comes from a bundle) and what to do about it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Extension } from "effect-swarm"
 * import { ExtensionError } from "effect-swarm"
 * declare const env: Effect.Effect<Extension.Environment, ExtensionError.ExtensionLoadError>
 * env.pipe(Effect.catchTag("ExtensionLoadError", (e) => Effect.logError(`${e.message}\n${e.suggestion}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ExtensionLoadError extends Schema.TaggedError<ExtensionLoadError>("effect-swarm/ExtensionLoadError")(
  "ExtensionLoadError",
  {
    code: Code,
    /** The extension's name (`metadata.name`). */
    extension: Schema.String,
    /** The entry module, absolute. */
    file: Schema.String,
    /** Where the Extension resource is declared (bundle-relative display path), when known. */
    resourceFile: Schema.optional(Schema.String),
    /** What went wrong, in one line. */
    reason: Schema.String,
    suggestion: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    const where = this.resourceFile === undefined ? this.file : `${this.file} (declared in ${this.resourceFile})`
    return `[${this.code}] Extension/${this.extension}: ${this.reason}: ${where}`
  }
}
