/** ReferenceGrant (gateway.networking.k8s.io v1, v1beta1). */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import { Group, Kind, maxItems, minItems, Namespace, ObjectName } from "./Shared.ts"

export const ReferenceGrantFrom = Schema.Struct({ group: Group, kind: Kind, namespace: Namespace })
export type ReferenceGrantFrom = typeof ReferenceGrantFrom.Type

export const ReferenceGrantTo = Schema.Struct({ group: Group, kind: Kind, name: Schema.optionalKey(ObjectName) })
export type ReferenceGrantTo = typeof ReferenceGrantTo.Type

export const ReferenceGrantSpec = Schema.Struct({
  from: Schema.Array(ReferenceGrantFrom).check(minItems(1), maxItems(16)),
  to: Schema.Array(ReferenceGrantTo).check(minItems(1), maxItems(16))
})
export type ReferenceGrantSpec = typeof ReferenceGrantSpec.Type

export const ReferenceGrant = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]),
  kind: Schema.Literal("ReferenceGrant"),
  metadata: ObjectMeta,
  spec: ReferenceGrantSpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type ReferenceGrant = typeof ReferenceGrant.Type
