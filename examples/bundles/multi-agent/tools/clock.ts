/** In-process tool: the current time. */
export const handlers = {
  now: async () => ({ iso: new Date().toISOString() })
}
