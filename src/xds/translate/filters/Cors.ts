/**
 * The CORS filter (`envoy.filters.http.cors`): in the chain when some route of the route
 * configuration has a Gateway API CORS filter, configured per route (`typed_per_filter_config`
 * with a CorsPolicy), so routes without one are untouched. Pure.
 *
 * Origins (Gateway API HTTPCORSFilter.allowOrigins): `*` alone allows every origin; a `*` in the
 * host is a greedy match of any labels to its left (`https://*.example.com` matches
 * `https://a.b.example.com`); a missing port is the scheme's default, which browsers leave out of
 * `Origin`, so an origin naming the default port matches the origin without it. With
 * `allowCredentials`, a `*` in allowMethods may not be sent back as `*` (Fetch standard), so it is
 * sent as the list of every method the Gateway API allows.
 */

import type { CorsIR } from "../../../ir/Xds.ts"
import { CorsPolicySchema, CorsSchema } from "../../proto/envoy/extensions/filters/http/cors/v3/cors_pb.ts"
import { packed, typedExtension } from "../Extension.ts"
import { escapeRegex } from "../PathRewrite.ts"
import type { HttpFilterModule } from "./HttpFilter.ts"

export const CORS_FILTER = "envoy.filters.http.cors"

const ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: "80", https: "443" }

type OriginMatcher =
  | { readonly matchPattern: { readonly case: "exact"; readonly value: string } }
  | { readonly matchPattern: { readonly case: "safeRegex"; readonly value: { readonly regex: string } } }

/** An allowed origin as a StringMatcher on the `Origin` header. */
export const originMatcher = (origin: string): OriginMatcher => {
  if (origin === "*") return { matchPattern: { case: "safeRegex", value: { regex: ".*" } } }
  const parsed = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^:/]+)(?::(\d+))?$/.exec(origin)
  if (parsed === null) return { matchPattern: { case: "exact", value: origin } }
  const scheme = (parsed[1] ?? "").toLowerCase()
  const host = (parsed[2] ?? "").toLowerCase()
  const port = parsed[3] === undefined || parsed[3] === DEFAULT_PORTS[scheme] ? "" : `:${parsed[3]}`
  if (!host.includes("*")) return { matchPattern: { case: "exact", value: `${scheme}://${host}${port}` } }
  const hostRegex = host
    .split("*")
    .map((part) => escapeRegex(part))
    .join("[^/:]+")
  return {
    matchPattern: { case: "safeRegex", value: { regex: `${escapeRegex(scheme)}://${hostRegex}${escapeRegex(port)}` } }
  }
}

export const corsPolicy = (cors: CorsIR) => {
  const methods =
    cors.allowCredentials === true && cors.allowMethods?.includes("*") === true
      ? ALL_METHODS
      : (cors.allowMethods ?? [])
  return {
    allowOriginStringMatch: (cors.allowOrigins ?? []).map(originMatcher),
    ...(methods.length > 0 ? { allowMethods: methods.join(",") } : {}),
    ...(cors.allowHeaders !== undefined && cors.allowHeaders.length > 0
      ? { allowHeaders: cors.allowHeaders.join(",") }
      : {}),
    ...(cors.exposeHeaders !== undefined && cors.exposeHeaders.length > 0
      ? { exposeHeaders: cors.exposeHeaders.join(",") }
      : {}),
    ...(cors.maxAge === undefined ? {} : { maxAge: String(cors.maxAge) }),
    ...(cors.allowCredentials === undefined ? {} : { allowCredentials: cors.allowCredentials })
  }
}

export const cors: HttpFilterModule = {
  name: CORS_FILTER,
  usedBy: (route) => route.cors !== undefined,
  filter: () => typedExtension(CORS_FILTER, CorsSchema, {}),
  perRoute: (route) => (route.cors === undefined ? undefined : packed(CorsPolicySchema, corsPolicy(route.cors)))
}
