/**
 * The test kit (`effect-swarm/testing`): the scripted model and the `TestAgent` harness.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Scripted from "./model/providers/Scripted.js"

/**
 * @since 0.1.0
 */
export * as TestAgent from "./testing/TestAgent.js"

/**
 * @since 0.1.0
 */
export { scripted as scriptedModel } from "./model/Model.js"
