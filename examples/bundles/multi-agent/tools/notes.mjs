// Sandboxed tool (Node, pooled workers): notes kept in the worker's memory.
// JavaScript, not TypeScript: Node before 22.6 cannot import a .ts entry (the sandbox refuses it with
// EntrypointUnsupported and `effect-swarm validate` warns), and this example must run on Node 20.
/** @type {Array<string>} */
const notes = []

export const handlers = {
  /** @param {{ readonly text: string }} args */
  add: async (args) => {
    notes.push(args.text)
    return { count: notes.length }
  },
  list: async () => ({ notes: [...notes] })
}
