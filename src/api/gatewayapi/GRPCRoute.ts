/** GRPCRoute (gateway.networking.k8s.io v1). */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import {
  BoundedString,
  backendRefFields,
  commonRouteSpecFields,
  Hostname,
  HTTPHeaderFilter,
  HTTPHeaderName,
  HTTPRequestMirrorFilter,
  LocalObjectReference,
  maxItems,
  RouteRuleName,
  SessionPersistence,
  withDefault
} from "./Shared.ts"

export const GRPCMethodMatchType = Schema.Literals(["Exact", "RegularExpression"])
export type GRPCMethodMatchType = typeof GRPCMethodMatchType.Type

export const GRPCMethodMatch = Schema.Struct({
  type: withDefault(GRPCMethodMatchType, "Exact"),
  service: Schema.optionalKey(BoundedString(0, 1024)),
  method: Schema.optionalKey(BoundedString(0, 1024))
})
export type GRPCMethodMatch = typeof GRPCMethodMatch.Type

export const GRPCHeaderMatchType = Schema.Literals(["Exact", "RegularExpression"])
export type GRPCHeaderMatchType = typeof GRPCHeaderMatchType.Type

export const GRPCHeaderMatch = Schema.Struct({
  type: withDefault(GRPCHeaderMatchType, "Exact"),
  name: HTTPHeaderName,
  value: BoundedString(1, 4096)
})
export type GRPCHeaderMatch = typeof GRPCHeaderMatch.Type

export const GRPCRouteMatch = Schema.Struct({
  method: Schema.optionalKey(GRPCMethodMatch),
  headers: Schema.optionalKey(Schema.Array(GRPCHeaderMatch).check(maxItems(16)))
})
export type GRPCRouteMatch = typeof GRPCRouteMatch.Type

export const GRPCRouteFilterType = Schema.Literals([
  "ResponseHeaderModifier",
  "RequestHeaderModifier",
  "RequestMirror",
  "ExtensionRef"
])
export type GRPCRouteFilterType = typeof GRPCRouteFilterType.Type

export const GRPCRouteFilter = Schema.Struct({
  type: GRPCRouteFilterType,
  requestHeaderModifier: Schema.optionalKey(HTTPHeaderFilter),
  responseHeaderModifier: Schema.optionalKey(HTTPHeaderFilter),
  requestMirror: Schema.optionalKey(HTTPRequestMirrorFilter),
  extensionRef: Schema.optionalKey(LocalObjectReference)
})
export type GRPCRouteFilter = typeof GRPCRouteFilter.Type

const GRPCRouteFilters = Schema.Array(GRPCRouteFilter).check(maxItems(16))

export const GRPCBackendRef = Schema.Struct({
  ...backendRefFields,
  filters: Schema.optionalKey(GRPCRouteFilters)
})
export type GRPCBackendRef = typeof GRPCBackendRef.Type

export const GRPCRouteRule = Schema.Struct({
  name: Schema.optionalKey(RouteRuleName),
  matches: Schema.optionalKey(Schema.Array(GRPCRouteMatch).check(maxItems(64))),
  filters: Schema.optionalKey(GRPCRouteFilters),
  backendRefs: Schema.optionalKey(Schema.Array(GRPCBackendRef).check(maxItems(16))),
  sessionPersistence: Schema.optionalKey(SessionPersistence)
})
export type GRPCRouteRule = typeof GRPCRouteRule.Type

export const GRPCRouteSpec = Schema.Struct({
  ...commonRouteSpecFields,
  hostnames: Schema.optionalKey(Schema.Array(Hostname).check(maxItems(16))),
  rules: Schema.optionalKey(Schema.Array(GRPCRouteRule).check(maxItems(16)))
})
export type GRPCRouteSpec = typeof GRPCRouteSpec.Type

export const GRPCRoute = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1"]),
  kind: Schema.Literal("GRPCRoute"),
  metadata: ObjectMeta,
  spec: GRPCRouteSpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type GRPCRoute = typeof GRPCRoute.Type
