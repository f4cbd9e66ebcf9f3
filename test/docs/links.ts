/**
 * Relative links of Markdown pages: every `[text](target)` outside code resolves to a file of the repository
 * and, for `target#anchor` (or `#anchor`), to a heading of that page, with GitHub's anchor rules.
 */

/** A link that leads nowhere: the page it is on, the link as written, and why. */
export interface BrokenLink {
  readonly page: string
  readonly link: string
  readonly reason: string
}

/** The pages a check reads, by repository-relative path ("README.md", "docs/cli.md"), and which files exist. */
export interface Pages {
  readonly text: (file: string) => string | undefined
  readonly exists: (file: string) => boolean
}

const fence = /^\s{0,3}(`{3,}|~{3,})/

/** The lines of a page outside fenced code blocks. */
const proseLines = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let open: string | undefined
  for (const line of text.split("\n")) {
    const m = fence.exec(line)
    if (m !== null) {
      const marker = m[1]!
      if (open === undefined) open = marker
      else if (marker[0] === open[0] && marker.length >= open.length) open = undefined
      continue
    }
    if (open === undefined) out.push(line)
  }
  return out
}

/** GitHub's anchor of a heading: lower case, punctuation dropped (letters, digits, `-`, `_` kept), spaces to `-`. */
export const slug = (heading: string): string =>
  heading
    .replace(/`/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-")

/** Every anchor of a page, duplicates numbered as GitHub does (`x`, `x-1`, `x-2`). */
export const anchors = (text: string): ReadonlySet<string> => {
  const seen = new Set<string>()
  for (const line of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (m === null) continue
    const base = slug(m[1]!)
    let name = base
    for (let n = 1; seen.has(name); n++) name = `${base}-${n}`
    seen.add(name)
  }
  return seen
}

/** The relative link targets of a page, outside fenced code and inline code spans. */
export const links = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const line of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, "")
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:
      out.push(target)
    }
  }
  return out
}

const join = (page: string, target: string): string => {
  const parts = page.split("/").slice(0, -1)
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return parts.join("/")
}

/** Every broken relative link of the given pages. */
export const brokenLinks = (pages: ReadonlyArray<string>, files: Pages): ReadonlyArray<BrokenLink> => {
  const broken: Array<BrokenLink> = []
  for (const page of pages) {
    const text = files.text(page)
    if (text === undefined) {
      broken.push({ page, link: page, reason: "the page does not exist" })
      continue
    }
    for (const link of links(text)) {
      const hash = link.indexOf("#")
      const target = decodeURI(hash === -1 ? link : link.slice(0, hash))
      const anchor = hash === -1 ? undefined : decodeURIComponent(link.slice(hash + 1))
      const file = target === "" ? page : join(page, target)
      if (target !== "" && !files.exists(file)) {
        broken.push({ page, link, reason: `${file} does not exist` })
        continue
      }
      if (anchor === undefined || !file.endsWith(".md")) continue
      const targetText = files.text(file)
      if (targetText === undefined || !anchors(targetText).has(anchor.toLowerCase())) {
        broken.push({ page, link, reason: `${file} has no heading with the anchor #${anchor}` })
      }
    }
  }
  return broken
}
