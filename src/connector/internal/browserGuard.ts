/**
 * Refuses what a web page in the user's browser can send to a server on this machine: a cross-origin
 * request (the browser names the page in `Origin`; a form or a `no-cors` fetch with a `text/plain` body
 * needs no preflight, so the request arrives and runs a turn even though the page cannot read the
 * answer), and DNS rebinding (a page on `evil.example` whose name now resolves to 127.0.0.1: its requests
 * are same-origin for the browser, but their `Host` is `evil.example`).
 *
 * Servers of effect-swarm serve no pages, so no browser page has a reason to call them: a request that
 * carries an `Origin` other than the server's own address is refused, and a server bound to a loopback
 * address answers only requests addressed to a loopback name (`localhost`, `127.0.0.1`, `[::1]`) or to a
 * name the operator allowed. Webhook senders, curl and SDK clients send no `Origin` and a loopback `Host`.
 *
 * @internal
 */

/** Why a request was refused, for a 403 answer. */
export interface Refusal {
  readonly error: "ForbiddenOrigin" | "ForbiddenHost"
  readonly message: string
}

const loopbackNames = new Set(["localhost", "127.0.0.1", "[::1]", "::1"])

/** Whether `host` (a bind address or a Host header's name) is a loopback name. */
export const isLoopback = (host: string): boolean => {
  const h = host.trim().toLowerCase()
  return loopbackNames.has(h) || h.endsWith(".localhost") || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/** The name part of a Host header value (`name:port`, `[v6]:port`), lower-cased. */
const hostName = (header: string): string => {
  const h = header.trim().toLowerCase()
  if (h.startsWith("[")) {
    const end = h.indexOf("]")
    return end < 0 ? h : h.slice(0, end + 1)
  }
  const colon = h.lastIndexOf(":")
  return colon < 0 ? h : h.slice(0, colon)
}

const shown = (value: string) => JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value)

/**
 * The refusal of a request with these headers to a server bound to `boundHost`, or `undefined` when it
 * may be served. `allowedHosts`: more names (lower case, without port) a loopback-bound server answers to,
 * e.g. the name a local reverse proxy forwards.
 */
export const check = (
  headers: { readonly host?: string | undefined; readonly origin?: string | undefined },
  boundHost: string,
  allowedHosts: ReadonlyArray<string> = []
): Refusal | undefined => {
  const host = headers.host
  if (host !== undefined && isLoopback(boundHost)) {
    const name = hostName(host)
    if (!isLoopback(name) && !allowedHosts.includes(name)) {
      return {
        error: "ForbiddenHost",
        message: `this server listens on ${boundHost} and answers requests addressed to localhost or 127.0.0.1, ` +
          `not to Host ${shown(host)} (a web page that rebinds its DNS name to this machine sends such requests); ` +
          "address it as http://127.0.0.1:<port>, or allow the name (http connector: spec.config.allowedHosts)"
      }
    }
  }
  const origin = headers.origin
  if (origin !== undefined) {
    let same = false
    try {
      same = host !== undefined && new URL(origin).host === host.trim().toLowerCase()
    } catch {
      same = false
    }
    if (!same) {
      return {
        error: "ForbiddenOrigin",
        message: `requests from web pages are refused (Origin ${shown(origin)}): a page the user visits could ` +
          "otherwise start turns here; call this server from a server or a script, which sends no Origin header"
      }
    }
  }
  return undefined
}
