/**
 * `effect-swarm run` with the built-in `cli` connector, as a user runs it: the built bin in a real
 * process, on a pseudo-terminal (`script -qefc <cmd> /dev/null` from util-linux gives the command a pty;
 * the test types into it and reads the screen), and piped. Every step waits for an output marker; no
 * sleeps.
 */
import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, Layer, Queue, Stream, SubscriptionRef } from "effect"
import * as ChildProcess from "node:child_process"
import * as path from "node:path"
import * as Bin from "./bin.js"

const Live = Layer.merge(Bin.layer, NodeContext.layer)
const fixture = path.join(Bin.repo, "test/fixtures/bundles/chat")
/** Missing `script` is a broken test machine, not a reason to skip: the pty test fails saying what to install. */
const noScript = ChildProcess.spawnSync("script", ["--version"]).status === 0 ? undefined : new Error(
  "`script` is not on PATH: the pty test needs it (util-linux; on Debian/Ubuntu `apt-get install bsdutils`, " +
    "on Alpine `apk add util-linux-misc`, on Fedora `dnf install util-linux-script`)"
)
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g

/** The bin under `script` (a pty); `type` writes keystrokes, `waitFor` waits until the screen shows `marker`. */
const onTerminal = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (noScript !== undefined) return yield* Effect.die(noScript)
    const bin = yield* Bin.Bin
    const keys = yield* Queue.unbounded<Uint8Array>()
    const shell = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
    const cmd = [process.execPath, path.join(bin.dir, "effect-swarm.cjs"), ...args].map(shell).join(" ")
    const proc = yield* Command.make("script", "-qefc", cmd, "/dev/null").pipe(
      Command.workingDirectory(Bin.repo),
      Command.env({ NO_COLOR: "", EFFECT_SWARM_HOME: bin.home, TERM: "xterm" }),
      Command.stdin(Stream.fromQueue(keys)),
      Command.start
    )
    const screen = yield* SubscriptionRef.make("")
    yield* proc.stdout.pipe(
      Stream.decodeText(),
      Stream.runForEach((text) => SubscriptionRef.update(screen, (s) => s + text)),
      Effect.forkScoped
    )
    const type = (text: string) => Queue.offer(keys, new TextEncoder().encode(text))
    const waitFor = (marker: string, from = 0) =>
      screen.changes.pipe(
        Stream.map((s) => s.replace(ansi, "")),
        Stream.takeUntil((s) => s.indexOf(marker, from) >= 0),
        Stream.runLast,
        Effect.map((s) => {
          const text = s._tag === "Some" ? s.value : ""
          return text.indexOf(marker, from) + marker.length
        }),
        Effect.timeoutFail({
          duration: "60 seconds",
          onTimeout: () => new Error(`no "${marker}" on the screen`)
        }),
        Effect.catchAll((e) =>
          Effect.flatMap(SubscriptionRef.get(screen), (s) => Effect.die(new Error(`${e.message}:\n${s}`)))
        )
      )
    return { type, waitFor, screen, exitCode: Effect.map(Effect.orDie(proc.exitCode), Number) }
  })

describe("effect-swarm run: the terminal chat", () => {
  layer(Live, { timeout: 180_000 })((it) => {
    it.scoped("on a pty: streamed reply, tool calls as they run, Ctrl-C cancels the turn, Ctrl-C at the prompt exits 0", () =>
      Effect.gen(function*() {
        const chat = yield* onTerminal(["run", fixture])
        let at = yield* chat.waitFor("chat> ")
        yield* chat.type("hello\r")
        at = yield* chat.waitFor("assistant> Hi from the chat fixture", at)
        at = yield* chat.waitFor("chat> ", at)
        // A turn whose tool call never ends: the call shows, Ctrl-C cancels the turn, the prompt is back.
        yield* chat.type("slow\r")
        at = yield* chat.waitFor("helper@tty -> wait__forever", at)
        yield* chat.type("\u0003")
        at = yield* chat.waitFor("(cancelled; Ctrl-C again at the prompt exits)", at)
        at = yield* chat.waitFor("chat> ", at)
        // The cancelled turn was closed (abandoned): the next line starts a new turn, not the old one.
        yield* chat.type("again\r")
        at = yield* chat.waitFor("assistant> Back again", at)
        yield* chat.waitFor("chat> ", at)
        // Ctrl-C at the prompt: the chat ends, run shuts down gracefully and exits 0.
        yield* chat.type("\u0003")
        const code = yield* chat.exitCode
        const screen = yield* SubscriptionRef.get(chat.screen)
        assert.strictEqual(code, 0, screen)
        // Colour on a terminal.
        assert.include(screen, "\u001b[1massistant>\u001b[0m", screen)
      }).pipe(Effect.withClock(Clock.make()))) // real processes: the waits' timeouts run on the real clock

    it.scoped("piped: plain text, one turn per line in order, the end of input ends the run with 0", () =>
      Effect.gen(function*() {
        const bin = yield* Bin.Bin
        // Its own state root: the pty test left helper@tty with a cancelled turn in its log.
        const home = yield* Effect.orDie(FileSystem.FileSystem.pipe(
          Effect.flatMap((fs) => fs.makeTempDirectoryScoped({ prefix: "effect-swarm-chat-" }))
        ))
        const result = yield* bin.run(["run", fixture], { stdin: "hello\n\nagain\n", env: { EFFECT_SWARM_HOME: home } })
        assert.strictEqual(result.code, 0, `${result.stdout}\n${result.stderr}`)
        const first = result.stdout.indexOf("assistant> Hi from the chat fixture")
        assert.isTrue(first >= 0 && result.stdout.indexOf("assistant> Back again") > first, result.stdout)
        assert.notMatch(result.stdout, ansi)
        assert.notInclude(result.stdout, "chat> ")
        assert.include(result.stderr, "connections: chat;")
      }))
  })
})
