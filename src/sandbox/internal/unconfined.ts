/**
 * What only the OS sandbox keeps, checked before a call runs under the runtime's own flags
 * (`isolation: "runtime"`, or `"auto"` without a working bubblewrap).
 *
 * The runtimes' flags check the paths a tool names, in the tool's own process. They do not hide the
 * host's `/proc`, do not follow a subprocess, do not look behind a symlink in a granted directory,
 * and do not keep a tool out of the layer's private directory when it may write there. So a config
 * that restricts a tool and also grants one of those doors is refused up front (under
 * `permissionPolicy: "warn"` it runs with a warning):
 *
 * - E1: a restricted environment with read access to `/proc` (`--allow-read`; on Bun, which enforces
 *   no read limit, every env restriction is unenforceable in `Limits`): `/proc/<pid>/environ` of the
 *   host and of other workers holds their variables.
 * - E2: the entry's directory is granted implicitly (a tool imports its siblings); a symlink in it that
 *   leads outside the read grant would be followed, and so would one the tool plants there when it may
 *   write the directory.
 * - E3: write access to the layer's private directory (`--allow-write`, or a grant above it): a tool
 *   could rewrite the worker script other calls run, or another call's scratch directory.
 * - Read access to the layer's private directory (`--allow-read`, a grant above it such as the
 *   temporary root, a grant of a symlink leading there, or the entry's own directory when the tool
 *   sits above it): a tool could read other calls' scratch files, and a cold Bun call's `init` and
 *   call (its input, environment and token), which the host hands over in a file there. Read access
 *   to `/proc` next to any restriction, even with the whole environment granted: other workers'
 *   `/proc/<pid>/environ` holds their calls' variables, and `/proc/<pid>/fd` their pipes.
 *
 * Grants are compared by where they lead (their real paths): the flags match the name the tool
 * uses, and the kernel follows a symlink in it.
 * - E9 (and the subprocess rule): any `--allow-run` next to a restriction: a subprocess is bound by
 *   none of the runtime's flags, and a descendant that leaves the process group and is re-parented
 *   (a double fork) before the watchdog sees it outlives the call.
 *
 * `--allow-all` restricts nothing, so nothing is refused: such a tool has the host user's authority
 * over everything above, and docs/tools-and-sandbox.md says so. E10 (scratch space) is enforced under both
 * strategies (a sampled size limit here, see `WorkerProcess`), so it is not in this list.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type * as Permissions from "../../config/Permissions.js"
import type * as Limits from "../Limits.js"
import * as Sandbox from "../Sandbox.js"

/** How to get what the refusals below miss. */
export const suggestion =
  `use isolation "os" (bubblewrap), which confines every process of the call: ${Sandbox.installHint}`

/** True when `inner` is `outer` or below it. */
const within = (outer: string, inner: string): boolean =>
  inner === outer || inner.startsWith(outer === path.sep ? outer : outer + path.sep)

/**
 * Where a granted path leads: its real path (the flags match the name the tool uses, and the kernel
 * follows a symlink in it, so a grant of a link to the temporary root reaches the private directory),
 * else its resolved form (a path that does not exist yet).
 */
const real = (p: string): string => {
  try {
    return fs.realpathSync(path.resolve(p))
  } catch {
    return path.resolve(p)
  }
}

/** True when `grant` covers `target` (a real path): the grant leads to it or to a directory above it. */
const covers = (grant: Permissions.Grant, target: string): boolean => {
  if (grant === "all") return true
  if (grant === "none") return false
  return grant.some((p) => within(real(p), target))
}

/** True when `grant` reaches into directory `dir` (a real path): it covers `dir`, or leads inside it. */
const reaches = (grant: Permissions.Grant, dir: string): boolean =>
  covers(grant, dir) || (grant !== "all" && grant !== "none" && grant.some((p) => within(dir, real(p))))

const restrictsSomething = (grants: Permissions.Grants): boolean =>
  grants.read !== "all" || grants.write !== "all" || grants.net !== "all" || grants.env !== "all" ||
  grants.run !== "all"

/** At most this many directory entries are checked for symlinks (a larger tool directory is refused:
 * the check could not vouch for it). */
const scanLimit = 20_000

type LinkScan =
  | { readonly _tag: "Clean" }
  | { readonly _tag: "Escapes"; readonly link: string; readonly target: string }
  | { readonly _tag: "TooLarge" }

/** Walks `dir` (not following links) for a symlink whose target is outside `dir` and `read`. */
const scanLinks = (dir: string, read: Permissions.Grant): LinkScan => {
  const stack = [dir]
  let seen = 0
  while (stack.length > 0) {
    const current = stack.pop()!
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(current, { withFileTypes: true })
    } catch {
      continue
    }
    for (const entry of entries) {
      if (++seen > scanLimit) return { _tag: "TooLarge" }
      const full = path.join(current, entry.name)
      if (entry.isDirectory()) stack.push(full)
      else if (entry.isSymbolicLink()) {
        let target: string
        try {
          target = fs.realpathSync(full)
        } catch {
          // A dangling link: it could be made to point anywhere by whoever can create its target.
          target = path.resolve(current, fs.readlinkSync(full))
        }
        if (!covers([dir], target) && !covers(read, target)) return { _tag: "Escapes", link: full, target }
      }
    }
  }
  return { _tag: "Clean" }
}

/** What the refusals need besides the capabilities and grants. */
export interface Context {
  /** The layer's private directory (worker script, scratch directories). */
  readonly privateDir: string
  /** The entry's directory (real path), granted implicitly. */
  readonly entryDir: string
}

/**
 * The restrictions of `grants` that the runtime's flags alone cannot keep (see the module doc). Empty
 * under bubblewrap and for `--allow-all`.
 *
 * @internal
 */
export const refusals = (
  capabilities: Limits.Capabilities,
  grants: Permissions.Grants,
  context: Context
): Array<Limits.Unenforced> => {
  if (capabilities.isolation !== "none" || !restrictsSomething(grants)) return []
  const out: Array<Limits.Unenforced> = []
  const bun = capabilities.runtimeType === "bun"
  // Bun's own restrictions (env included: it reads every /proc entry) are refused by Limits.unenforced.
  const readsProc = !bun && covers(grants.read, "/proc")
  if (readsProc && grants.env !== "all") {
    out.push({
      suggestion,
      permission: "env",
      reason: `${grants.read === "all" ? "read access to everything" : "a read grant covering /proc"} ` +
        "lets the tool read /proc/<pid>/environ of the host and of other tools' workers, so their variables " +
        "are not withheld; grant --allow-read=<paths> outside /proc"
    })
  } else if (readsProc) {
    out.push({
      suggestion,
      permission: "read",
      reason: `${grants.read === "all" ? "read access to everything" : "a read grant covering /proc"} ` +
        "lets the tool read /proc/<pid>/environ and /proc/<pid>/fd of other tools' workers and of the host: " +
        "other calls' variables, and the pipes their calls and results travel on; grant --allow-read=<paths> " +
        "outside /proc"
    })
  }
  if (grants.run !== "none") {
    out.push({
      suggestion,
      permission: "run",
      reason: "without OS isolation a subprocess of the tool is bound by none of the runtime's permission flags, " +
        "and a descendant that leaves the process group (setsid, double fork) can outlive the call"
    })
  }
  if (reaches(grants.write, context.privateDir)) {
    out.push({
      suggestion,
      permission: "write",
      reason: `${grants.write === "all" ? "write access to everything" : "a write grant"} covers the ` +
        `sandbox's private directory ${context.privateDir}: the tool could rewrite the worker script other ` +
        "calls run, and read their input and environment"
    })
  }
  if (!bun && reaches(grants.read, context.privateDir)) {
    out.push({
      suggestion,
      permission: "read",
      reason: `${grants.read === "all" ? "read access to everything" : "a read grant"} reaches the sandbox's ` +
        `private directory ${context.privateDir}: the tool could read other calls' scratch files and the input, ` +
        "environment and token of cold Bun calls; grant --allow-read=<paths> outside it (a symlink counts as " +
        "where it leads), or give ToolRuntime a tempRoot outside the grant"
    })
  } else if (!bun && reaches([context.entryDir], context.privateDir)) {
    out.push({
      suggestion,
      permission: "read",
      reason: `the tool's directory ${context.entryDir} (read implicitly, for its imports) holds the sandbox's ` +
        `private directory ${context.privateDir}: the tool could read other calls' scratch files and the input, ` +
        "environment and token of cold Bun calls; move the tool into a directory of its own, or give ToolRuntime " +
        "a tempRoot outside it"
    })
  }
  if (!bun && grants.read !== "all") {
    if (covers(grants.write, context.entryDir)) {
      out.push({
        suggestion,
        permission: "read",
        reason: `the tool may write its own directory ${context.entryDir} (read implicitly, for its imports) ` +
          "and could plant a symlink there that the runtime follows outside the read grant"
      })
    } else {
      const scan = scanLinks(context.entryDir, grants.read)
      if (scan._tag === "Escapes") {
        out.push({
          suggestion,
          permission: "read",
          reason: `the tool's directory holds a symlink ${scan.link} to ${scan.target}, outside the read grant; ` +
            "the runtime follows it (the directory is read implicitly, for the tool's imports): remove the link " +
            "or grant its target"
        })
      } else if (scan._tag === "TooLarge") {
        out.push({
          suggestion,
          permission: "read",
          reason: `the tool's directory ${context.entryDir} has more than ${scanLimit} entries to check for ` +
            "symlinks leading outside the read grant (the runtime would follow them); move the tool to a smaller " +
            "directory"
        })
      }
    }
  }
  return out
}
