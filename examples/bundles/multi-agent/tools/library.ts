/**
 * Sandboxed tool (Deno, no permissions at all: no network, no files): searches a small library of
 * notes embedded in the module, so the example runs offline. A real researcher would fetch pages here
 * (grant `--allow-net=<host>` in the Tool's spec.runtime.permissions).
 */
const shelf: ReadonlyArray<{ readonly title: string; readonly text: string }> = [
  {
    title: "effect-swarm",
    text: "effect-swarm runs LLM agents declared as YAML bundles on Effect-TS, keeps every conversation as " +
      "JSONL that survives a crash, and runs tools in-process or sandboxed in Bun, Node or Deno."
  },
  {
    title: "sandbox",
    text: "A sandboxed tool runs in a child process with only the permissions its bundle grants, a memory cap " +
      "and a timeout that kills its whole process group."
  },
  {
    title: "orchestrator",
    text: "The orchestrator gives each agent@instance a FIFO mailbox; agents call each other with agents__request."
  }
]

export const handlers = {
  search: async (args: { readonly query: string }) => {
    const words = args.query.toLowerCase().split(/\W+/).filter((w) => w.length > 2)
    const hits = shelf.filter((doc) => words.some((w) => `${doc.title} ${doc.text}`.toLowerCase().includes(w)))
    return { query: args.query, hits: hits.map((doc) => doc.title), best: hits[0]?.text ?? "nothing found" }
  }
}
