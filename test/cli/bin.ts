/**
 * The built bin for CLI tests: `scripts/bundle-bin.mjs` builds it into a temporary directory once per
 * test file (a layer), and `run` starts it as a user would (`node effect-swarm.cjs ...`) in a real
 * process, with its own state root.
 */
import type { CommandExecutor } from "@effect/platform"
import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer, Queue, Stream } from "effect"
import * as path from "node:path"

export const repo = path.resolve(__dirname, "../..")

export interface RunOptions {
  readonly env?: Record<string, string> | undefined
  readonly cwd?: string | undefined
  readonly stdin?: string | undefined
}

export interface Result {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

export interface Service {
  /** The directory holding effect-swarm.cjs and cli.cjs (beside a node_modules linked to the repo's). */
  readonly dir: string
  /** A state root private to this test file. */
  readonly home: string
  readonly run: (args: ReadonlyArray<string>, options?: RunOptions) => Effect.Effect<Result>
}

export class Bin extends Context.Tag("test/cli/Bin")<Bin, Service>() {}

/** Runs `argv` to its end in a real process (stdin from `options.stdin`, empty by default). */
export const spawn = (argv: ReadonlyArray<string>, options: RunOptions & { readonly cwd: string }) =>
  Effect.scoped(Effect.gen(function*() {
    const proc = yield* Command.make(argv[0]!, ...argv.slice(1)).pipe(
      Command.workingDirectory(options.cwd),
      Command.env({ NO_COLOR: "", ...options.env }),
      Command.stdin(Stream.make(new TextEncoder().encode(options.stdin ?? ""))),
      Command.start
    )
    const [stdout, stderr, code] = yield* Effect.all(
      [
        proc.stdout.pipe(Stream.decodeText(), Stream.mkString),
        proc.stderr.pipe(Stream.decodeText(), Stream.mkString),
        proc.exitCode
      ],
      { concurrency: 3 }
    )
    return { stdout, stderr, code: Number(code) }
  }))

export const layer = Layer.scoped(
  Bin,
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    // Laid out as an installed package would be: the bin's dependencies (tsx) resolve from a node_modules
    // above it, here a link to this repository's.
    const prefix = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-bin-" })
    yield* fs.symlink(path.join(repo, "node_modules"), path.join(prefix, "node_modules"))
    const dir = path.join(prefix, "bin")
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-swarm-home-" })
    const context = yield* Effect.context<CommandExecutor.CommandExecutor>()
    const built = yield* spawn([process.execPath, "scripts/bundle-bin.mjs", dir], { cwd: repo })
    if (built.code !== 0) return yield* Effect.die(new Error(`bundle-bin failed: ${built.stderr}`))
    const run = (args: ReadonlyArray<string>, options?: RunOptions) =>
      spawn([process.execPath, path.join(dir, "effect-swarm.cjs"), ...args], {
        cwd: options?.cwd ?? repo,
        stdin: options?.stdin,
        env: { EFFECT_SWARM_HOME: home, ...options?.env }
      }).pipe(Effect.orDie, Effect.provide(context))
    return { dir, home, run }
  }).pipe(Effect.orDie)
).pipe(Layer.provide(NodeContext.layer))

export interface Running {
  /** The lines the process printed on stdout so far, in order, as they come. */
  readonly lines: Queue.Dequeue<string>
  /** The lines the process printed on stderr, in order, as they come. */
  readonly errors: Queue.Dequeue<string>
  readonly kill: (signal: "SIGINT" | "SIGTERM") => Effect.Effect<void>
  readonly exitCode: Effect.Effect<number>
}

/** Starts the bin and streams its stdout lines into a queue (the process is killed with the scope). */
export const start = (args: ReadonlyArray<string>, options?: RunOptions) =>
  Effect.gen(function*() {
    const bin = yield* Bin
    const proc = yield* Command.make(process.execPath, path.join(bin.dir, "effect-swarm.cjs"), ...args).pipe(
      Command.workingDirectory(options?.cwd ?? repo),
      Command.env({ NO_COLOR: "", EFFECT_SWARM_HOME: bin.home, ...options?.env }),
      Command.start
    )
    const lines = yield* Queue.unbounded<string>()
    yield* proc.stdout.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Queue.offer(lines, line)),
      Effect.forkScoped
    )
    const errors = yield* Queue.unbounded<string>()
    yield* proc.stderr.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Queue.offer(errors, line)),
      Effect.forkScoped
    )
    const running: Running = {
      lines,
      errors,
      kill: (signal) => Effect.orDie(proc.kill(signal)),
      exitCode: Effect.map(Effect.orDie(proc.exitCode), Number)
    }
    return running
  })
