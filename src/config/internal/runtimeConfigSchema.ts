/**
 * The Schema path: decode untrusted input (YAML, JSON) with effect Schema, collecting every issue
 * (`decode`, `decodeEither`, `InputFields`; re-exported by `RuntimeConfig`).
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { BuildIssue } from "../BuildError.js"
import { BuildError } from "../BuildError.js"
import * as Permissions from "../Permissions.js"
import type { Isolation, PermissionPolicy, RuntimeType } from "./runtimeConfigModel.js"
import { Config, defaults, emptyList, fieldNames } from "./runtimeConfigModel.js"
import {
  checkEntrypoint,
  checkEnvironment,
  checkIsolation,
  checkMaxMemoryMB,
  checkMaxStderrCaptureSize,
  checkNodeOption,
  checkPermissionPolicy,
  checkPrespawn,
  checkRuntimeType,
  checkWorkerFilePerm,
  crossFieldIssues,
  decodeDurationField,
  type DurationField,
  normalizeRuntimeType,
  sortIssues
} from "./runtimeConfigRules.js"

// Absent and `undefined` mean the same (the default); undefined keys are dropped before decoding.
const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const messageOf = <A>(check: (a: A) => string | undefined) => (a: A) => check(a) ?? true

const DurationInputSchema = (field: DurationField) =>
  Schema.transformOrFail(
    Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
    Schema.DurationFromSelf,
    {
      strict: true,
      decode: (input, _, ast) => {
        const decoded = decodeDurationField(field, input)
        return typeof decoded === "string"
          ? ParseResult.fail(new ParseResult.Type(ast, input, decoded))
          : ParseResult.succeed(decoded)
      },
      encode: (d) => ParseResult.succeed(d)
    }
  )

const PermissionListSchema = (field: "permissions" | "bunPermissions") =>
  Schema.transform(
    Schema.Array(
      Schema.String.pipe(
        Schema.filter((entry) =>
          Permissions.normalizeEntry(entry) === undefined ? Permissions.invalidEntryMessage(field, entry) : true
        )
      )
    ),
    Schema.Array(Schema.String),
    {
      strict: true,
      decode: (entries) => [...new Set(entries.map((e) => Permissions.normalizeEntry(e)!))],
      encode: (entries) => entries
    }
  )

/**
 * The Schema of the encoded form, field by field (each field carries its rule and message).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InputFields = Schema.Struct({
  runtimeType: Schema.transform(Schema.String, Schema.String, {
    strict: true,
    decode: normalizeRuntimeType,
    encode: (s) => s
  }).pipe(Schema.filter(messageOf(checkRuntimeType))),
  entrypointPath: exact(
    Schema.transform(Schema.String, Schema.String, { strict: true, decode: (s) => s.trim(), encode: (s) => s }).pipe(
      Schema.filter(messageOf(checkEntrypoint))
    )
  ),
  environment: exact(Schema.String.pipe(Schema.filter(messageOf(checkEnvironment)))),
  permissions: exact(PermissionListSchema("permissions")),
  bunPermissions: exact(PermissionListSchema("bunPermissions")),
  nodeOptions: exact(
    Schema.transform(
      Schema.Array(Schema.String.pipe(Schema.filter(messageOf(checkNodeOption)))),
      Schema.Array(Schema.String),
      { strict: true, decode: (xs) => [...new Set(xs.map((x) => x.trim()))], encode: (xs) => xs }
    )
  ),
  permissionPolicy: exact(Schema.String.pipe(Schema.filter(messageOf(checkPermissionPolicy)))),
  isolation: exact(Schema.String.pipe(Schema.filter(messageOf(checkIsolation)))),
  maxMemoryMB: exact(Schema.Number.pipe(Schema.filter(messageOf(checkMaxMemoryMB)))),
  toolExecutionTimeout: exact(DurationInputSchema("toolExecutionTimeout")),
  maxStderrCaptureSize: exact(Schema.Number.pipe(Schema.filter(messageOf(checkMaxStderrCaptureSize)))),
  backoffInitialInterval: exact(DurationInputSchema("backoffInitialInterval")),
  backoffMaxInterval: exact(DurationInputSchema("backoffMaxInterval")),
  backoffMaxElapsedTime: exact(DurationInputSchema("backoffMaxElapsedTime")),
  nativeTools: exact(Schema.Struct({
    callAgents: exact(Schema.Boolean),
    callWorkflows: exact(Schema.Boolean)
  })),
  workerFilePerm: exact(Schema.Number.pipe(Schema.filter(messageOf(checkWorkerFilePerm)))),
  prespawn: exact(Schema.Number.pipe(Schema.filter(messageOf(checkPrespawn))))
}).annotations({ identifier: "RuntimeConfig.Input" })

const CrossFields = Schema.Struct({
  runtimeType: Schema.String,
  bunPermissions: exact(Schema.Array(Schema.Unknown)),
  nodeOptions: exact(Schema.Array(Schema.Unknown)),
  backoffInitialInterval: exact(Schema.Unknown),
  backoffMaxInterval: exact(Schema.Unknown)
})

const decodeFields = Schema.decodeUnknownEither(InputFields, { errors: "all", onExcessProperty: "error" })
const decodeCross = Schema.decodeUnknownEither(CrossFields)

const dropUndefined = (raw: unknown): unknown => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) if (value !== undefined) out[key] = value
  return out
}

const knownFields = fieldNames.join(", ")

const parseIssues = (error: ParseResult.ParseError): Array<BuildIssue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)))
    // Shape errors from Schema say "Expected number, actual ..."; prefix the field so they stand alone.
    const message = issue._tag === "Unexpected" && path.length === 1
      ? `unknown field ${JSON.stringify(path[0])}; known fields: ${knownFields}`
      : path.length > 0 && issue.message.startsWith("Expected ")
      ? `${path.join(".")}: ${issue.message}`
      : issue.message
    return { path, message }
  })

/**
 * Validates untrusted input (for example a parsed YAML block) through effect `Schema` and returns the
 * same {@link Config} (or the same issues) as the fast builder. Unknown fields are errors.
 *
 * @example
 * ```ts
 * import { RuntimeConfig } from "effect-swarm"
 * RuntimeConfig.decodeEither({ runtimeType: "deno", toolExecutionTimeout: "5 seconds", maxMemoryMB: 256 })
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEither = (raw: unknown): Either.Either<Config, BuildError> => {
  const input = dropUndefined(raw)
  const fields = decodeFields(input)
  const cross = decodeCross(input)
  const issues: Array<BuildIssue> = Either.isLeft(fields) ? parseIssues(fields.left) : []
  if (Either.isRight(cross)) {
    const c = cross.right
    const initial = decodeDurationField(
      "backoffInitialInterval",
      c.backoffInitialInterval ?? defaults.backoffInitialInterval
    )
    const max = decodeDurationField("backoffMaxInterval", c.backoffMaxInterval ?? defaults.backoffMaxInterval)
    const crossIssues = crossFieldIssues(
      normalizeRuntimeType(c.runtimeType),
      c.bunPermissions?.length ?? 0,
      c.nodeOptions?.length ?? 0,
      typeof initial === "string" ? undefined : initial,
      typeof max === "string" ? undefined : max
    )
    for (const issue of crossIssues) issues.push(issue)
  }
  if (issues.length > 0 || Either.isLeft(fields)) {
    return Either.left(new BuildError({ errors: sortIssues(issues) }))
  }
  const f = fields.right
  const freezeList = (xs: ReadonlyArray<string> | undefined, fallback: ReadonlyArray<string>) =>
    xs === undefined ? fallback : xs.length === 0 ? emptyList : Object.freeze([...xs])
  return Either.right(
    new Config({
      runtimeType: f.runtimeType as RuntimeType,
      entrypointPath: f.entrypointPath ?? defaults.entrypointPath,
      environment: f.environment ?? defaults.environment,
      permissions: freezeList(f.permissions, defaults.permissions),
      bunPermissions: freezeList(f.bunPermissions, defaults.bunPermissions),
      nodeOptions: freezeList(f.nodeOptions, defaults.nodeOptions),
      permissionPolicy: (f.permissionPolicy ?? defaults.permissionPolicy) as PermissionPolicy,
      isolation: (f.isolation ?? defaults.isolation) as Isolation,
      maxMemoryMB: f.maxMemoryMB ?? defaults.maxMemoryMB,
      toolExecutionTimeout: f.toolExecutionTimeout ?? defaults.toolExecutionTimeout,
      maxStderrCaptureSize: f.maxStderrCaptureSize ?? defaults.maxStderrCaptureSize,
      backoffInitialInterval: f.backoffInitialInterval ?? defaults.backoffInitialInterval,
      backoffMaxInterval: f.backoffMaxInterval ?? defaults.backoffMaxInterval,
      backoffMaxElapsedTime: f.backoffMaxElapsedTime ?? defaults.backoffMaxElapsedTime,
      nativeTools: f.nativeTools === undefined ? defaults.nativeTools : Object.freeze({
        callAgents: f.nativeTools.callAgents === true,
        callWorkflows: f.nativeTools.callWorkflows === true
      }),
      workerFilePerm: f.workerFilePerm ?? defaults.workerFilePerm,
      prespawn: f.prespawn ?? defaults.prespawn
    })
  )
}

/**
 * {@link decodeEither} as an `Effect`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown): Effect.Effect<Config, BuildError> => decodeEither(input)
