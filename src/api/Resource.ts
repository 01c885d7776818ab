/**
 * The one entry point that turns an unknown Kubernetes object into a typed Resource: dispatch on
 * apiVersion group + kind, apply API-server behaviour the schemas cannot express (null fields are
 * dropped; a namespaced object without a namespace lives in "default"), decode, and render every
 * issue as a field path and a readable message.
 */
import { Result, type Schema, type SchemaAST, type SchemaIssue, SchemaParser } from "effect"
import { ConfigMap } from "./core/ConfigMap.ts"
import { EndpointSlice } from "./core/EndpointSlice.ts"
import { Namespace } from "./core/Namespace.ts"
import { Secret } from "./core/Secret.ts"
import { Service } from "./core/Service.ts"
import { BackendTLSPolicy } from "./gatewayapi/BackendTLSPolicy.ts"
import { Gateway } from "./gatewayapi/Gateway.ts"
import { GatewayClass } from "./gatewayapi/GatewayClass.ts"
import { GRPCRoute } from "./gatewayapi/GRPCRoute.ts"
import { HTTPRoute } from "./gatewayapi/HTTPRoute.ts"
import { ListenerSet } from "./gatewayapi/ListenerSet.ts"
import { ReferenceGrant } from "./gatewayapi/ReferenceGrant.ts"
import { TCPRoute } from "./gatewayapi/TCPRoute.ts"
import { TLSRoute } from "./gatewayapi/TLSRoute.ts"
import { UDPRoute } from "./gatewayapi/UDPRoute.ts"

export type Resource =
  | GatewayClass
  | Gateway
  | HTTPRoute
  | GRPCRoute
  | TLSRoute
  | TCPRoute
  | UDPRoute
  | ReferenceGrant
  | BackendTLSPolicy
  | ListenerSet
  | Namespace
  | Service
  | EndpointSlice
  | Secret
  | ConfigMap

export interface DecodeIssue {
  /** The field, e.g. `spec.listeners[0].port`; "" for the object itself. */
  readonly path: string
  readonly message: string
}

export type DecodeOutcome =
  | { readonly _tag: "Decoded"; readonly resource: Resource }
  | { readonly _tag: "Ignored"; readonly apiVersion: string; readonly kind: string }
  | {
      readonly _tag: "Invalid"
      readonly kind: string
      readonly namespace?: string
      readonly name?: string
      readonly issues: ReadonlyArray<DecodeIssue>
    }

// ---------------------------------------------------------------------------------------------
// Registry: decoders are built once, at module load
// ---------------------------------------------------------------------------------------------

const GATEWAY_API_GROUP = "gateway.networking.k8s.io"

const GATEWAY_API_KINDS: ReadonlySet<string> = new Set([
  "GatewayClass",
  "Gateway",
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
  "ReferenceGrant",
  "BackendTLSPolicy",
  "ListenerSet"
])

/** Whether `kind` is one of the Gateway API kinds Portico reads. */
export const isGatewayApiKind = (kind: string): boolean => GATEWAY_API_KINDS.has(kind)

interface Decoder {
  readonly namespaced: boolean
  readonly decode: (input: unknown) => Result.Result<Resource, SchemaIssue.Issue>
}

const parseOptions: SchemaAST.ParseOptions = { errors: "all", reportInput: true }

const decoder = (schema: Schema.ConstraintDecoder<Resource>, namespaced: boolean): Decoder => ({
  namespaced,
  decode: SchemaParser.decodeUnknownResult(schema, parseOptions)
})

const decoders: ReadonlyMap<string, Decoder> = new Map([
  [`${GATEWAY_API_GROUP}/GatewayClass`, decoder(GatewayClass, false)],
  [`${GATEWAY_API_GROUP}/Gateway`, decoder(Gateway, true)],
  [`${GATEWAY_API_GROUP}/HTTPRoute`, decoder(HTTPRoute, true)],
  [`${GATEWAY_API_GROUP}/GRPCRoute`, decoder(GRPCRoute, true)],
  [`${GATEWAY_API_GROUP}/TLSRoute`, decoder(TLSRoute, true)],
  [`${GATEWAY_API_GROUP}/TCPRoute`, decoder(TCPRoute, true)],
  [`${GATEWAY_API_GROUP}/UDPRoute`, decoder(UDPRoute, true)],
  [`${GATEWAY_API_GROUP}/ReferenceGrant`, decoder(ReferenceGrant, true)],
  [`${GATEWAY_API_GROUP}/BackendTLSPolicy`, decoder(BackendTLSPolicy, true)],
  [`${GATEWAY_API_GROUP}/ListenerSet`, decoder(ListenerSet, true)],
  ["/Namespace", decoder(Namespace, false)],
  ["/Service", decoder(Service, true)],
  ["/Secret", decoder(Secret, true)],
  ["/ConfigMap", decoder(ConfigMap, true)],
  ["discovery.k8s.io/EndpointSlice", decoder(EndpointSlice, true)]
])

// ---------------------------------------------------------------------------------------------
// decodeResource
// ---------------------------------------------------------------------------------------------

type JsonObject = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const groupOf = (apiVersion: string): string => {
  const slash = apiVersion.lastIndexOf("/")
  return slash === -1 ? "" : apiVersion.slice(0, slash)
}

/** Decodes one Kubernetes object. Pure and synchronous; never throws. */
export const decodeResource = (raw: unknown): DecodeOutcome => {
  if (!isObject(raw)) {
    return { _tag: "Invalid", kind: "", issues: [{ path: "", message: `expected an object, got ${showInput(raw)}` }] }
  }
  const { apiVersion, kind } = raw
  if (typeof kind !== "string" || kind === "") {
    return invalid(raw, "", [{ path: "kind", message: fieldMessage(kind) }])
  }
  if (typeof apiVersion !== "string" || apiVersion === "") {
    return invalid(raw, kind, [{ path: "apiVersion", message: fieldMessage(apiVersion) }])
  }
  const entry = decoders.get(`${groupOf(apiVersion)}/${kind}`)
  if (entry === undefined) return { _tag: "Ignored", apiVersion, kind }
  const input = prepare(raw, entry.namespaced)
  try {
    const result = entry.decode(input)
    return Result.isSuccess(result)
      ? { _tag: "Decoded", resource: result.success }
      : invalid(input, kind, issuesOf(result.failure))
  } catch (cause) {
    return invalid(input, kind, [{ path: "", message: `could not decode: ${String(cause)}` }])
  }
}

const fieldMessage = (value: unknown): string =>
  value === undefined ? "missing required field" : `expected a non-empty string, got ${showInput(value)}`

const invalid = (object: JsonObject, kind: string, issues: ReadonlyArray<DecodeIssue>): DecodeOutcome => {
  const metadata = isObject(object.metadata) ? object.metadata : {}
  const { name, namespace } = metadata
  return {
    _tag: "Invalid",
    kind,
    ...(typeof namespace === "string" ? { namespace } : {}),
    ...(typeof name === "string" ? { name } : {}),
    issues
  }
}

/**
 * What the API server does before validation: fields set to null are dropped (so defaults apply),
 * and a namespaced object without a namespace is in "default". Copies only what changes.
 */
const prepare = (raw: JsonObject, namespaced: boolean): JsonObject => {
  const object = objectWithoutNulls(raw)
  const metadata = object.metadata
  if (!namespaced || !isObject(metadata)) return object
  const namespace = metadata.namespace
  // Only an absent or empty namespace means "default"; any other non-string is left for the schema to reject.
  if (namespace !== undefined && namespace !== "") return object
  return { ...object, metadata: { ...metadata, namespace: "default" } }
}

const withoutNulls = (value: unknown): unknown =>
  Array.isArray(value) ? arrayWithoutNulls(value) : isObject(value) ? objectWithoutNulls(value) : value

const arrayWithoutNulls = (value: ReadonlyArray<unknown>): ReadonlyArray<unknown> => {
  let copy: Array<unknown> | undefined
  for (let i = 0; i < value.length; i++) {
    const item = value[i]
    const cleaned = withoutNulls(item)
    if (cleaned !== item) {
      copy ??= value.slice()
      copy[i] = cleaned
    }
  }
  return copy ?? value
}

const objectWithoutNulls = (value: JsonObject): JsonObject => {
  let entries: Array<readonly [string, unknown]> | undefined
  const keys = Object.keys(value)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const item = value[key]
    const cleaned = item === null ? null : withoutNulls(item)
    if (entries === undefined) {
      if (item !== null && cleaned === item) continue
      entries = keys.slice(0, i).map((earlier) => [earlier, value[earlier]] as const)
    }
    if (cleaned !== null) entries.push([key, cleaned])
  }
  return entries === undefined ? value : Object.fromEntries(entries)
}

// ---------------------------------------------------------------------------------------------
// Issues: a flat list of (path, message)
// ---------------------------------------------------------------------------------------------

const issuesOf = (issue: SchemaIssue.Issue): ReadonlyArray<DecodeIssue> => {
  const out: Array<DecodeIssue> = []
  collect(issue, [], out)
  return out
}

const collect = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>, out: Array<DecodeIssue>): void => {
  const report = (message: string) => {
    out.push({ path: showPath(path), message })
  }
  switch (issue._tag) {
    case "Pointer":
      collect(issue.issue, [...path, ...issue.path], out)
      break
    case "Composite":
      for (const inner of issue.issues) collect(inner, path, out)
      break
    case "Encoding":
      collect(issue.issue, path, out)
      break
    case "Filter":
      // A filter that returned a message or a nested issue is rendered by the inner issue.
      if (issue.issue._tag === "InvalidValue" && typeof issue.issue.annotations?.message !== "string") {
        report(filterMessage(issue))
      } else {
        collect(issue.issue, path, out)
      }
      break
    case "AnyOf": {
      const [only, ...rest] = issue.issues
      if (only !== undefined && rest.length === 0) collect(only, path, out)
      else report(`expected ${showAst(issue.ast)}, got ${showInput(issue.input)}`)
      break
    }
    case "MissingKey":
      report("missing required field")
      break
    case "InvalidType":
      report(`expected ${showAst(issue.ast)}, got ${showInput(issue.input)}`)
      break
    case "InvalidValue": {
      const message = issue.annotations?.message
      report(typeof message === "string" ? message : `invalid value ${showInput(issue.input)}`)
      break
    }
    case "OneOf":
      report(`expected exactly one alternative to match ${showInput(issue.input)}`)
      break
    case "UnexpectedKey":
      report("unexpected field")
      break
    case "Forbidden":
      report("forbidden")
      break
  }
}

const COUNTED = /Length|CodePoints|Properties/

const filterMessage = (issue: SchemaIssue.Filter): string => {
  const annotations = issue.filter.annotations
  const expected = typeof annotations?.expected === "string" ? annotations.expected : "a valid value"
  const id = annotations?.representation?.id ?? ""
  return `expected ${expected}, got ${COUNTED.test(id) ? showSize(issue.input) : showInput(issue.input)}`
}

const showSize = (input: unknown): string => {
  if (Array.isArray(input)) return `${input.length} ${input.length === 1 ? "item" : "items"}`
  if (typeof input === "string") {
    const length = [...input].length
    return length <= 64 ? JSON.stringify(input) : `a string of ${length} characters`
  }
  if (isObject(input)) {
    const size = Object.keys(input).length
    return `${size} ${size === 1 ? "entry" : "entries"}`
  }
  return showInput(input)
}

const showInput = (input: unknown): string => {
  if (input === undefined) return "nothing"
  if (input === null) return "null"
  if (typeof input === "string")
    return input.length <= 64 ? JSON.stringify(input) : `a string of ${input.length} characters`
  if (Array.isArray(input)) return `an array of ${input.length} ${input.length === 1 ? "item" : "items"}`
  if (typeof input === "object") return "an object"
  return String(input)
}

const showAst = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "Literal":
      return typeof ast.literal === "string" ? JSON.stringify(ast.literal) : String(ast.literal)
    case "Union": {
      const literals = ast.types.flatMap((member) => (member._tag === "Literal" ? [String(member.literal)] : []))
      return literals.length === ast.types.length
        ? `one of ${literals.join(", ")}`
        : ast.types.map((member) => showAst(member)).join(" or ")
    }
    case "String":
      return "a string"
    case "Number":
      return ast.checks?.some((check) => check.annotations?.expected === "an integer") ? "an integer" : "a number"
    case "Boolean":
      return "a boolean"
    case "Arrays":
      return "an array"
    case "Objects":
      return "an object"
    case "Null":
      return "null"
    default:
      return `a value of type ${ast._tag}`
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const showPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && IDENTIFIER.test(key)) out += out === "" ? key : `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}
