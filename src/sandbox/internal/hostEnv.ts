/**
 * The host variables the layer itself uses (not those forwarded to tools, see `Limits.childEnv`), read
 * once per layer through effect `Config`, so a `ConfigProvider` decides them (the process environment
 * by default) and tests set them without touching `process.env`.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { defaultSearchPath } from "./binaries.js"

/** @internal */
export interface HostEnv {
  /** `PATH`: where bare binary names (`bwrap`, a runtime without `node_modules/.bin`) are looked up, and
   * the `PATH` tools get. */
  readonly searchPath: string
  /** `DENO_DIR`, the shared Deno cache, when set. */
  readonly denoDir: string | undefined
  /** `XDG_CACHE_HOME`, when set (Deno's cache defaults to `$XDG_CACHE_HOME/deno`). */
  readonly cacheHome: string | undefined
}

const config = Config.all({
  searchPath: Config.string("PATH").pipe(Config.withDefault(defaultSearchPath)),
  denoDir: Config.option(Config.string("DENO_DIR")),
  cacheHome: Config.option(Config.string("XDG_CACHE_HOME"))
})

/**
 * Reads {@link HostEnv} from the current `ConfigProvider`; a provider that fails gives the defaults.
 *
 * @internal
 */
export const read: Effect.Effect<HostEnv> = config.pipe(
  Effect.map(({ cacheHome, denoDir, searchPath }) => ({
    searchPath,
    denoDir: Option.getOrUndefined(denoDir),
    cacheHome: Option.getOrUndefined(cacheHome)
  })),
  Effect.orElseSucceed((): HostEnv => ({ searchPath: defaultSearchPath, denoDir: undefined, cacheHome: undefined }))
)
