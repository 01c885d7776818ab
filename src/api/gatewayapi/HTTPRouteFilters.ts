/** HTTPRoute filters (rule filters and backendRef filters share one schema). */
import { Schema } from "effect"
import {
  BackendObjectReference,
  BoundedString,
  HTTPHeaderFilter,
  HTTPHeaderName,
  HTTPRequestMirrorFilter,
  IntAtLeast,
  LocalObjectReference,
  maxItems,
  PortNumber,
  PreciseHostname,
  pattern,
  withDefault
} from "./Shared.ts"

export const HTTPPathModifierType = Schema.Literals(["ReplaceFullPath", "ReplacePrefixMatch"])
export type HTTPPathModifierType = typeof HTTPPathModifierType.Type

export const HTTPPathModifier = Schema.Struct({
  type: HTTPPathModifierType,
  replaceFullPath: Schema.optionalKey(BoundedString(0, 1024)),
  replacePrefixMatch: Schema.optionalKey(BoundedString(0, 1024))
})
export type HTTPPathModifier = typeof HTTPPathModifier.Type

export const HTTPRequestRedirectFilter = Schema.Struct({
  scheme: Schema.optionalKey(Schema.Literals(["http", "https"])),
  hostname: Schema.optionalKey(PreciseHostname),
  path: Schema.optionalKey(HTTPPathModifier),
  port: Schema.optionalKey(PortNumber),
  statusCode: withDefault(Schema.Literals([301, 302, 303, 307, 308]), 302)
})
export type HTTPRequestRedirectFilter = typeof HTTPRequestRedirectFilter.Type

export const HTTPURLRewriteFilter = Schema.Struct({
  hostname: Schema.optionalKey(PreciseHostname),
  path: Schema.optionalKey(HTTPPathModifier)
})
export type HTTPURLRewriteFilter = typeof HTTPURLRewriteFilter.Type

export const CORSOrigin = BoundedString(
  1,
  253,
  /(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)/,
  "an origin"
)
export type CORSOrigin = typeof CORSOrigin.Type

export const HTTPMethodWithWildcard = Schema.Literals([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
  "*"
])
export type HTTPMethodWithWildcard = typeof HTTPMethodWithWildcard.Type

export const HTTPCORSFilter = Schema.Struct({
  allowOrigins: Schema.optionalKey(Schema.Array(CORSOrigin).check(maxItems(64))),
  allowCredentials: Schema.optionalKey(Schema.Boolean),
  allowMethods: Schema.optionalKey(Schema.Array(HTTPMethodWithWildcard).check(maxItems(9))),
  allowHeaders: Schema.optionalKey(Schema.Array(HTTPHeaderName).check(maxItems(64))),
  exposeHeaders: Schema.optionalKey(Schema.Array(HTTPHeaderName).check(maxItems(64))),
  maxAge: withDefault(IntAtLeast(1), 5)
})
export type HTTPCORSFilter = typeof HTTPCORSFilter.Type

export const GRPCAuthConfig = Schema.Struct({
  allowedHeaders: Schema.optionalKey(Schema.Array(Schema.String).check(maxItems(64)))
})
export type GRPCAuthConfig = typeof GRPCAuthConfig.Type

export const HTTPAuthConfig = Schema.Struct({
  path: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxCodePoints(1024, { expected: "a string of at most 1024 characters" }),
      pattern(/^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/, "a URL path")
    )
  ),
  allowedHeaders: Schema.optionalKey(Schema.Array(Schema.String).check(maxItems(64))),
  allowedResponseHeaders: Schema.optionalKey(Schema.Array(Schema.String).check(maxItems(64)))
})
export type HTTPAuthConfig = typeof HTTPAuthConfig.Type

export const ForwardBodyConfig = Schema.Struct({ maxSize: Schema.optionalKey(Schema.Int) })
export type ForwardBodyConfig = typeof ForwardBodyConfig.Type

export const HTTPExternalAuthFilter = Schema.Struct({
  protocol: Schema.Literals(["HTTP", "GRPC"]),
  backendRef: BackendObjectReference,
  grpc: Schema.optionalKey(GRPCAuthConfig),
  http: Schema.optionalKey(HTTPAuthConfig),
  forwardBody: Schema.optionalKey(ForwardBodyConfig)
})
export type HTTPExternalAuthFilter = typeof HTTPExternalAuthFilter.Type

export const HTTPRouteFilterType = Schema.Literals([
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestMirror",
  "RequestRedirect",
  "URLRewrite",
  "ExtensionRef",
  "CORS",
  "ExternalAuth"
])
export type HTTPRouteFilterType = typeof HTTPRouteFilterType.Type

export const HTTPRouteFilter = Schema.Struct({
  type: HTTPRouteFilterType,
  requestHeaderModifier: Schema.optionalKey(HTTPHeaderFilter),
  responseHeaderModifier: Schema.optionalKey(HTTPHeaderFilter),
  requestMirror: Schema.optionalKey(HTTPRequestMirrorFilter),
  requestRedirect: Schema.optionalKey(HTTPRequestRedirectFilter),
  urlRewrite: Schema.optionalKey(HTTPURLRewriteFilter),
  extensionRef: Schema.optionalKey(LocalObjectReference),
  cors: Schema.optionalKey(HTTPCORSFilter),
  externalAuth: Schema.optionalKey(HTTPExternalAuthFilter)
})
export type HTTPRouteFilter = typeof HTTPRouteFilter.Type

export const HTTPRouteFilters = Schema.Array(HTTPRouteFilter).check(maxItems(16))
