/**
 * The built bin for CLI tests: `scripts/bundle-bin.mjs` builds it into a temporary directory once per
 * test file (a layer), and `run` starts it as a user would (`node effect-swarm.cjs ...`) in a real
 * process, with its own state root.
 */
import type { CommandExecutor } from "@effect/platform"
import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Clock, Context, Effect, Fiber, Layer, Queue, Stream } from "effect"
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
  /** The exit status, waited for at most `bound` (default 60 s, real time). */
  readonly exitCode: Effect.Effect<number>
  /** Completes when stdout and stderr reached their end (every line is in its queue). */
  readonly drained: Effect.Effect<void>
}

/** How long a test waits for a real process's output marker or exit before it fails, saying what it saw. */
export const bound = "60 seconds"

/**
 * Takes lines from `queue` until one matches `match` (every line taken is kept in `seen`, for the failure
 * message) and returns the match. A real process answers in real time: the wait is bounded on the real
 * clock, also inside a test whose clock is the TestClock (`layer()`), and fails naming what it saw.
 */
export const waitLine = (queue: Queue.Dequeue<string>, seen: Array<string>, match: RegExp) =>
  Effect.gen(function*() {
    while (true) {
      const line = yield* Queue.take(queue)
      seen.push(line)
      const hit = match.exec(line)
      if (hit !== null) return hit
    }
  }).pipe(
    Effect.timeoutFail({ duration: bound, onTimeout: () => new Error(`no line matching ${match} within ${bound}`) }),
    Effect.catchAll((e) => Effect.die(new Error(`${e.message}:\n${seen.join("\n")}`))),
    Effect.withClock(Clock.make())
  )

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
    const out = yield* proc.stdout.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Queue.offer(lines, line)),
      Effect.forkScoped
    )
    const errors = yield* Queue.unbounded<string>()
    const err = yield* proc.stderr.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Queue.offer(errors, line)),
      Effect.forkScoped
    )
    const running: Running = {
      lines,
      errors,
      kill: (signal) => Effect.orDie(proc.kill(signal)),
      exitCode: Effect.map(Effect.orDie(proc.exitCode), Number).pipe(
        Effect.timeoutFail({ duration: bound, onTimeout: () => new Error(`the bin did not exit within ${bound}`) }),
        Effect.orDie,
        Effect.withClock(Clock.make())
      ),
      drained: Effect.asVoid(Effect.orDie(Fiber.join(Fiber.zip(out, err))))
    }
    return running
  })
