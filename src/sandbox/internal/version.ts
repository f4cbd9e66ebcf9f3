/**
 * Runtime version strings (shared by the capabilities and the command lines; re-exported by `Limits`).
 *
 * @internal
 */

/**
 * Parses `"v20.20.2"` / `"20.20.2"` into `[major, minor]` (`[0, 0]` when unparsable).
 *
 * @example
 * ```ts
 * import { parseVersion } from "effect-swarm/sandbox/Limits"
 * parseVersion("v20.20.2") // [20, 20]
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseVersion = (version: string): readonly [number, number] => {
  const match = /(\d+)\.(\d+)/.exec(version)
  return match === null ? [0, 0] : [Number(match[1]), Number(match[2])]
}
