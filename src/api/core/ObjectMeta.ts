/**
 * The part of Kubernetes object metadata that Portico reads. Other metadata keys (ownerReferences,
 * managedFields, finalizers, ...) are accepted and dropped.
 */
import { Effect, Schema } from "effect"

export const ObjectMeta = Schema.Struct({
  name: Schema.String,
  namespace: Schema.optionalKey(Schema.String),
  labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  annotations: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  uid: Schema.optionalKey(Schema.String),
  resourceVersion: Schema.optionalKey(Schema.String),
  /** Absent on objects that were never stored (file provider): defaults to 1. */
  generation: Schema.Int.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1))),
  creationTimestamp: Schema.optionalKey(Schema.String),
  deletionTimestamp: Schema.optionalKey(Schema.String)
})
export type ObjectMeta = typeof ObjectMeta.Type
