/** TCPRoute (gateway.networking.k8s.io v1, v1alpha2). */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import { BackendRef, commonRouteSpecFields, maxItems, minItems, RouteRuleName, singleRuleIn } from "./Shared.ts"

export const TCPRouteRule = Schema.Struct({
  name: Schema.optionalKey(RouteRuleName),
  backendRefs: Schema.Array(BackendRef).check(minItems(1), maxItems(16))
})
export type TCPRouteRule = typeof TCPRouteRule.Type

/** `rules` allows 16 items in v1alpha2 and 1 in v1 (checked on TCPRoute). */
export const TCPRouteSpec = Schema.Struct({
  ...commonRouteSpecFields,
  rules: Schema.Array(TCPRouteRule).check(minItems(1), maxItems(16))
})
export type TCPRouteSpec = typeof TCPRouteSpec.Type

export const TCPRoute = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"]),
  kind: Schema.Literal("TCPRoute"),
  metadata: ObjectMeta,
  spec: TCPRouteSpec,
  status: Schema.optionalKey(Schema.Unknown)
}).check(singleRuleIn(["gateway.networking.k8s.io/v1"]))
export type TCPRoute = typeof TCPRoute.Type
