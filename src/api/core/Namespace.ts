/** Namespace (v1, cluster-scoped): Portico reads its labels (route and listener namespace selectors). */
import { Schema } from "effect"
import { ObjectMeta } from "./ObjectMeta.ts"

export const NamespaceSpec = Schema.Struct({
  finalizers: Schema.optionalKey(Schema.Array(Schema.String))
})
export type NamespaceSpec = typeof NamespaceSpec.Type

export const Namespace = Schema.Struct({
  apiVersion: Schema.Literals(["v1"]),
  kind: Schema.Literal("Namespace"),
  metadata: ObjectMeta,
  spec: Schema.optionalKey(NamespaceSpec),
  status: Schema.optionalKey(Schema.Unknown)
})
export type Namespace = typeof Namespace.Type
