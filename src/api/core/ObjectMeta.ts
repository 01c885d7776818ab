/**
 * The part of Kubernetes object metadata that Portico reads. Other metadata keys (ownerReferences,
 * managedFields, finalizers, ...) are accepted and dropped.
 */
import { Effect, Schema } from "effect"

/** RFC 1123 subdomain: what the API server requires of object names (all kinds Portico reads). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** RFC 1123 label: what the API server requires of namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export const ObjectName = Schema.String.check(
  Schema.isMaxLength(253, { expected: "a name of at most 253 characters" }),
  Schema.isPattern(DNS_SUBDOMAIN, {
    expected: "a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending alphanumeric)"
  })
)

export const NamespaceName = Schema.String.check(
  Schema.isMaxLength(63, { expected: "a namespace of at most 63 characters" }),
  Schema.isPattern(DNS_LABEL, {
    expected: "a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending alphanumeric)"
  })
)

export const ObjectMeta = Schema.Struct({
  name: ObjectName,
  namespace: Schema.optionalKey(NamespaceName),
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
