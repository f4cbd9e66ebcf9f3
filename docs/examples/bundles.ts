// docs/bundles.md: load a bundle, list what it declares, and print every issue of a broken one.
import { NodeContext } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Bundle, BundleError } from "effect-swarm"

const program = Effect.gen(function*() {
  const bundle = yield* Bundle.load("examples/bundles/minimal")
  for (const { resource } of bundle.entries) yield* Console.log(`${resource.kind}/${resource.metadata.name}`)
  // A broken bundle: every issue at once, with file, path, code and a suggestion.
  const broken = yield* Effect.flip(Bundle.load("test/fixtures/bundles/hostile/entry-escape"))
  for (const issue of broken.issues) yield* Console.log(BundleError.formatIssue(issue))
})

program.pipe(Effect.provide(NodeContext.layer), Effect.runPromise)
