/** Sandboxed tool (Node, pooled workers): notes kept in the worker's memory. */
const notes: Array<string> = []

export const handlers = {
  add: async (args: { readonly text: string }) => {
    notes.push(args.text)
    return { count: notes.length }
  },
  list: async () => ({ notes: [...notes] })
}
