/** Sandboxed tool (Deno, network limited to example.com): fetch a page and return its title. */
export const handlers = {
  "fetch-page": async (args: { readonly path: string }) => {
    const response = await fetch(new URL(args.path, "https://example.com"))
    const html = await response.text()
    const title = /<title>([^<]*)<\/title>/i.exec(html)?.[1] ?? ""
    return { status: response.status, title }
  }
}
