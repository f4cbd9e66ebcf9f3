/**
 * `effect-swarm run --watch`: watches the bundle's files (its YAML files, the prompt, script and entry
 * files its resources reference), waits until they have been quiet for the debounce delay (on `Clock`), then
 * loads the bundle again. An invalid bundle is reported (file, field, message, suggestion) and the running
 * swarm is left as it is; a valid one is applied with `Orchestrator.reload`, restarting only the agents
 * whose resolved configuration changed (their YAML, prompt, model, tools or extensions, file contents
 * included). A restarted agent imports its in-process tool and extension entries again at their new content
 * version (`EntryModule`): an edited tool's new code runs from its next turn. Connections are reloaded the
 * same way (`Connectors.reload`): only a changed one restarts, with its ingress rules; one whose new version
 * does not load keeps running its previous one, and the reason is printed.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as NFS from "node:fs"
import type * as Connectors from "../../connector/Connectors.js"
import type * as Orchestrator from "../../orchestrator/Orchestrator.js"
import * as Bundle from "../../resource/Bundle.js"
import { formatIssue } from "../../resource/BundleError.js"
import type * as Resource from "../../resource/Resource.js"
import * as TypeScript from "../TypeScript.js"

/** The default quiet time after the last change before the bundle is loaded again. */
export const defaultDelay: Duration.Duration = Duration.millis(300)

/**
 * Batches of `events`: each batch is emitted once no event came for `delay` (on `Clock`), and holds every
 * event since the previous batch, in order.
 *
 * @internal
 */
export const debounce = <A, E, R>(events: Stream.Stream<A, E, R>, delay: Duration.DurationInput) =>
  Stream.suspend(() => {
    const pending: Array<A> = []
    return events.pipe(
      Stream.tap((a) => Effect.sync(() => pending.push(a))),
      Stream.debounce(delay),
      Stream.map(() => pending.splice(0, pending.length) as ReadonlyArray<A>)
    )
  })

const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16)

/** The agents of a bundle, by name (every Agent resource, whichever Swarm uses it). */
const agentsOf = (bundle: Bundle.Bundle) =>
  new Map(Bundle.entriesOf(bundle, "Agent").map((a) => [a.resource.metadata.name, a] as const))

/**
 * What an agent's instances are opened from, as one string per agent: its resource, its Model's, its tools'
 * and extensions' resources, and the contents of the files they name (prompt, script, entries). Two bundles
 * give an agent the same fingerprint exactly when a new instance of it would be opened the same way.
 *
 * @internal
 */
export const fingerprints = (bundle: Bundle.Bundle) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const contents = new Map<string, string>()
    const file = (path: string | undefined) =>
      path === undefined ? Effect.succeed(undefined) : contents.has(path) ?
        Effect.succeed(contents.get(path)) :
        fs.readFileString(path).pipe(
          Effect.map(sha),
          Effect.orElseSucceed(() => "unreadable"),
          Effect.tap((digest) => Effect.sync(() => contents.set(path, digest)))
        )
    const out = new Map<string, string>()
    for (const [name, agent] of agentsOf(bundle)) {
      const model = Bundle.resolve(bundle, agent.resource.spec.modelConfig.modelRef, agent)
      const tools = new Map<string, Bundle.Entry<Resource.ToolResource>>()
      for (const t of Bundle.toolCatalog(bundle, agent)) tools.set(t.tool.resource.metadata.name, t.tool)
      const print = {
        agent: agent.resource,
        prompt: yield* file(agent.systemPromptFile),
        model: model === undefined ? undefined : {
          resource: model.resource,
          script: model.script,
          scriptFile: yield* file(model.scriptFile)
        },
        tools: yield* Effect.forEach(tools.values(), (t) =>
          Effect.map(file(t.entryFile), (entry) => ({ resource: t.resource, entry }))),
        extensions: yield* Effect.forEach(Bundle.extensionUses(bundle, agent), (u) =>
          Effect.map(
            file(u.extension.entryFile),
            (entry) => ({ resource: u.extension.resource, config: u.config, entry })
          ))
      }
      out.set(name, sha(JSON.stringify(print)))
    }
    return out
  })

/**
 * The agents present in both bundles whose fingerprint differs.
 *
 * @internal
 */
export const changedAgents = (
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>
): ReadonlyArray<string> => Array.from(after.keys()).filter((n) => before.has(n) && before.get(n) !== after.get(n))

/** The files the bundle's local resources reference (prompt, script and entry files), absolute. */
const referencedFiles = (bundle: Bundle.Bundle): ReadonlySet<string> =>
  new Set(
    bundle.entries.flatMap((e) =>
      e.dependency ? [] : [e.entryFile, e.systemPromptFile, e.scriptFile].filter((f): f is string => f !== undefined)
    )
  )

const skipped = new Set(["node_modules", "dist", ".git"])

/** The directories under `root` (itself included) a bundle file can be in, except `exclude` (the state root). */
const directories = (root: string, exclude: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const out: Array<string> = []
    const visit = (dir: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (dir === exclude) return
        out.push(dir)
        for (const name of yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as Array<string>))) {
          if (skipped.has(name.toLowerCase())) continue
          const full = path.join(dir, name)
          const info = yield* fs.stat(full).pipe(Effect.option)
          if (info._tag === "Some" && info.value.type === "Directory") yield* visit(full)
        }
      })
    yield* visit(root)
    return out
  })

/** What {@link start} reports through (stderr in the bin). */
export interface Options {
  /** The bundle directory (as given on the command line). */
  readonly dir: string
  /** The state root (bundle dependencies; never watched). */
  readonly stateRoot: string
  /** Quiet time after the last change (default {@link defaultDelay}). */
  readonly delay?: Duration.DurationInput | undefined
  /** Prints one line (the bin: stderr). */
  readonly log: (line: string) => Effect.Effect<void>
  /** The running connectors: a reload restarts the changed ones (`Connectors.reload`). */
  readonly connectors?: Pick<Connectors.Service, "reload"> | undefined
  /** Called with each Connection a reload started (the bin prints where it listens). */
  readonly onConnectionAdded?: ((connection: string) => Effect.Effect<void>) | undefined
}

/**
 * Starts watching in the current scope (closing it stops the watchers): returns once every watcher is in
 * place, so a change made after it returns is seen.
 *
 * @internal
 */
export const start = (initial: Bundle.Bundle, orchestrator: Orchestrator.Service, options: Options) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = initial.root
    const stateRoot = path.resolve(options.stateRoot)
    const changes = yield* Queue.unbounded<string>()
    const watchers = new Map<string, Scope.CloseableScope>()
    const scope = yield* Effect.scope

    /** One non-recursive watcher per directory (a recursive one would also watch node_modules). */
    const watchDirectories = Effect.gen(function*() {
      const wanted = new Set(yield* directories(root, stateRoot))
      for (const [dir, s] of watchers) {
        if (!wanted.has(dir)) {
          watchers.delete(dir)
          yield* Scope.close(s, Exit.void)
        }
      }
      for (const dir of wanted) {
        if (watchers.has(dir)) continue
        const s = yield* Scope.fork(scope, { _tag: "Sequential" })
        const opened = yield* Effect.acquireRelease(
          Effect.try(() => {
            const watcher = NFS.watch(dir, { persistent: false }, (_event, name) => {
              if (name !== null) Queue.unsafeOffer(changes, path.join(dir, name.toString()))
            })
            // A directory that goes away ends its watcher; the next batch walks the tree again.
            watcher.on("error", () => watcher.close())
            return watcher
          }),
          (watcher) => Effect.sync(() => watcher.close())
        ).pipe(Scope.extend(s), Effect.either)
        if (Either.isLeft(opened)) {
          yield* Scope.close(s, Exit.void)
          yield* options.log(`watch: cannot watch ${dir}: ${String(opened.left.error)}`)
        } else watchers.set(dir, s)
      }
    })

    let prints = yield* fingerprints(initial)
    let referenced = referencedFiles(initial)

    const relevant = (file: string) =>
      Bundle.isBundleFileName(path.basename(file)) || referenced.has(file) ?
        Effect.succeed(true) :
        // A new directory may hold bundle files: the batch walks the tree again.
        watchers.has(file) || file === stateRoot || file.startsWith(stateRoot + path.sep) ?
        Effect.succeed(false) :
        fs.stat(file).pipe(Effect.map((i) => i.type === "Directory"), Effect.orElseSucceed(() => false))

    const display = (file: string) => path.relative(root, file) || file

    const apply = (batch: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const files = Array.from(new Set(batch.map(display)))
        yield* watchDirectories
        const loaded = yield* Bundle.load(options.dir, { stateRoot: options.stateRoot }).pipe(Effect.either)
        if (Either.isLeft(loaded)) {
          const issues = loaded.left.issues.filter((i) => i.severity === "error")
          yield* options.log(
            `watch: ${files.join(", ")} changed; the bundle has ${issues.length} error${
              issues.length === 1 ? "" : "s"
            }: the swarm keeps running its previous version`
          )
          for (const issue of issues) yield* options.log(formatIssue(issue))
          return
        }
        const next = loaded.right
        const loader = yield* TypeScript.ensureLoader(TypeScript.typeScriptEntries(next)).pipe(Effect.either)
        if (Either.isLeft(loader)) {
          yield* options.log(`watch: ${loader.left.message}: the swarm keeps running its previous version`)
          return
        }
        const nextPrints = yield* fingerprints(next)
        const changed = changedAgents(prints, nextPrints)
        const report = yield* orchestrator.reload(next, changed).pipe(Effect.either)
        if (Either.isLeft(report)) {
          yield* options.log(`watch: ${report.left.message}: the swarm keeps running its previous version`)
          return
        }
        const r = report.right
        const connections = options.connectors === undefined ?
          undefined :
          yield* options.connectors.reload(next)
        const parts = [
          ...(changed.length > 0 ? [`changed ${changed.join(", ")}`] : []),
          ...(r.restarted.length > 0 ? [`restarted ${r.restarted.join(", ")}`] : []),
          ...(r.added.length > 0 ? [`added ${r.added.join(", ")}`] : []),
          ...(r.removed.length > 0 ? [`removed ${r.removed.join(", ")}`] : []),
          ...(r.stopped.length > 0 ? [`stopped ${r.stopped.join(", ")}`] : []),
          ...(r.interrupted.length > 0 ? [`interrupted the turn of ${r.interrupted.join(", ")}`] : []),
          ...(connections === undefined ? [] : [
            ...(connections.restarted.length > 0 ? [`restarted connection ${connections.restarted.join(", ")}`] : []),
            ...(connections.added.length > 0 ? [`added connection ${connections.added.join(", ")}`] : []),
            ...(connections.removed.length > 0 ? [`removed connection ${connections.removed.join(", ")}`] : [])
          ])
        ]
        yield* options.log(
          `watch: reloaded ${files.join(", ")}: ${
            parts.length === 0 ? "no agent's or connection's configuration changed" : parts.join("; ")
          }`
        )
        for (const failed of connections?.failed ?? []) {
          yield* options.log(
            `watch: connection ${failed.connection} keeps running its previous version: ${failed.error.message}`
          )
        }
        for (const added of connections?.added ?? []) yield* (options.onConnectionAdded?.(added) ?? Effect.void)
        prints = nextPrints
        referenced = referencedFiles(next)
      })

    yield* watchDirectories
    yield* debounce(
      Stream.fromQueue(changes).pipe(Stream.filterEffect(relevant)),
      options.delay ?? defaultDelay
    ).pipe(
      Stream.runForEach((batch) =>
        apply(batch).pipe(
          Effect.catchAllCause((cause) => options.log(`watch: the reload failed: ${String(cause)}`))
        )
      ),
      Effect.forkScoped
    )
    yield* options.log(`watch: watching ${root} for changes`)
  })
