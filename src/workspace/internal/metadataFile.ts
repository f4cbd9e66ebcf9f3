/**
 * How `Instances` overwrites `metadata.json` in place (see `SetStatusOptions.inPlace`): the size in bytes
 * of the file each metadata value was read from or written as, and a write at offset 0, padded with spaces
 * to at least that size, that neither truncates nor replaces the file.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as nodeFs from "node:fs"
import * as AtomicFile from "../AtomicFile.js"
import type { Metadata, Status } from "../Instances.js"
import * as WorkspacePaths from "../WorkspacePaths.js"

const sizes = new WeakMap<object, number>()
const encoder = new TextEncoder()
/** In-place writes pad to a multiple of this, so a status of another length rarely grows the file. */
const block = 256

/** Records that `value` was read from or written as a file of `size` bytes; returns it. */
export const remember = <A extends object>(value: A, size: number): A => {
  sizes.set(value, size)
  return value
}

/** The size of the file `value` was read from or written as, when this process read or wrote it. */
export const sizeOf = (value: object): number | undefined => sizes.get(value)

/** The size in bytes of `text` in UTF-8. */
export const byteLength = (text: string): number => encoder.encode(text).length

/**
 * `text` (a JSON document ending with a newline) with spaces before its newline, to at least `size` bytes
 * and a multiple of 256: it covers every byte of the file it overwrites, and JSON ignores the spaces.
 */
export const padded = (text: string, size: number): Uint8Array => {
  const bytes = encoder.encode(text)
  const target = Math.max(size, Math.ceil(bytes.length / block) * block)
  if (target === bytes.length) return bytes
  const out = new Uint8Array(target).fill(0x20)
  out.set(bytes.subarray(0, bytes.length - 1), 0)
  out[target - 1] = 0x0a
  return out
}

/**
 * Writes `bytes` over `file` from offset 0 (`r+`: not truncated, not replaced; fails when the file is
 * missing). Not interruptible: a write that started finishes, so the file never holds half of it.
 */
export const overwrite = (fs: FileSystem.FileSystem, file: string, bytes: Uint8Array) =>
  Effect.uninterruptible(fs.writeFile(file, bytes, { flag: "r+" }))

/**
 * {@link overwrite} through `node:fs` on the calling thread: open `r+`, one write from offset 0 (more only
 * if the kernel writes less), close. No thread-pool round trip: a non-durable write of a few hundred bytes
 * into the page cache takes microseconds, less than the three round trips (open, write, close) it replaces.
 * Nothing here can be interrupted (it is one synchronous call). `false` on any failure (the file is gone,
 * the disk), for the caller's fallback.
 */
export const overwriteDirect = (file: string, bytes: Uint8Array): boolean => {
  let fd: number | undefined
  try {
    fd = nodeFs.openSync(file, "r+")
    let at = 0
    while (at < bytes.length) {
      const written = nodeFs.writeSync(fd, bytes, at, bytes.length - at, at)
      if (written === 0) return false
      at += written
    }
    return true
  } catch {
    return false
  } finally {
    if (fd !== undefined) {
      try {
        nodeFs.closeSync(fd)
      } catch {
        // A close that fails after the write: the bytes are in the page cache either way.
      }
    }
  }
}

/**
 * Writes `metadata` to `file` pretty-printed: replaced atomically, or overwritten in place when asked
 * (`inPlace`, not `durable`) and the size of the file `known` was read from or written as is known. Returns
 * `metadata`, remembered with the size written.
 */
export const write = <A extends object>(
  fs: FileSystem.FileSystem,
  file: string,
  metadata: A,
  options: {
    readonly durable: boolean
    readonly known: object | undefined
    readonly inPlace: boolean | undefined
    /** In-place writes through `node:fs` on the calling thread ({@link overwriteDirect}), not `fs`. */
    readonly direct?: boolean | undefined
  }
): Effect.Effect<A, AtomicFile.StorageIoError> =>
  Effect.suspend(() => {
    const text = JSON.stringify(metadata, null, 2) + "\n"
    const { durable, known } = options
    const atomic = AtomicFile.write(fs, file, text, { durable, parentExists: known !== undefined }).pipe(
      Effect.as(remember(metadata, byteLength(text)))
    )
    const size = options.inPlace === true && !durable && known !== undefined ? sizeOf(known) : undefined
    if (size === undefined) return atomic
    const bytes = padded(text, size)
    if (options.direct === true) {
      return overwriteDirect(file, bytes) ? Effect.succeed(remember(metadata, bytes.length)) : atomic
    }
    // Any failure (the file is gone, or the disk) falls back to the atomic replace, which reports its own.
    return overwrite(fs, file, bytes).pipe(Effect.as(remember(metadata, bytes.length)), Effect.orElse(() => atomic))
  })

/**
 * The in-place write of {@link write} through `node:fs` on the calling thread ({@link overwriteDirect}),
 * without an Effect: `metadata` remembered with the size written, or `undefined` when the size of the file
 * `known` was read from or written as is not known or the write failed (the caller then takes
 * {@link write}, which replaces the file atomically).
 */
export const writeDirect = <A extends object>(file: string, metadata: A, known: object): A | undefined => {
  const size = sizeOf(known)
  if (size === undefined) return undefined
  const bytes = padded(JSON.stringify(metadata, null, 2) + "\n", size)
  return overwriteDirect(file, bytes) ? remember(metadata, bytes.length) : undefined
}

/** The metadata after a status change (or the first metadata of an instance, when there is none). */
export const next = (
  instance: WorkspacePaths.InstanceRef,
  current: Option.Option<Metadata>,
  status: Status | undefined,
  reason: string | undefined,
  at: string
): Metadata => {
  // A reason belongs to the status it explains: a new status without one drops the old reason.
  const why = reason === undefined ? {} : { reason }
  return Option.isSome(current)
    ? {
      v: 1,
      status: status ?? current.value.status,
      workspaceId: current.value.workspaceId,
      agentName: current.value.agentName,
      instanceKey: current.value.instanceKey,
      createdAt: current.value.createdAt,
      updatedAt: at,
      ...why
    }
    : {
      v: 1,
      status: status ?? "idle",
      workspaceId: WorkspacePaths.workspaceId(instance.workspaceId),
      agentName: instance.agentName,
      instanceKey: instance.instanceKey,
      createdAt: at,
      updatedAt: at,
      ...why
    }
}
