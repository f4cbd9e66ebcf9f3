/**
 * The state root a command works under, checked: a path that exists but is no directory (a file, a
 * socket) is refused with {@link StateRootInvalid} up front, instead of a storage error deep in a turn
 * (`ENOTDIR ... metadata.json`) or, for the readers, an empty listing. A missing root is fine: writers
 * create it.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as StateRoot from "../../config/StateRoot.js"
import { StateRootInvalid } from "../CliError.js"

/** @internal */
export const resolve = (given: string | undefined): Effect.Effect<string, StateRootInvalid, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const root = given ?? (yield* StateRoot.resolve)
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.option(fs.stat(root))
    if (info._tag === "Some" && info.value.type !== "Directory") {
      return yield* new StateRootInvalid({
        root,
        reason: info.value.type === "File" ? "is a file" : `is a ${info.value.type.toLowerCase()}`
      })
    }
    return root
  })
