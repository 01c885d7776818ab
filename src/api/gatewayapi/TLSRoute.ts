/** TLSRoute (gateway.networking.k8s.io v1, v1alpha3, v1alpha2). */
import { isIP } from "node:net"
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import {
  BackendRef,
  commonRouteSpecFields,
  Hostname,
  maxItems,
  minItems,
  RouteRuleName,
  singleRuleIn
} from "./Shared.ts"

const STRICT_VERSIONS = ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha3"]

export const TLSRouteRule = Schema.Struct({
  name: Schema.optionalKey(RouteRuleName),
  backendRefs: Schema.Array(BackendRef).check(minItems(1), maxItems(16))
})
export type TLSRouteRule = typeof TLSRouteRule.Type

/**
 * In v1 and v1alpha3, `hostnames` is required, has at least one item and no IP address (a CEL rule),
 * and `rules` has one item; v1alpha2 has none of these limits. They are checked on TLSRoute.
 */
export const TLSRouteSpec = Schema.Struct({
  ...commonRouteSpecFields,
  hostnames: Schema.optionalKey(Schema.Array(Hostname).check(maxItems(1024))),
  rules: Schema.Array(TLSRouteRule).check(minItems(1), maxItems(16))
})
export type TLSRouteSpec = typeof TLSRouteSpec.Type

const sniHostnames = Schema.makeFilter<{
  readonly apiVersion: string
  readonly spec: { readonly hostnames?: ReadonlyArray<string> }
}>((route) => {
  if (!STRICT_VERSIONS.includes(route.apiVersion)) return undefined
  const hostnames = route.spec.hostnames
  if (hostnames === undefined) return { path: ["spec", "hostnames"], issue: "missing required field" }
  if (hostnames.length === 0) return { path: ["spec", "hostnames"], issue: "expected at least 1 item, got 0 items" }
  return hostnames.flatMap((hostname, i) =>
    isIP(hostname) === 0
      ? []
      : [
          {
            path: ["spec", "hostnames", i],
            issue: `expected a hostname, not an IP address, got ${JSON.stringify(hostname)}`
          }
        ]
  )
})

export const TLSRoute = Schema.Struct({
  apiVersion: Schema.Literals([
    "gateway.networking.k8s.io/v1",
    "gateway.networking.k8s.io/v1alpha3",
    "gateway.networking.k8s.io/v1alpha2"
  ]),
  kind: Schema.Literal("TLSRoute"),
  metadata: ObjectMeta,
  spec: TLSRouteSpec,
  status: Schema.optionalKey(Schema.Unknown)
}).check(sniHostnames, singleRuleIn(STRICT_VERSIONS))
export type TLSRoute = typeof TLSRoute.Type
