/**
 * The resource envelope and one schema per kind: Model, Tool, McpServer, Extension, Agent, Swarm,
 * Connector, Connection and Package. Decoded resources are typed per kind (`ToolResource`, `AgentResource`, ...).
 *
 * Every resource is `{ apiVersion, kind, metadata: { name, labels?, annotations? }, spec }` with
 * apiVersion `effect-swarm/v1`, or `goondan.ai/v1` so goondan bundles load unchanged (the decoded
 * `apiVersion` records which one was used). Unknown fields are errors, with the nearest known field
 * as a suggestion.
 *
 * This module is the public facade: the envelope and shared fields live in
 * `internal/resource/envelope.ts`, each kind in its own module beside it, decoding in `decode.ts`.
 *
 * @since 0.1.0
 */
export {
  Agent,
  type AgentResource,
  AgentSpec,
  ModelParams,
  type ToolRef,
  ToolRefSchema
} from "./internal/resource/agent.js"
export { Connection, type ConnectionResource, ConnectionSpec, IngressRule } from "./internal/resource/connection.js"
export { Connector, ConnectorEvent, type ConnectorResource, ConnectorSpec } from "./internal/resource/connector.js"
export { ContextSpec } from "./internal/resource/context.js"
export {
  decode,
  decodeScript,
  type Issue,
  issuesOf,
  type OfKind,
  type Resource,
  schemaOf
} from "./internal/resource/decode.js"
export { DurationField, parseDuration } from "./internal/resource/duration.js"
export {
  type ApiVersion,
  apiVersions,
  ApiVersionSchema,
  checkName,
  checkPackageName,
  checkRelativePath,
  isKind,
  type Kind,
  kinds,
  Metadata,
  slugify
} from "./internal/resource/envelope.js"
export { Extension, type ExtensionResource, ExtensionSpec, type ExtensionUse } from "./internal/resource/extension.js"
export {
  McpHttp,
  McpSandbox,
  McpServer,
  type McpServerResource,
  McpServerSpec,
  McpStdio
} from "./internal/resource/mcpServer.js"
export {
  Model,
  type ModelOptions,
  modelOptions,
  type ModelPrice,
  type ModelResource,
  ModelSpec,
  type Provider,
  providers
} from "./internal/resource/model.js"
export { Package, PackageDependency, type PackageResource, PackageSpec } from "./internal/resource/package.js"
export {
  AgentPolicy,
  type Budget,
  budgetFields,
  defaultToolConcurrency,
  effectivePolicy
} from "./internal/resource/policy.js"
export {
  type ModelScript,
  ModelScriptSchema,
  scriptMatcher,
  ScriptStep,
  ScriptSteps,
  ScriptToolCall
} from "./internal/resource/script.js"
export { Swarm, SwarmPolicy, type SwarmResource, SwarmSpec } from "./internal/resource/swarm.js"
export { Tool, ToolExport, type ToolResource, ToolSpec } from "./internal/resource/tool.js"
export { runtimeOptions, type ToolPool, type ToolRuntime, ToolRuntimeSchema } from "./internal/resource/toolRuntime.js"
