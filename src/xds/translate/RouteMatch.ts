/**
 * Gateway API matches (HTTPRoute / GRPCRoute) as Envoy RouteMatch. Pure.
 *
 * - Exact: `path`. RegularExpression: `safe_regex` (RE2, matched against the whole path).
 * - PathPrefix: element-wise (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`; a trailing `/`
 *   is ignored), which is Envoy's `path_separated_prefix`; `/` is `prefix: /`. GRPCRoute service
 *   matches arrive as the literal prefix `/<service>/`, kept as a plain `prefix`.
 * - headers: exact or safe_regex `string_match` (names lower-cased: HTTP header names are
 *   case-insensitive and Envoy compares lower-case); method: the `:method` header; query
 *   parameters: exact or safe_regex.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { RouteMatchIR } from "../../ir/Xds.ts"
import type { RouteMatchSchema } from "../proto/envoy/config/route/v3/route_components_pb.ts"
import { escapeRegex } from "./PathRewrite.ts"

type RouteMatchInit = MessageInitShape<typeof RouteMatchSchema>

/** Envoy's validation of `path_separated_prefix`: no `?`/`#`, no trailing `/`. */
const PATH_SEPARATED_PREFIX = /^[^?#]+[^?#/]$/

const stringMatch = (type: "Exact" | "RegularExpression", value: string) =>
  type === "Exact"
    ? { matchPattern: { case: "exact" as const, value } }
    : { matchPattern: { case: "safeRegex" as const, value: { regex: value } } }

const pathSpecifier = (match: RouteMatchIR): NonNullable<RouteMatchInit["pathSpecifier"]> => {
  const path = match.path
  if (path === undefined) return { case: "prefix", value: "/" }
  switch (path.type) {
    case "Exact":
      return { case: "path", value: path.value }
    case "RegularExpression":
      return { case: "safeRegex", value: { regex: path.value } }
    case "PathPrefix": {
      if (match.grpc !== undefined) return { case: "prefix", value: path.value }
      const prefix = path.value.replace(/\/+$/, "")
      if (prefix === "") return { case: "prefix", value: "/" }
      if (PATH_SEPARATED_PREFIX.test(prefix)) return { case: "pathSeparatedPrefix", value: prefix }
      // Not expressible as path_separated_prefix: the same element-wise semantics as a regex.
      return { case: "safeRegex", value: { regex: `${escapeRegex(prefix)}(/.*)?` } }
    }
  }
}

export const routeMatch = (match: RouteMatchIR): RouteMatchInit => {
  const headers = [
    ...(match.method === undefined
      ? []
      : [
          {
            name: ":method",
            headerMatchSpecifier: { case: "stringMatch" as const, value: stringMatch("Exact", match.method) }
          }
        ]),
    ...(match.headers ?? []).map((h) => ({
      name: h.name.toLowerCase(),
      headerMatchSpecifier: { case: "stringMatch" as const, value: stringMatch(h.type, h.value) }
    }))
  ]
  const queryParameters = (match.queryParams ?? []).map((q) => ({
    name: q.name,
    queryParameterMatchSpecifier: { case: "stringMatch" as const, value: stringMatch(q.type, q.value) }
  }))
  return {
    pathSpecifier: pathSpecifier(match),
    ...(headers.length > 0 ? { headers } : {}),
    ...(queryParameters.length > 0 ? { queryParameters } : {})
  }
}
