/** UDPRoute (gateway.networking.k8s.io v1, v1alpha2). */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import { BackendRef, commonRouteSpecFields, maxItems, minItems, RouteRuleName, singleRuleIn } from "./Shared.ts"

export const UDPRouteRule = Schema.Struct({
  name: Schema.optionalKey(RouteRuleName),
  backendRefs: Schema.Array(BackendRef).check(minItems(1), maxItems(16))
})
export type UDPRouteRule = typeof UDPRouteRule.Type

/** `rules` allows 16 items in v1alpha2 and 1 in v1 (checked on UDPRoute). */
export const UDPRouteSpec = Schema.Struct({
  ...commonRouteSpecFields,
  rules: Schema.Array(UDPRouteRule).check(minItems(1), maxItems(16))
})
export type UDPRouteSpec = typeof UDPRouteSpec.Type

export const UDPRoute = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"]),
  kind: Schema.Literal("UDPRoute"),
  metadata: ObjectMeta,
  spec: UDPRouteSpec,
  status: Schema.optionalKey(Schema.Unknown)
}).check(singleRuleIn(["gateway.networking.k8s.io/v1"]))
export type UDPRoute = typeof UDPRoute.Type
