/**
 * The built-in connectors a Connector names with `spec.builtin` (`Connectors.run` takes more through its
 * `builtins` option). The `http` connector is `HttpConnector.connector`; the terminal chat (`cli`) is added by the
 * CLI's run command.
 *
 * @since 0.1.0
 */
import type { Builtin } from "./Connector.js"
import * as HttpConnector from "./HttpConnector.js"

/**
 * The built-in connectors by name.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Readonly<Record<string, Builtin>> = { http: HttpConnector.connector }
