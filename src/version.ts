/**
 * The package version, kept in step with package.json (checked by a test).
 *
 * @since 0.1.0
 */
export const version = "0.1.0"
