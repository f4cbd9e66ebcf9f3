/**
 * The state root: where effect-swarm keeps workspaces, instances and installed packages.
 * `EFFECT_SWARM_HOME`, or `~/.effect-swarm` when unset. Resolved here and nowhere else.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as os from "node:os"
import * as path from "node:path"

/**
 * The environment variable that overrides the state root.
 *
 * @since 0.1.0
 * @category constants
 */
export const envVar = "EFFECT_SWARM_HOME"

/**
 * The default state root for a home directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultFor = (homeDir: string): string => path.join(homeDir, ".effect-swarm")

/**
 * Reads the state root through effect `Config` (so `ConfigProvider.fromMap` drives it in tests): an
 * absolute path; a relative `EFFECT_SWARM_HOME` is resolved against the working directory, `~/` is
 * expanded.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateRoot } from "effect-swarm"
 * const root = Effect.runSync(StateRoot.resolve) // e.g. "/home/me/.effect-swarm"
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const resolve: Effect.Effect<string> = Config.string(envVar).pipe(
  Config.option,
  Effect.map((value) => {
    const raw = value._tag === "Some" ? value.value.trim() : ""
    if (raw.length === 0) return defaultFor(os.homedir())
    if (raw === "~" || raw.startsWith("~/")) return path.join(os.homedir(), raw.slice(1))
    return path.resolve(raw)
  }),
  // A malformed provider value cannot occur for a plain string; keep the channel clean.
  Effect.orDie
)
