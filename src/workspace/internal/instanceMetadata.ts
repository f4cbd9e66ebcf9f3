/**
 * What an instance's `metadata.json` holds (its schema and status, public through `Instances`, which
 * re-exports them), the error of a file that does not hold it, and parsing its text.
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * What an instance is doing: waiting for input (`idle`), running a turn (`processing`), or holding a turn
 * paused until tool calls are approved or denied (`awaiting_approval`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Instances } from "effect-swarm"
 * Schema.is(Instances.Status)("processing") // true
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Status = Schema.Literal("idle", "processing", "awaiting_approval", "crashed", "stopped")

/**
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * The content of `metadata.json`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Instances } from "effect-swarm"
 * const read = Schema.decodeUnknownSync(Schema.parseJson(Instances.Metadata))
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metadata = Schema.Struct({
  v: Schema.Literal(1),
  status: Status,
  workspaceId: Schema.String,
  agentName: Schema.String,
  instanceKey: Schema.String,
  createdAt: Schema.String,
  updatedAt: Schema.String,
  /** Why the instance is `crashed` or `stopped` (written by the orchestrator). */
  reason: Schema.optional(Schema.String)
}).annotations({ identifier: "InstanceMetadata" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Metadata extends Schema.Schema.Type<typeof Metadata> {}

/**
 * `metadata.json` exists but is not valid metadata.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Instances } from "effect-swarm"
 * declare const program: Effect.Effect<unknown, Instances.InstancesError>
 * program.pipe(Effect.catchTag("MetadataCorrupt", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class MetadataCorrupt extends Schema.TaggedError<MetadataCorrupt>("effect-swarm/MetadataCorrupt")(
  "MetadataCorrupt",
  { file: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `${this.file}: invalid instance metadata (${this.reason}). Fix or delete the file; it is rewritten ` +
      `whole on the next status change.`
  }
}

const decodeMetadata = ParseResult.decodeUnknownEither(Metadata)

/** Parses the text of `metadata.json` (`file` names it in the error). */
export const parseMetadata = (file: string, raw: string): Effect.Effect<Metadata, MetadataCorrupt> => {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (e) {
    return Effect.fail(
      new MetadataCorrupt({ file, reason: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` })
    )
  }
  const decoded = decodeMetadata(json)
  return decoded._tag === "Right"
    ? Effect.succeed(decoded.right)
    : Effect.fail(new MetadataCorrupt({ file, reason: ParseResult.TreeFormatter.formatIssueSync(decoded.left) }))
}
