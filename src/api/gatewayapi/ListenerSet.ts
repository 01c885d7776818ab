/** ListenerSet (gateway.networking.k8s.io v1): listeners attached to a parent Gateway. */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import { listenerFields } from "./Gateway.ts"
import { Group, Kind, maxItems, minItems, Namespace, ObjectName, uniqueBy, withDefault } from "./Shared.ts"

/** A ListenerSet listener: the same fields as a Gateway Listener. */
export const ListenerEntry = Schema.Struct(listenerFields)
export type ListenerEntry = typeof ListenerEntry.Type

export const ParentGatewayReference = Schema.Struct({
  group: withDefault(Group, "gateway.networking.k8s.io"),
  kind: withDefault(Kind, "Gateway"),
  name: ObjectName,
  namespace: Schema.optionalKey(Namespace)
})
export type ParentGatewayReference = typeof ParentGatewayReference.Type

export const ListenerSetSpec = Schema.Struct({
  parentRef: ParentGatewayReference,
  listeners: Schema.Array(ListenerEntry).check(
    minItems(1),
    maxItems(64),
    uniqueBy<{ readonly name: string }>("name", (l) => l.name)
  )
})
export type ListenerSetSpec = typeof ListenerSetSpec.Type

export const ListenerSet = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1"]),
  kind: Schema.Literal("ListenerSet"),
  metadata: ObjectMeta,
  spec: ListenerSetSpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type ListenerSet = typeof ListenerSet.Type
