/** ConfigMap (v1). `binaryData` values are base64. */
import { Schema } from "effect"
import { ObjectMeta } from "./ObjectMeta.ts"
import { Base64String } from "./Secret.ts"

export const ConfigMap = Schema.Struct({
  apiVersion: Schema.Literals(["v1"]),
  kind: Schema.Literal("ConfigMap"),
  metadata: ObjectMeta,
  data: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  binaryData: Schema.optionalKey(Schema.Record(Schema.String, Base64String)),
  immutable: Schema.optionalKey(Schema.Boolean)
})
export type ConfigMap = typeof ConfigMap.Type
