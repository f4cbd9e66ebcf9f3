/**
 * The JSONL backend's failures mapped onto the backend-neutral `StorageError` union.
 *
 * @internal
 */
import type { StorageIoError } from "../AtomicFile.js"
import type { JsonlError } from "../Jsonl.js"
import { StorageCorrupt, StorageUnavailable } from "../StorageError.js"

/** @internal */
export const repairHint =
  "run MessageStore.repair on the instance to keep every valid record (the damaged file is kept beside it)"

/** @internal */
export const fromIo = (e: StorageIoError): StorageUnavailable =>
  new StorageUnavailable({
    operation: e.operation,
    reason: e.cause instanceof Error ? e.cause.message : String(e.cause),
    file: e.file,
    cause: e.cause
  })

/** @internal */
export const fromJsonl = (e: JsonlError, hint: string = repairHint): StorageUnavailable | StorageCorrupt => {
  switch (e._tag) {
    case "StorageIoError":
      return fromIo(e)
    case "JsonlCorruptLine":
      return new StorageCorrupt({
        reason: `corrupt record (${e.reason})`,
        suggestion: hint,
        file: e.file,
        line: e.line,
        excerpt: e.excerpt
      })
    case "JsonlUnknownVersion":
      return new StorageCorrupt({
        reason: `record version ${e.version} is not supported (this build reads up to v${e.supported})`,
        suggestion: "upgrade effect-swarm, or register an upcaster for that version.",
        file: e.file,
        line: e.line
      })
  }
}
