/**
 * Every relative link of README.md, docs/*.md, BENCHMARKS.md and CHANGELOG.md leads somewhere: the file exists and, for `#anchor`, the
 * page has that heading (GitHub's anchors). The checker itself is tested on pages with broken links.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { anchors, brokenLinks, links, slug } from "./links.js"

const repo = path.resolve(__dirname, "../..")

const onDisk = {
  text: (file: string) => {
    try {
      return nodeFs.readFileSync(path.join(repo, file), "utf8")
    } catch {
      return undefined
    }
  },
  exists: (file: string) => nodeFs.existsSync(path.join(repo, file))
}

describe("docs links", () => {
  it.effect("every relative link of README.md, docs/*.md, BENCHMARKS.md and CHANGELOG.md resolves to a file and a heading", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const docs = (yield* fs.readDirectory(path.join(repo, "docs"))).filter((f) => f.endsWith(".md")).sort()
      const pages = ["README.md", ...docs.map((f) => `docs/${f}`), "BENCHMARKS.md", "CHANGELOG.md"]
      assert.isAtLeast(docs.length, 13)
      const count = pages.reduce((n, page) => n + links(onDisk.text(page) ?? "").length, 0)
      assert.isAtLeast(count, 40, "the pages link to each other")
      const broken = brokenLinks(pages, onDisk)
      assert.deepStrictEqual(broken.map((b) => `${b.page}: ${b.link}: ${b.reason}`), [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it("GitHub's anchors: punctuation dropped, spaces to dashes, duplicates numbered", () => {
    assert.strictEqual(slug("Tool runtime configuration (`RuntimeConfig`)"), "tool-runtime-configuration-runtimeconfig")
    assert.strictEqual(
      slug("Isolation: bubblewrap or the runtime's flags"),
      "isolation-bubblewrap-or-the-runtimes-flags"
    )
    assert.strictEqual(slug("`run --watch`: reload what changed"), "run---watch-reload-what-changed")
    assert.deepStrictEqual(
      [...anchors("# A\n## Usage\n```sh\n# not a heading\n```\n## Usage\n### Hosts and `@effect/cluster`\n")],
      ["a", "usage", "usage-1", "hosts-and-effectcluster"]
    )
  })

  it("finds a missing file, a missing anchor and a missing anchor on the same page; ignores code and URLs", () => {
    const pages: Record<string, string> = {
      "README.md": [
        "[ok](docs/a.md) [ok](docs/a.md#usage) [gone](docs/b.md) [bad anchor](docs/a.md#nope)",
        "`[in code](docs/none.md)` [web](https://example.com/x.md) [self](#top) [self bad](#bottom)",
        "```md",
        "[in a fence](docs/none.md)",
        "```",
        "# Top"
      ].join("\n"),
      "docs/a.md": "# A\n## Usage\n[up](../README.md#top) [up bad](../README.md#usage)\n"
    }
    const broken = brokenLinks(["README.md", "docs/a.md"], {
      text: (file) => pages[file],
      exists: (file) => file in pages
    })
    assert.deepStrictEqual(broken.map((b) => `${b.page} ${b.link}`), [
      "README.md docs/b.md",
      "README.md docs/a.md#nope",
      "README.md #bottom",
      "docs/a.md ../README.md#usage"
    ])
  })
})
