/**
 * OpenTelemetry traces and metrics (`effect-swarm/observability`), kept out of the main entry point so
 * that its optional peer dependencies are only needed by programs that use it.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Observability from "./observability/Observability.js"
