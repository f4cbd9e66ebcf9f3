/**
 * Versioned JSONL files: one JSON object per line, each with a record schema version `v`.
 *
 * - {@link codec}: the line codec of a schema (`internal/jsonlCodec.ts`). Old versions are upgraded
 *   through registered upcasters; a newer or unknown version is a typed error.
 * - {@link read}: a `Stream` of decoded records (`internal/jsonlReader.ts`). A line that is not
 *   newline-terminated at the end of the file is a torn write (never acknowledged) and is skipped with a
 *   warning; any other bad line fails with the file and line number, and the file is left untouched.
 *   {@link repairTail} cuts such a torn tail.
 * - {@link writer}: an append writer for one file (`internal/jsonlWriter.ts`). Appends are queued in call
 *   order and written one batch at a time; everything queued while the previous batch was being written
 *   goes out in one durable append (group commit; see `DurableFile`). `append` returns only once its records are
 *   durable. Opening the writer repairs a torn tail by truncating it (with a warning).
 * - {@link DurableFile}: how the writer appends (`internal/durableFile.ts`): `node:fs` directly by default
 *   (a durable file is opened `O_DSYNC`, so a batch is one `write` that returns once it is on disk), or
 *   through the `FileSystem` service (`DurableFile.fileSystem`).
 *
 * @since 0.1.0
 */
export {
  /**
   * @since 0.1.0
   * @category errors
   */
  StorageIoError
} from "./AtomicFile.js"

export {
  /**
   * @since 0.1.0
   * @category models
   */
  type Codec,
  /**
   * @since 0.1.0
   * @category constructors
   */
  codec,
  /**
   * @since 0.1.0
   * @category errors
   */
  JsonlCorruptLine,
  /**
   * @since 0.1.0
   * @category errors
   */
  type JsonlError,
  /**
   * @since 0.1.0
   * @category errors
   */
  JsonlUnknownVersion,
  /**
   * @since 0.1.0
   * @category models
   */
  type Upcasters
} from "./internal/jsonlCodec.js"

export {
  /**
   * @since 0.1.0
   * @category reading
   */
  read,
  /**
   * @since 0.1.0
   * @category reading
   */
  readAll,
  /**
   * @since 0.1.0
   * @category writing
   */
  repairTail,
  /**
   * @since 0.1.0
   * @category models
   */
  type TornTail
} from "./internal/jsonlReader.js"

export {
  /**
   * @since 0.1.0
   * @category models
   */
  type Writer,
  /**
   * @since 0.1.0
   * @category writing
   */
  writer
} from "./internal/jsonlWriter.js"

export {
  /**
   * @since 0.1.0
   * @category services
   */
  DurableFile,
  /**
   * @since 0.1.0
   * @category models
   */
  type Handle as DurableFileHandle,
  /**
   * @since 0.1.0
   * @category models
   */
  type Service as DurableFileService
} from "./internal/durableFile.js"

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  InvalidDurableFileOption
} from "./internal/durableFileOptions.js"
