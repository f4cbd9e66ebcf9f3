/** Placeholder, replaced by the RuntimeConfig construction benchmark. */
export const run = async (): Promise<void> => {}
