/** Gateway (gateway.networking.k8s.io v1, v1beta1) and its listeners. */
import { isIPv4, isIPv6 } from "node:net"
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import {
  AnnotationValue,
  BoundedString,
  Group,
  Hostname,
  Kind,
  LabelSelector,
  LabelValue,
  maxItems,
  maxProperties,
  minItems,
  ObjectName,
  ObjectReference,
  PortNumber,
  SecretObjectReference,
  SectionName,
  TLSOptions,
  uniqueBy,
  withDefault
} from "./Shared.ts"

// ---------------------------------------------------------------------------------------------
// Listeners (shared with ListenerSet)
// ---------------------------------------------------------------------------------------------

export const RouteGroupKind = Schema.Struct({
  group: withDefault(Group, "gateway.networking.k8s.io"),
  kind: Kind
})
export type RouteGroupKind = typeof RouteGroupKind.Type

export const FromNamespaces = Schema.Literals(["All", "Selector", "Same"])
export type FromNamespaces = typeof FromNamespaces.Type

export const RouteNamespaces = Schema.Struct({
  from: withDefault(FromNamespaces, "Same"),
  selector: Schema.optionalKey(LabelSelector)
})
export type RouteNamespaces = typeof RouteNamespaces.Type

export const AllowedRoutes = Schema.Struct({
  namespaces: withDefault(RouteNamespaces, { from: "Same" }),
  kinds: Schema.optionalKey(Schema.Array(RouteGroupKind).check(maxItems(8)))
})
export type AllowedRoutes = typeof AllowedRoutes.Type

export const TLSModeType = Schema.Literals(["Terminate", "Passthrough"])
export type TLSModeType = typeof TLSModeType.Type

/** A listener's `tls` (the Go type is ListenerTLSConfig in v1.6; exported under both names). */
export const GatewayTLSConfig = Schema.Struct({
  mode: withDefault(TLSModeType, "Terminate"),
  certificateRefs: Schema.optionalKey(Schema.Array(SecretObjectReference).check(maxItems(64))),
  options: Schema.optionalKey(TLSOptions)
})
export type GatewayTLSConfig = typeof GatewayTLSConfig.Type
export const ListenerTLSConfig = GatewayTLSConfig
export type ListenerTLSConfig = GatewayTLSConfig

/** A listener protocol: a name such as HTTP, HTTPS, TLS, TCP, UDP, or a domain-prefixed name. */
export const ProtocolType = BoundedString(
  1,
  255,
  /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/,
  "a protocol name"
)
export type ProtocolType = typeof ProtocolType.Type

/** The fields of a listener, shared by Gateway listeners and ListenerSet entries. */
export const listenerFields = {
  name: SectionName,
  hostname: Schema.optionalKey(Hostname),
  port: PortNumber,
  protocol: ProtocolType,
  tls: Schema.optionalKey(GatewayTLSConfig),
  allowedRoutes: withDefault(AllowedRoutes, { namespaces: { from: "Same" } })
}

export const Listener = Schema.Struct(listenerFields)
export type Listener = typeof Listener.Type

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export const AddressType = BoundedString(
  1,
  253,
  /^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/,
  "an address type"
)
export type AddressType = typeof AddressType.Type

/**
 * An IPAddress value must be an IPv4 or IPv6 address (the CRD's oneOf); a Hostname value must be a
 * hostname (the CRD's CEL rule).
 */
const addressValue = Schema.makeFilter<{ readonly type: string; readonly value?: string }>((address) => {
  const value = address.value
  if (value === undefined) return undefined
  if (address.type === "IPAddress" && !isIPv4(value) && !isIPv6(value)) {
    return { path: ["value"], issue: `expected an IPv4 or IPv6 address, got ${JSON.stringify(value)}` }
  }
  if (address.type === "Hostname" && !HOSTNAME.test(value)) {
    return { path: ["value"], issue: `expected a lowercase RFC 1123 hostname, got ${JSON.stringify(value)}` }
  }
  return undefined
})

export const GatewaySpecAddress = Schema.Struct({
  type: withDefault(AddressType, "IPAddress"),
  value: Schema.optionalKey(BoundedString(0, 253))
}).check(addressValue)
export type GatewaySpecAddress = typeof GatewaySpecAddress.Type

// ---------------------------------------------------------------------------------------------
// Infrastructure, ListenerSet admission, gateway-level TLS
// ---------------------------------------------------------------------------------------------

export const LocalParametersReference = Schema.Struct({ group: Group, kind: Kind, name: ObjectName })
export type LocalParametersReference = typeof LocalParametersReference.Type

export const GatewayInfrastructure = Schema.Struct({
  labels: Schema.optionalKey(Schema.Record(Schema.String, LabelValue).check(maxProperties(8))),
  annotations: Schema.optionalKey(Schema.Record(Schema.String, AnnotationValue).check(maxProperties(16))),
  parametersRef: Schema.optionalKey(LocalParametersReference)
})
export type GatewayInfrastructure = typeof GatewayInfrastructure.Type

export const ListenerNamespaces = Schema.Struct({
  from: withDefault(Schema.Literals(["All", "Selector", "Same", "None"]), "None"),
  selector: Schema.optionalKey(LabelSelector)
})
export type ListenerNamespaces = typeof ListenerNamespaces.Type

export const AllowedListeners = Schema.Struct({
  namespaces: withDefault(ListenerNamespaces, { from: "None" })
})
export type AllowedListeners = typeof AllowedListeners.Type

export const FrontendValidationModeType = Schema.Literals(["AllowValidOnly", "AllowInsecureFallback"])
export type FrontendValidationModeType = typeof FrontendValidationModeType.Type

export const FrontendTLSValidation = Schema.Struct({
  caCertificateRefs: Schema.Array(ObjectReference).check(minItems(1), maxItems(16)),
  mode: withDefault(FrontendValidationModeType, "AllowValidOnly")
})
export type FrontendTLSValidation = typeof FrontendTLSValidation.Type

export const TLSConfig = Schema.Struct({ validation: Schema.optionalKey(FrontendTLSValidation) })
export type TLSConfig = typeof TLSConfig.Type

export const TLSPortConfig = Schema.Struct({ port: PortNumber, tls: TLSConfig })
export type TLSPortConfig = typeof TLSPortConfig.Type

export const FrontendTLSConfig = Schema.Struct({
  default: TLSConfig,
  perPort: Schema.optionalKey(Schema.Array(TLSPortConfig).check(maxItems(64)))
})
export type FrontendTLSConfig = typeof FrontendTLSConfig.Type

export const GatewayBackendTLS = Schema.Struct({
  clientCertificateRef: Schema.optionalKey(SecretObjectReference)
})
export type GatewayBackendTLS = typeof GatewayBackendTLS.Type

/** `spec.tls`: TLS settings for the whole Gateway (named GatewayTLSConfig in Go v1.6). */
export const GatewaySpecTLSConfig = Schema.Struct({
  backend: Schema.optionalKey(GatewayBackendTLS),
  frontend: Schema.optionalKey(FrontendTLSConfig)
})
export type GatewaySpecTLSConfig = typeof GatewaySpecTLSConfig.Type

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

export const GatewaySpec = Schema.Struct({
  gatewayClassName: ObjectName,
  listeners: Schema.Array(Listener).check(
    minItems(1),
    maxItems(64),
    uniqueBy<{ readonly name: string }>("name", (l) => l.name)
  ),
  addresses: Schema.optionalKey(Schema.Array(GatewaySpecAddress).check(maxItems(16))),
  infrastructure: Schema.optionalKey(GatewayInfrastructure),
  allowedListeners: Schema.optionalKey(AllowedListeners),
  tls: Schema.optionalKey(GatewaySpecTLSConfig),
  defaultScope: Schema.optionalKey(Schema.Literals(["All", "None"]))
})
export type GatewaySpec = typeof GatewaySpec.Type

export const Gateway = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
  kind: Schema.Literal("Gateway"),
  metadata: ObjectMeta,
  spec: GatewaySpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type Gateway = typeof Gateway.Type
