/**
 * Loading one Connection: its Connector resolved, its values resolved (`runtime.prepare`), its built-in
 * found or its module imported (at the entry's content version). And the fingerprint `Connectors.reload`
 * compares: what a new start of the connection would be made of.
 */
import * as Effect from "effect/Effect"
import * as Bundle from "../../resource/Bundle.js"
import * as EntryModule from "../../resource/EntryModule.js"
import type { ConnectionResource, ConnectorResource } from "../../resource/Resource.js"
import type { Builtin } from "../Connector.js"
import { ConnectorLoadError } from "../ConnectorError.js"
import * as Module from "./module.js"
import * as ConnectorRuntime from "./runtime.js"

/** A connection ready to start. */
export interface Loaded {
  readonly prepared: ConnectorRuntime.Prepared
  readonly builtin: Builtin
}

const connectorOf = (bundle: Bundle.Bundle, connection: Bundle.Entry<ConnectionResource>) => {
  const resolved = Bundle.resolve(bundle, connection.resource.spec.connectorRef, connection)
  return resolved === undefined || resolved.resource.kind !== "Connector" ?
    undefined :
    resolved as Bundle.Entry<ConnectorResource>
}

const entryOf = (connector: Bundle.Entry<ConnectorResource>) =>
  connector.entryFile ?? `${connector.rootDir}/${connector.resource.spec.entry ?? ""}`

/** Loads one connection (nothing starts). */
export const loadOne = (
  bundle: Bundle.Bundle,
  connection: Bundle.Entry<ConnectionResource>,
  entryAgent: string,
  builtins: Readonly<Record<string, Builtin>>
): Effect.Effect<Loaded, ConnectorLoadError> =>
  Effect.gen(function*() {
    const name = connection.resource.metadata.name
    const ref = connection.resource.spec.connectorRef
    const connector = connectorOf(bundle, connection)
    if (connector === undefined) {
      return yield* new ConnectorLoadError({
        code: "E_CONNECTOR_NOT_FOUND",
        connection: name,
        connector: ref.name,
        file: connection.file,
        reason: `spec.connectorRef names no Connector ${ref.name}`,
        suggestion: "declare the Connector in the bundle or fix connectorRef"
      })
    }
    const prepared = yield* ConnectorRuntime.prepare(connection, connector, entryAgent)
    const builtinName = connector.resource.spec.builtin
    if (builtinName !== undefined) {
      const builtin = builtins[builtinName]
      if (builtin === undefined) {
        return yield* new ConnectorLoadError({
          code: "E_CONNECTOR_BUILTIN_UNKNOWN",
          connection: name,
          connector: connector.resource.metadata.name,
          file: connector.file,
          reason: `there is no built-in connector ${JSON.stringify(builtinName)}`,
          suggestion: `built-in connectors: ${Object.keys(builtins).join(", ") || "(none)"}`
        })
      }
      return { prepared, builtin }
    }
    return { prepared, builtin: Module.fromRun(yield* Module.load(prepared, entryOf(connector))) }
  })

/**
 * What a start of the connection is made of: its Connection and Connector resources, the entry agent and the
 * content version of the connector's module. Equal fingerprints: a restart would change nothing.
 */
export const fingerprint = (
  bundle: Bundle.Bundle,
  connection: Bundle.Entry<ConnectionResource>,
  entryAgent: string
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const connector = connectorOf(bundle, connection)
    const module = connector === undefined || connector.resource.spec.builtin !== undefined ?
      undefined :
      yield* EntryModule.versionOfFile(entryOf(connector))
    return JSON.stringify({ connection: connection.resource, connector: connector?.resource, module, entryAgent })
  })
