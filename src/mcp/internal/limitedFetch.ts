/**
 * The `fetch` of the Streamable HTTP transport, with the stdio transport's bound: no single message of more than
 * {@link maxMessageBytes}. The SDK reads a JSON answer whole (`response.json()`) and buffers an SSE event until
 * its line ends, so a server answering without end would grow the host's memory without bound.
 *
 * @internal
 */
import { maxLineBytes } from "./stdio.js"

/**
 * The largest JSON answer, or SSE line, read from an MCP server over HTTP.
 *
 * @internal
 */
export const maxMessageBytes = maxLineBytes

const newline = 10

/**
 * `fetch` whose response bodies fail (the SDK's read rejects) once a JSON answer, or one SSE line, passes
 * `max` bytes.
 *
 * @internal
 */
export const limitedFetch =
  (max: number = maxMessageBytes, inner: typeof fetch = fetch): typeof fetch => async (input, init) => {
    const response = await inner(input, init)
    if (response.body === null) return response
    const lines = response.headers.get("content-type")?.includes("text/event-stream") === true
    let run = 0
    const tooLong = () =>
      new Error(
        `the server sent ${lines ? "an event line" : "an answer"} of more than ${max / 1024 / 1024} MiB; ` +
          "it was not read to its end"
      )
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (lines) {
            const first = chunk.indexOf(newline)
            if (first < 0) run += chunk.length
            else if (run + first > max) run = max + 1
            else run = chunk.length - chunk.lastIndexOf(newline) - 1
          } else run += chunk.length
          if (run > max) controller.error(tooLong())
          else controller.enqueue(chunk)
        }
      })
    )
    const limited = new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers
    })
    // The SDK reads `url` (where a redirect led) to keep requests within the origin.
    Object.defineProperty(limited, "url", { value: response.url })
    return limited
  }
