// Status writes in place (issue 15): `SetStatusOptions.inPlace` overwrites metadata.json without a temp
// file and a rename; a read during such a write is retried; a size this service does not know falls back
// to the atomic replace.
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Instances, Jsonl, WorkspacePaths } from "effect-swarm"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { tempRoot } from "./helpers.js"

const ref = { workspaceId: "w", agentName: "a", instanceKey: "k" }

describe("Instances: status written in place", () => {
  it.scoped("inPlace overwrites the same file (same inode, no temp file); a shorter status leaves no trailing bytes", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const fs = yield* FileSystem.FileSystem
      const instances = yield* Instances.make({ root })
      const file = WorkspacePaths.instance(root, ref).metadata
      let current = yield* instances.ensure(ref)
      const inode = nodeFs.statSync(file).ino
      // A long reason makes the file grow; the statuses after it are shorter and must cover it.
      const long = "x".repeat(700)
      for (
        const [status, reason] of [["processing", undefined], ["stopped", long], ["idle", undefined], [
          "awaiting_approval",
          undefined
        ]] as const
      ) {
        current = yield* instances.setStatus(ref, status, reason, { durable: false, current, inPlace: true })
        assert.strictEqual(nodeFs.statSync(file).ino, inode, `${status}: written in place`)
        const read = yield* instances.get(ref)
        assert.isTrue(Option.isSome(read))
        if (Option.isSome(read)) {
          assert.strictEqual(read.value.status, status)
          assert.strictEqual(read.value.reason, reason)
        }
        // The file is the JSON document and spaces: nothing of an older, longer content after it.
        const text = yield* fs.readFileString(file)
        assert.deepStrictEqual(JSON.parse(text), current)
        assert.match(text, /^\{[^]*\}\s*$/)
      }
      assert.deepStrictEqual(yield* fs.readDirectory(path.dirname(file)), ["metadata.json"])
      const listing = yield* instances.list("w")
      assert.deepStrictEqual(listing.broken, [])
      assert.deepStrictEqual(listing.instances.map((m) => m.status), ["awaiting_approval"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("an owner's in-place write while another update of the file is under way comes after it, not before", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      const current = yield* instances.ensure(ref)
      // A durable status change (temp file, fsync, rename) started first and still in flight...
      const first = yield* Effect.fork(instances.setStatus(ref, "stopped", "by the test"))
      yield* Effect.yieldNow()
      // ...then the owner's in-place write (made on the calling thread when nothing else is under way): it
      // must not land before the rename above, which would put the older status back over it.
      yield* instances.setStatus(ref, "processing", undefined, { durable: false, current, inPlace: true })
      yield* first
      const read = yield* instances.get(ref)
      assert.isTrue(Option.isSome(read))
      if (Option.isSome(read)) assert.strictEqual(read.value.status, "processing")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("without a size this service knows (a copy of the metadata), the file is replaced atomically", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      const file = WorkspacePaths.instance(root, ref).metadata
      const current = { ...(yield* instances.ensure(ref)) }
      const inode = nodeFs.statSync(file).ino
      yield* instances.setStatus(ref, "processing", undefined, { durable: false, current, inPlace: true })
      assert.notStrictEqual(nodeFs.statSync(file).ino, inode)
      const read = yield* instances.get(ref)
      assert.strictEqual(Option.getOrThrow(read).status, "processing")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a read that gets a torn file (as during a write in place) reads again; two torn reads are MetadataCorrupt", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const file = WorkspacePaths.instance(root, ref).metadata
      // The real file system, except that the next `torn` reads of metadata.json return half of it.
      const tearing = { torn: 0 }
      const TearingFs = Layer.effect(
        FileSystem.FileSystem,
        Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
          ...fs,
          readFileString: (p, encoding) =>
            Effect.map(fs.readFileString(p, encoding), (text) => {
              if (p !== file || tearing.torn === 0) return text
              tearing.torn--
              return text.slice(0, text.length / 2)
            })
        }))
      ).pipe(Layer.provide(NodeFileSystem.layer))
      yield* Effect.gen(function*() {
        const instances = yield* Instances.make({ root })
        yield* instances.ensure(ref)
        tearing.torn = 1
        assert.strictEqual(Option.getOrThrow(yield* instances.get(ref)).status, "idle")
        tearing.torn = 2
        const error = yield* Effect.flip(instances.get(ref))
        assert.strictEqual(error._tag, "MetadataCorrupt")
      }).pipe(Effect.provide(TearingFs))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("an in-place write that fails (the file was removed) falls back to the atomic replace", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const instances = yield* Instances.make({ root })
      const file = WorkspacePaths.instance(root, ref).metadata
      const current = yield* instances.ensure(ref)
      nodeFs.rmSync(file)
      yield* instances.setStatus(ref, "processing", undefined, { durable: false, current, inPlace: true })
      assert.strictEqual(Option.getOrThrow(yield* instances.get(ref)).status, "processing")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  // Session 11: the in-place write is made through node:fs on the calling thread (open, pwrite, close of a
  // page-cache file) instead of three thread-pool round trips through the FileSystem service; a layer that
  // routes durable files through the FileSystem (Jsonl.DurableFile.fileSystem) routes it too.
  const countingWrites = (counter: { writes: number }) =>
    Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
        ...fs,
        writeFile: (p, data, options) => {
          if (p.endsWith("metadata.json")) counter.writes++
          return fs.writeFile(p, data, options)
        }
      }))
    ).pipe(Layer.provide(NodeFileSystem.layer))

  for (
    const [name, layer, through] of [
      ["the default DurableFile: node:fs directly, not the FileSystem service", Layer.empty, 0],
      [
        "Jsonl.DurableFile.fileSystem: through the FileSystem service",
        Layer.succeed(Jsonl.DurableFile, Jsonl.DurableFile.fileSystem),
        2
      ]
    ] as const
  ) {
    it.scoped(`in-place writes with ${name}`, () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const counter = { writes: 0 }
        const file = WorkspacePaths.instance(root, ref).metadata
        yield* Effect.gen(function*() {
          const instances = yield* Instances.make({ root })
          let current = yield* instances.ensure(ref)
          const inode = nodeFs.statSync(file).ino
          const before = counter.writes
          for (const status of ["processing", "idle"] as const) {
            current = yield* instances.setStatus(ref, status, undefined, { durable: false, current, inPlace: true })
            assert.strictEqual(nodeFs.statSync(file).ino, inode, `${status}: written in place`)
            assert.strictEqual(Option.getOrThrow(yield* instances.get(ref)).status, status)
            assert.deepStrictEqual(JSON.parse(nodeFs.readFileSync(file, "utf8")), current)
          }
          assert.strictEqual(counter.writes - before, through)
        }).pipe(Effect.provide(Layer.merge(countingWrites(counter), layer)))
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  }
})
