/**
 * The paths of the instances a store uses, computed once per instance (a dozen `path.join`s, about 2 KB of
 * strings per call, and a hash for a workspace id that is not a plain name) instead of on every call.
 * Bounded: cleared when it holds too many. The bound is small (a turn reuses one instance's paths many
 * times; an idle instance needs none): at 4,096 entries, 1,000 idle instances kept ~8 KB each of paths in each store
 * (45 -> 54 KB per idle instance on disk, over the 50 KB target).
 *
 * @internal
 */
import * as WorkspacePaths from "../WorkspacePaths.js"

const bound = 128

/** A lookup of `WorkspacePaths.instance(root, ref)`, cached by the ref's three names. */
export const cache = (root: string): (ref: WorkspacePaths.InstanceRef) => WorkspacePaths.InstancePaths => {
  const paths = new Map<string, WorkspacePaths.InstancePaths>()
  return (ref) => {
    const key = `${ref.workspaceId}\u0000${ref.agentName}\u0000${ref.instanceKey}`
    let p = paths.get(key)
    if (p === undefined) {
      if (paths.size >= bound) paths.clear()
      p = WorkspacePaths.instance(root, ref)
      paths.set(key, p)
    }
    return p
  }
}
