/**
 * effect-swarm: run LLM agents declared as YAML bundles on Effect-TS.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as BuildError from "./config/BuildError.js"

/**
 * @since 0.1.0
 */
export * as Permissions from "./config/Permissions.js"

/**
 * @since 0.1.0
 */
export * as RuntimeConfig from "./config/RuntimeConfig.js"

/**
 * @since 0.1.0
 */
export * as StateRoot from "./config/StateRoot.js"

/**
 * @since 0.1.0
 */
export * as Conversation from "./conversation/Conversation.js"

/**
 * @since 0.1.0
 */
export * as Message from "./conversation/Message.js"

/**
 * @since 0.1.0
 */
export * as MessageEvent from "./conversation/MessageEvent.js"

/**
 * @since 0.1.0
 */
export * as Bundle from "./resource/Bundle.js"

/**
 * @since 0.1.0
 */
export * as BundleError from "./resource/BundleError.js"

/**
 * @since 0.1.0
 */
export * as EntryModule from "./resource/EntryModule.js"

/**
 * @since 0.1.0
 */
export * as ObjectRef from "./resource/ObjectRef.js"

/**
 * @since 0.1.0
 */
export * as Resource from "./resource/Resource.js"

/**
 * @since 0.1.0
 */
export * as ValueSource from "./resource/ValueSource.js"

/**
 * @since 0.1.0
 */
export * as Yaml from "./resource/Yaml.js"

/**
 * @since 0.1.0
 */
export * as EventBus from "./event/EventBus.js"

/**
 * @since 0.1.0
 */
export * as LlmInputRecord from "./event/LlmInputRecord.js"

/**
 * @since 0.1.0
 */
export * as RuntimeEvent from "./event/RuntimeEvent.js"

/**
 * @since 0.1.0
 */
export * as Trace from "./event/Trace.js"

/**
 * @since 0.1.0
 */
export * as LlmInput from "./pipeline/LlmInput.js"

/**
 * @since 0.1.0
 */
export * as Middleware from "./pipeline/Middleware.js"

/**
 * @since 0.1.0
 */
export * as Pipeline from "./pipeline/Pipeline.js"

/**
 * @since 0.1.0
 */
export * as ToolArgs from "./tool/ToolArgs.js"

/**
 * @since 0.1.0
 */
export * as ToolCatalog from "./tool/ToolCatalog.js"

/**
 * @since 0.1.0
 */
export * as ToolError from "./tool/ToolError.js"

/**
 * @since 0.1.0
 */
export * as ToolExecutor from "./tool/ToolExecutor.js"

/**
 * @since 0.1.0
 */
export * as ToolModule from "./tool/ToolModule.js"

/**
 * @since 0.1.0
 */
export * as ToolName from "./tool/ToolName.js"

/**
 * @since 0.1.0
 */
export * as ToolRegistry from "./tool/ToolRegistry.js"

/**
 * @since 0.1.0
 */
export * as ToolSource from "./tool/ToolSource.js"

/**
 * @since 0.1.0
 */
export * as AtomicFile from "./workspace/AtomicFile.js"

/**
 * @since 0.1.0
 */
export * as InstanceLock from "./workspace/InstanceLock.js"

/**
 * @since 0.1.0
 */
export * as InstanceName from "./workspace/InstanceName.js"

/**
 * @since 0.1.0
 */
export * as Jsonl from "./workspace/Jsonl.js"

/**
 * @since 0.1.0
 */
export * as MessageStore from "./workspace/MessageStore.js"

/**
 * @since 0.1.0
 */
export * as StorageError from "./workspace/StorageError.js"

/**
 * @since 0.1.0
 */
export * as WorkspacePaths from "./workspace/WorkspacePaths.js"

/**
 * @since 0.1.0
 */
export * as NativeTools from "./sandbox/NativeTools.js"

/**
 * @since 0.1.0
 */
export * as ToolRuntime from "./sandbox/ToolRuntime.js"

/**
 * @since 0.1.0
 */
export * as ExtensionState from "./workspace/ExtensionState.js"

/**
 * @since 0.1.0
 */
export * as Instances from "./workspace/Instances.js"

/**
 * @since 0.1.0
 */
export * as RuntimeEventLog from "./workspace/RuntimeEventLog.js"

/**
 * @since 0.1.0
 */
export * as SandboxedTools from "./sandbox/SandboxedTools.js"

/**
 * @since 0.1.0
 */
export * as EventPersistence from "./pipeline/EventPersistence.js"

/**
 * @since 0.1.0
 */
export * as Model from "./model/Model.js"

/**
 * @since 0.1.0
 */
export * as ContextPolicy from "./context/ContextPolicy.js"

/**
 * @since 0.1.0
 */
export * as ContextWindow from "./context/ContextWindow.js"

/**
 * @since 0.1.0
 */
export * as Tokens from "./context/Tokens.js"

/**
 * @since 0.1.0
 */
export * as ModelError from "./model/ModelError.js"

/**
 * @since 0.1.0
 */
export * as Anthropic from "./model/providers/Anthropic.js"

/**
 * @since 0.1.0
 */
export * as OpenAi from "./model/providers/OpenAi.js"

/**
 * @since 0.1.0
 */
export * as OpenAiCompatible from "./model/providers/OpenAiCompatible.js"

/**
 * @since 0.1.0
 */
export * as Scripted from "./model/providers/Scripted.js"

/**
 * @since 0.1.0
 */
export * as AgentError from "./agent/AgentError.js"

/**
 * @since 0.1.0
 */
export * as AgentInstance from "./agent/AgentInstance.js"

/**
 * @since 0.1.0
 */
export * as Policy from "./agent/Policy.js"

/**
 * @since 0.1.0
 */
export * as Turn from "./agent/Turn.js"

/**
 * @since 0.1.0
 */
export * as Extension from "./extension/Extension.js"

/**
 * @since 0.1.0
 */
export * as ExtensionApi from "./extension/ExtensionApi.js"

/**
 * @since 0.1.0
 */
export * as ExtensionError from "./extension/ExtensionError.js"

/**
 * @since 0.1.0
 */
export * as AgentAddress from "./orchestrator/AgentAddress.js"

/**
 * @since 0.1.0
 */
export * as AgentsApi from "./orchestrator/AgentsApi.js"

/**
 * @since 0.1.0
 */
export * as Orchestrator from "./orchestrator/Orchestrator.js"

/**
 * @since 0.1.0
 */
export * as AgentHost from "./orchestrator/AgentHost.js"

/**
 * @since 0.1.0
 */
export * as OrchestratorError from "./orchestrator/OrchestratorError.js"

/**
 * @since 0.1.0
 */
export * as AgentsTool from "./orchestrator/AgentsTool.js"

/**
 * @since 0.1.0
 */
export * as Supervision from "./orchestrator/Supervision.js"

/**
 * @since 0.1.0
 */
export * as Connector from "./connector/Connector.js"

/**
 * @since 0.1.0
 */
export * as ConnectorError from "./connector/ConnectorError.js"

/**
 * @since 0.1.0
 */
export * as Connectors from "./connector/Connectors.js"

/**
 * @since 0.1.0
 */
export * as Ingress from "./connector/Ingress.js"

/**
 * @since 0.1.0
 */
export * as Webhook from "./connector/Webhook.js"

/**
 * @since 0.1.0
 */
export * as HttpConnector from "./connector/HttpConnector.js"
