/** HTTPRoute (gateway.networking.k8s.io v1, v1beta1). Filters live in HTTPRouteFilters.ts. */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import { HTTPRouteFilters } from "./HTTPRouteFilters.ts"
import {
  BoundedString,
  backendRefFields,
  commonRouteSpecFields,
  Duration,
  HeaderValue,
  Hostname,
  HTTPHeaderName,
  IntAtLeast,
  IntBetween,
  maxItems,
  minItems,
  RouteRuleName,
  SessionPersistence,
  withDefault
} from "./Shared.ts"

export * from "./HTTPRouteFilters.ts"

export const PathMatchType = Schema.Literals(["Exact", "PathPrefix", "RegularExpression"])
export type PathMatchType = typeof PathMatchType.Type

export const HTTPPathMatch = Schema.Struct({
  type: withDefault(PathMatchType, "PathPrefix"),
  value: withDefault(BoundedString(0, 1024), "/")
})
export type HTTPPathMatch = typeof HTTPPathMatch.Type

export const HeaderMatchType = Schema.Literals(["Exact", "RegularExpression"])
export type HeaderMatchType = typeof HeaderMatchType.Type

export const HTTPHeaderMatch = Schema.Struct({
  type: withDefault(HeaderMatchType, "Exact"),
  name: HTTPHeaderName,
  value: HeaderValue
})
export type HTTPHeaderMatch = typeof HTTPHeaderMatch.Type

export const HTTPQueryParamMatch = Schema.Struct({
  type: withDefault(HeaderMatchType, "Exact"),
  name: HTTPHeaderName,
  value: BoundedString(1, 1024)
})
export type HTTPQueryParamMatch = typeof HTTPQueryParamMatch.Type

export const HTTPMethod = Schema.Literals([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH"
])
export type HTTPMethod = typeof HTTPMethod.Type

const defaultPathMatch = { type: "PathPrefix", value: "/" } as const

export const HTTPRouteMatch = Schema.Struct({
  path: withDefault(HTTPPathMatch, defaultPathMatch),
  headers: Schema.optionalKey(Schema.Array(HTTPHeaderMatch).check(maxItems(16))),
  queryParams: Schema.optionalKey(Schema.Array(HTTPQueryParamMatch).check(maxItems(16))),
  method: Schema.optionalKey(HTTPMethod)
})
export type HTTPRouteMatch = typeof HTTPRouteMatch.Type

export const HTTPBackendRef = Schema.Struct({
  ...backendRefFields,
  filters: Schema.optionalKey(HTTPRouteFilters)
})
export type HTTPBackendRef = typeof HTTPBackendRef.Type

export const HTTPRouteTimeouts = Schema.Struct({
  request: Schema.optionalKey(Duration),
  backendRequest: Schema.optionalKey(Duration)
})
export type HTTPRouteTimeouts = typeof HTTPRouteTimeouts.Type

export const HTTPRouteRetry = Schema.Struct({
  codes: Schema.optionalKey(Schema.Array(IntBetween(400, 599))),
  attempts: Schema.optionalKey(IntAtLeast(1)),
  backoff: Schema.optionalKey(Duration)
})
export type HTTPRouteRetry = typeof HTTPRouteRetry.Type

export const HTTPRouteRule = Schema.Struct({
  name: Schema.optionalKey(RouteRuleName),
  matches: withDefault(Schema.Array(HTTPRouteMatch).check(maxItems(64)), [{ path: defaultPathMatch }]),
  filters: Schema.optionalKey(HTTPRouteFilters),
  backendRefs: Schema.optionalKey(Schema.Array(HTTPBackendRef).check(maxItems(16))),
  timeouts: Schema.optionalKey(HTTPRouteTimeouts),
  retry: Schema.optionalKey(HTTPRouteRetry),
  sessionPersistence: Schema.optionalKey(SessionPersistence)
})
export type HTTPRouteRule = typeof HTTPRouteRule.Type

export const HTTPRouteSpec = Schema.Struct({
  ...commonRouteSpecFields,
  hostnames: Schema.optionalKey(Schema.Array(Hostname).check(maxItems(16))),
  rules: withDefault(Schema.Array(HTTPRouteRule).check(minItems(1), maxItems(16)), [
    { matches: [{ path: defaultPathMatch }] }
  ])
})
export type HTTPRouteSpec = typeof HTTPRouteSpec.Type

export const HTTPRoute = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
  kind: Schema.Literal("HTTPRoute"),
  metadata: ObjectMeta,
  spec: HTTPRouteSpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type HTTPRoute = typeof HTTPRoute.Type
