/**
 * A loopback OTLP/HTTP receiver for the observability tests (JSON protocol) and readers for what it got:
 * spans, metrics, attributes.
 */
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
  readonly arrayValue?: { readonly values: ReadonlyArray<OtlpValue> }
}
export interface OtlpAttribute {
  readonly key: string
  readonly value: OtlpValue
}
export interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly startTimeUnixNano: string | number
  readonly endTimeUnixNano: string | number
  readonly status?: { readonly code?: number; readonly message?: string }
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly events?: ReadonlyArray<{ readonly name: string; readonly attributes: ReadonlyArray<OtlpAttribute> }>
}
export interface OtlpPoint {
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly count?: string | number
  readonly sum?: number
  readonly asDouble?: number
  readonly asInt?: string | number
}
export interface OtlpMetric {
  readonly name: string
  readonly histogram?: { readonly dataPoints: ReadonlyArray<OtlpPoint> }
  readonly sum?: { readonly dataPoints: ReadonlyArray<OtlpPoint> }
  readonly gauge?: { readonly dataPoints: ReadonlyArray<OtlpPoint> }
}

/** A span's length in milliseconds. */
export const durationMs = (span: OtlpSpan): number =>
  Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6

export const valueOf = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ??
    v.arrayValue?.values.map(valueOf)
export const attrs = (list: ReadonlyArray<OtlpAttribute>): Record<string, unknown> =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]))

/** A loopback OTLP/HTTP receiver (JSON protocol): keeps every decoded payload by path. */
export const receiver = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly bodies: Map<string, Array<unknown>>; readonly server: http.Server }>(
    (resume) => {
      const bodies = new Map<string, Array<unknown>>()
      const server = http.createServer((req, res) => {
        let text = ""
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => (text += chunk))
        req.on("end", () => {
          const list = bodies.get(req.url ?? "") ?? []
          list.push(JSON.parse(text))
          bodies.set(req.url ?? "", list)
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

export const spansOf = (bodies: Map<string, Array<unknown>>): Array<OtlpSpan> =>
  (bodies.get("/v1/traces") ?? []).flatMap((body) =>
    (body as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }).resourceSpans
      .flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
  )

export const metricsOf = (bodies: Map<string, Array<unknown>>): Array<OtlpMetric> =>
  (bodies.get("/v1/metrics") ?? []).flatMap((body) =>
    (body as { resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<OtlpMetric> }> }> })
      .resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
  )
