/** GatewayClass (gateway.networking.k8s.io v1, v1beta1; cluster-scoped). */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import { BoundedString, GatewayController, Group, Kind, Namespace, ObjectName } from "./Shared.ts"

export const ParametersReference = Schema.Struct({
  group: Group,
  kind: Kind,
  name: ObjectName,
  namespace: Schema.optionalKey(Namespace)
})
export type ParametersReference = typeof ParametersReference.Type

export const GatewayClassSpec = Schema.Struct({
  controllerName: GatewayController,
  parametersRef: Schema.optionalKey(ParametersReference),
  description: Schema.optionalKey(BoundedString(0, 64))
})
export type GatewayClassSpec = typeof GatewayClassSpec.Type

export const GatewayClass = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
  kind: Schema.Literal("GatewayClass"),
  metadata: ObjectMeta,
  spec: GatewayClassSpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type GatewayClass = typeof GatewayClass.Type
