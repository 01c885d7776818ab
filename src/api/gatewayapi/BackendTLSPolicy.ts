/** BackendTLSPolicy (gateway.networking.k8s.io v1, v1alpha3). */
import { Schema } from "effect"
import { ObjectMeta } from "../core/ObjectMeta.ts"
import {
  BoundedString,
  Hostname,
  LocalObjectReference,
  LocalPolicyTargetReferenceWithSectionName,
  maxItems,
  minItems,
  PreciseHostname,
  TLSOptions
} from "./Shared.ts"

export const SubjectAltName = Schema.Struct({
  type: Schema.Literals(["Hostname", "URI"]),
  hostname: Schema.optionalKey(Hostname),
  uri: Schema.optionalKey(BoundedString(1, 253, /^(([^:/?#]+):)(\/\/([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?/, "a URI"))
})
export type SubjectAltName = typeof SubjectAltName.Type

export const WellKnownCACertificatesType = BoundedString(
  1,
  253,
  /^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$/,
  "System or a domain-prefixed name"
)
export type WellKnownCACertificatesType = typeof WellKnownCACertificatesType.Type

export const BackendTLSPolicyValidation = Schema.Struct({
  caCertificateRefs: Schema.optionalKey(Schema.Array(LocalObjectReference).check(maxItems(8))),
  wellKnownCACertificates: Schema.optionalKey(WellKnownCACertificatesType),
  hostname: PreciseHostname,
  subjectAltNames: Schema.optionalKey(Schema.Array(SubjectAltName).check(maxItems(5)))
})
export type BackendTLSPolicyValidation = typeof BackendTLSPolicyValidation.Type

export const BackendTLSPolicySpec = Schema.Struct({
  targetRefs: Schema.Array(LocalPolicyTargetReferenceWithSectionName).check(minItems(1), maxItems(16)),
  validation: BackendTLSPolicyValidation,
  options: Schema.optionalKey(TLSOptions)
})
export type BackendTLSPolicySpec = typeof BackendTLSPolicySpec.Type

export const BackendTLSPolicy = Schema.Struct({
  apiVersion: Schema.Literals(["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha3"]),
  kind: Schema.Literal("BackendTLSPolicy"),
  metadata: ObjectMeta,
  spec: BackendTLSPolicySpec,
  status: Schema.optionalKey(Schema.Unknown)
})
export type BackendTLSPolicy = typeof BackendTLSPolicy.Type
