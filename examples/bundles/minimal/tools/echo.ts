/**
 * The echo tool of the minimal example bundle: one handler per declared export, called with the
 * validated arguments.
 */
export const handlers = {
  say: async (args: { readonly text: string }) => ({ text: args.text })
}
