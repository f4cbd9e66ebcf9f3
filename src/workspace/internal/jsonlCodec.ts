/**
 * The line codec of versioned JSONL files and its errors (see `Jsonl`).
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { StorageIoError } from "../AtomicFile.js"

/**
 * A line in the middle of a JSONL file is not a valid record. The file is not modified; `line` is 1-based.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Jsonl } from "effect-swarm"
 * declare const program: Effect.Effect<void, Jsonl.JsonlError>
 * program.pipe(Effect.catchTag("JsonlCorruptLine", (e) => Effect.logError(`${e.file}:${e.line} ${e.reason}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonlCorruptLine extends Schema.TaggedError<JsonlCorruptLine>("effect-swarm/JsonlCorruptLine")(
  "JsonlCorruptLine",
  { file: Schema.String, line: Schema.Number, reason: Schema.String, excerpt: Schema.String }
) {
  override get message(): string {
    return `${this.file}:${this.line}: corrupt record (${this.reason}): ${this.excerpt}. The file was not modified; ` +
      `fix or remove that line by hand, or restore the file from a backup.`
  }
}

/**
 * A record carries a schema version `v` this reader cannot read: newer than the current version, not an
 * integer, or older with no registered upcaster.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Jsonl } from "effect-swarm"
 * declare const program: Effect.Effect<void, Jsonl.JsonlError>
 * program.pipe(Effect.catchTag("JsonlUnknownVersion", (e) => Effect.logError(e.message)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonlUnknownVersion extends Schema.TaggedError<JsonlUnknownVersion>("effect-swarm/JsonlUnknownVersion")(
  "JsonlUnknownVersion",
  { file: Schema.String, line: Schema.Number, version: Schema.String, supported: Schema.Number }
) {
  override get message(): string {
    return `${this.file}:${this.line}: record version ${this.version} is not supported (this build reads up to ` +
      `v${this.supported}). Upgrade effect-swarm, or register an upcaster for that version.`
  }
}

/**
 * Every failure of this module.
 *
 * @since 0.1.0
 * @category errors
 */
export type JsonlError = JsonlCorruptLine | JsonlUnknownVersion | StorageIoError

/**
 * A record type with its current version and the upcasters that bring older versions up to it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Codec<A> {
  readonly version: number
  /** One line without the trailing newline, `v` first. */
  readonly encode: (record: A) => string
  /** Decodes a parsed line; `Left` holds a readable reason. */
  readonly decode: (json: unknown) => Either.Either<A, { readonly reason: string; readonly version?: string }>
  /**
   * The hand-written decoder alone, when the codec has one: the record of a parsed line of the current
   * version, or `undefined` for anything it does not take (then `decode` gives the value or the reason). It may
   * reuse the parsed objects. Used by the reader to skip an `Either` per line.
   */
  readonly decodeFast?: ((json: unknown) => A | undefined) | undefined
}

/**
 * Upgrades a record of version `n` (the key) to version `n + 1`.
 *
 * @since 0.1.0
 * @category models
 */
export type Upcasters = { readonly [fromVersion: number]: (record: Record<string, unknown>) => Record<string, unknown> }

/**
 * A codec for a schema: lines are `{"v":<version>,...encoded fields}`. `upcasters[n]` turns a version-`n`
 * record (without `v`) into a version-`n + 1` one. `encode` may be replaced by a faster hand-written encoder
 * that produces the same JSON as `Schema.encode` (used for message events on the hot path).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Jsonl } from "effect-swarm"
 * const Note = Schema.Struct({ text: Schema.String, tags: Schema.Array(Schema.String) })
 * const codec = Jsonl.codec(Note, {
 *   version: 2,
 *   upcasters: { 1: (r) => ({ ...r, tags: [] }) } // v1 records had no tags
 * })
 * codec.encode({ text: "hi", tags: [] }) // '{"v":2,"text":"hi","tags":[]}'
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const codec = <A, I>(
  schema: Schema.Schema<A, I>,
  options: {
    readonly version: number
    readonly upcasters?: Upcasters | undefined
    readonly encode?: ((record: A) => I) | undefined
    /**
     * A hand-written writer of the whole line (`v` first) for the hot path: returns the line, or
     * `undefined` to fall back to `encode`. It must produce the same JSON text as the fallback.
     */
    readonly encodeLine?: ((record: A, version: number) => string | undefined) | undefined
    /**
     * A hand-written validator for the current version: returns the decoded record, or `undefined` to
     * fall back to the schema (which then produces the value or the precise error). It must accept only
     * what the schema accepts and return what the schema would. It may reuse (and change) the parsed objects
     * it is given, but only when it returns a record.
     */
    readonly decodeFast?: ((record: Record<string, unknown>) => A | undefined) | undefined
  }
): Codec<A> => {
  const version = options.version
  const upcasters = options.upcasters ?? {}
  const encodeSchema = ParseResult.encodeSync(schema)
  const toEncoded = options.encode ?? encodeSchema
  const decodeSchema = ParseResult.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
  const decodeFast = options.decodeFast
  return {
    version,
    decodeFast: decodeFast === undefined ?
      undefined :
      (json) =>
        typeof json === "object" && json !== null && (json as Record<string, unknown>).v === version &&
          !Array.isArray(json)
          ? decodeFast(json as Record<string, unknown>)
          : undefined,
    encode: (record) => {
      const line = options.encodeLine?.(record, version)
      if (line !== undefined) return line
      const encoded = toEncoded(record)
      const body = JSON.stringify(encoded)
      // `v` first, so a human reading the file sees the version at the start of every line.
      return body === "{}" ? `{"v":${version}}` : `{"v":${version},${body.slice(1)}`
    },
    decode: (json) => {
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return Either.left({ reason: "not a JSON object" })
      }
      const v = (json as Record<string, unknown>).v
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > version) {
        return Either.left({ reason: "unsupported version", version: JSON.stringify(v) ?? "undefined" })
      }
      if (v === version && options.decodeFast !== undefined) {
        // The fast decoder builds fresh objects from known fields, so `v` needs no stripping.
        const fast = options.decodeFast(json as Record<string, unknown>)
        if (fast !== undefined) return Either.right(fast)
      }
      const { v: _v, ...rest } = json as Record<string, unknown>
      let record: Record<string, unknown> = rest
      for (let n = v; n < version; n++) {
        const up = upcasters[n]
        if (up === undefined) return Either.left({ reason: "no upcaster", version: String(v) })
        record = up(record)
      }
      // Effect's issue formatter calls String() on the offending value, which throws for JSON such as
      // {"toString": false}; a damaged line must still come back as a typed corrupt-record error.
      try {
        const decoded = decodeSchema(record)
        return Either.isRight(decoded)
          ? Either.right(decoded.right)
          : Either.left({ reason: ParseResult.TreeFormatter.formatIssueSync(decoded.left) })
      } catch (cause) {
        return Either.left({ reason: `unreadable record (${cause instanceof Error ? cause.message : "unknown"})` })
      }
    }
  }
}

/** @internal */
export const excerptOf = (line: string) => line.length > 120 ? `${line.slice(0, 120)}…` : line

/** @internal */
export const decodeLine = <A>(
  codec: Codec<A>,
  file: string,
  lineNo: number,
  line: string
): Either.Either<A, JsonlCorruptLine | JsonlUnknownVersion> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (e) {
    return Either.left(
      new JsonlCorruptLine({
        file,
        line: lineNo,
        reason: `invalid JSON: ${e instanceof Error ? e.message : String(e)}`,
        excerpt: excerptOf(line)
      })
    )
  }
  const decoded = codec.decode(json)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const { reason, version } = decoded.left
  return Either.left(
    version !== undefined
      ? new JsonlUnknownVersion({ file, line: lineNo, version, supported: codec.version })
      : new JsonlCorruptLine({ file, line: lineNo, reason, excerpt: excerptOf(line) })
  )
}
