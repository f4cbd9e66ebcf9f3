/**
 * Reading a damaged JSONL file line by line for `repair.ts`: every line that decodes is kept (zero bytes in
 * front of a valid record stripped), every other one dropped with its reason and an excerpt (invalid UTF-8,
 * zero-filled, a torn last line, what the codec says); and keeping the damaged original aside under a new
 * name, never deleted.
 *
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { isUtf8 } from "node:buffer"
import { io } from "../AtomicFile.js"
import { excerptOf } from "./jsonlCodec.js"
import type { Dropped } from "./repair.js"
import { fromIo } from "./storageErrors.js"

export const NUL = /\u0000/g

export const parse = <A>(
  codec: {
    readonly decode: (json: unknown) => Either.Either<A, { readonly reason: string; readonly version?: string }>
  }
) =>
(text: string): Either.Either<A, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(`invalid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  return Either.mapLeft(codec.decode(json), (l) => l.version !== undefined ? `record version ${l.version}` : l.reason)
}

// Every line of `text` decoded, or dropped with its reason. A last line without its newline is a write that
// never completed.
export const salvageLines = <A>(
  text: string,
  log: Dropped["log"],
  attempt: (line: string) => Either.Either<A, string>
) => {
  const lines = text.split("\n")
  const torn = lines.pop() ?? ""
  const dropped: Array<Dropped> = []
  const kept: Array<{ readonly value: A; readonly line: number; readonly text: string }> = []
  const drop = (line: number, reason: string, raw: string) =>
    dropped.push({ log, line, reason, excerpt: excerptOf(raw.replace(NUL, "\\0")) })
  lines.forEach((raw, i) => {
    if (raw.trim().length === 0) return
    if (raw.startsWith(badUtf8)) {
      return drop(
        i + 1,
        "invalid UTF-8 (a byte of a multi-byte character is missing or damaged)",
        raw.slice(badUtf8.length)
      )
    }
    const first = attempt(raw)
    if (Either.isRight(first)) return kept.push({ value: first.right, line: i + 1, text: raw })
    if (!raw.includes("\u0000")) return drop(i + 1, first.left, raw)
    const stripped = raw.replace(NUL, "")
    if (stripped.trim().length === 0) return drop(i + 1, "zero-filled line (lost in a crash)", raw)
    const second = attempt(stripped)
    if (Either.isRight(second)) return kept.push({ value: second.right, line: i + 1, text: stripped })
    return drop(i + 1, first.left, raw)
  })
  if (torn.replace(NUL, "").trim().length > 0) {
    drop(lines.length + 1, "torn last line (an interrupted write, never completed)", torn)
  }
  return { kept, dropped }
}

// A line whose bytes are not UTF-8 is read with this mark in front (and U+FFFD for the bad bytes), so that
// salvageLines drops it naming the reason instead of keeping a text nobody wrote.
const badUtf8 = "\u0001invalid UTF-8\u0001"

export const readText = (fs: FileSystem.FileSystem, file: string) =>
  Effect.gen(function*() {
    if (!(yield* fs.exists(file).pipe(io(file, "stat"), Effect.mapError(fromIo)))) return undefined
    const bytes = Buffer.from(yield* fs.readFile(file).pipe(io(file, "read"), Effect.mapError(fromIo)))
    if (isUtf8(bytes)) return bytes.toString("utf8")
    const lines: Array<string> = []
    let start = 0
    while (start <= bytes.length) {
      const nl = bytes.indexOf(10, start)
      const line = bytes.subarray(start, nl < 0 ? bytes.length : nl)
      lines.push(isUtf8(line) ? line.toString("utf8") : badUtf8 + line.toString("utf8"))
      if (nl < 0) break
      start = nl + 1
    }
    return lines.join("\n")
  })

const taken = (e: PlatformError) => e._tag === "SystemError" && e.reason === "AlreadyExists"

// A copy that never replaces a file (exclusive create), for file systems without hard links.
const copyExclusive = (fs: FileSystem.FileSystem, file: string, to: string) =>
  Effect.scoped(Effect.gen(function*() {
    const bytes = yield* fs.readFile(file)
    const handle = yield* fs.open(to, { flag: "wx", mode: 0o644 })
    yield* handle.writeAll(bytes)
    yield* handle.sync
  }))

// The damaged file under a name nothing has (`.damaged-<time>`, then `-1`, `-2`, ... when two repairs share
// a clock time): hard-linked, or copied only where links are unsupported, and never over an existing file.
export const keepAside = (fs: FileSystem.FileSystem, file: string, stamp: string) => {
  const attempt = (n: number): Effect.Effect<string, PlatformError> => {
    const preservedAs = `${file}.damaged-${stamp}${n === 0 ? "" : `-${n}`}`
    return fs.link(file, preservedAs).pipe(
      Effect.catchIf((e) => !taken(e), () => copyExclusive(fs, file, preservedAs)),
      Effect.as(preservedAs),
      Effect.catchIf((e) => taken(e) && n < 1000, () => attempt(n + 1))
    )
  }
  return attempt(0).pipe(io(`${file}.damaged-${stamp}`, "keep the damaged file"), Effect.mapError(fromIo))
}
