/**
 * Types shared by the Gateway API kinds (gateway.networking.k8s.io, v1.6.1): the named string and
 * number types, object references, header/mirror filters and route status.
 *
 * Every schema is exactly as strict as the OpenAPI schema of the CRDs (patterns, lengths, ranges,
 * maxItems); CEL rules are not modelled unless noted. A field with a CRD default is decoded with it.
 */
import { Effect, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// Check constructors with readable expectations (the decode entry point renders them)
// ---------------------------------------------------------------------------------------------

const plural = (n: number, word: string): string => `${n} ${n === 1 ? word : `${word}s`}`

/** An array `maxItems`. */
export const maxItems = (n: number) => Schema.isMaxLength(n, { expected: `at most ${plural(n, "item")}` })

/** Items of a list keyed by one field (`x-kubernetes-list-type: map`): no two share the key. */
export const uniqueBy = <A>(field: string, keyOf: (a: A) => string) =>
  Schema.makeFilter<ReadonlyArray<A>>(
    (items) => {
      const seen = new Set<string>()
      for (const item of items) {
        const k = keyOf(item)
        if (seen.has(k)) return `duplicate ${field} ${JSON.stringify(k)}: each item needs a distinct ${field}`
        seen.add(k)
      }
      return true
    },
    { expected: `items with distinct ${field}s` }
  )

/** An array `minItems`. */
export const minItems = (n: number) => Schema.isMinLength(n, { expected: `at least ${plural(n, "item")}` })

/** A string `minLength`/`maxLength`, counted in characters (code points) as Kubernetes does. */
export const lengthBetween = (min: number, max: number) =>
  min === 0
    ? Schema.isMaxCodePoints(max, { expected: `a string of at most ${plural(max, "character")}` })
    : Schema.isBetweenCodePoints(min, max, {
        expected: min === max ? `a string of ${plural(min, "character")}` : `a string of ${min} to ${max} characters`
      })

/** A string `pattern`, described for people; the pattern itself is part of the message. */
export const pattern = (regExp: RegExp, description = "a string") =>
  Schema.isPattern(regExp, { expected: `${description} matching ${regExp.source}` })

/** An object `maxProperties`. */
export const maxProperties = (n: number) =>
  Schema.isMaxProperties(n, { expected: `an object with at most ${n} ${n === 1 ? "entry" : "entries"}` })

/** An integer between `minimum` and `maximum` (inclusive). */
export const IntBetween = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/** An integer of at least `minimum`. */
export const IntAtLeast = (minimum: number) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(minimum, { expected: `a value of at least ${minimum}` }))

/** A bounded string, optionally with a pattern. */
export const BoundedString = (min: number, max: number, regExp?: RegExp, description?: string) =>
  regExp === undefined
    ? Schema.String.check(lengthBetween(min, max))
    : Schema.String.check(lengthBetween(min, max), pattern(regExp, description))

/** A struct field that decodes to `value` (given in its encoded form) when the key is absent. */
export const withDefault = <S extends Schema.Constraint>(
  schema: S,
  value: S["Encoded"]
): Schema.withDecodingDefaultKey<S> => Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema)

// ---------------------------------------------------------------------------------------------
// Named primitive types
// ---------------------------------------------------------------------------------------------

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** API group: a DNS subdomain, or "" for the core group. */
export const Group = Schema.String.check(
  lengthBetween(0, 253),
  pattern(/^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "an API group")
)
export type Group = typeof Group.Type

export const Kind = BoundedString(1, 63, /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, "a kind")
export type Kind = typeof Kind.Type

export const ObjectName = BoundedString(1, 253)
export type ObjectName = typeof ObjectName.Type

export const Namespace = BoundedString(1, 63, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "an RFC 1123 label")
export type Namespace = typeof Namespace.Type

export const SectionName = BoundedString(1, 253, DNS_SUBDOMAIN, "an RFC 1123 subdomain")
export type SectionName = typeof SectionName.Type

export const PortNumber = IntBetween(1, 65535)
export type PortNumber = typeof PortNumber.Type

/** A hostname that may be prefixed with a "*." wildcard label. */
export const Hostname = BoundedString(
  1,
  253,
  /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  "a lowercase RFC 1123 hostname"
)
export type Hostname = typeof Hostname.Type

/** A hostname without a wildcard. */
export const PreciseHostname = BoundedString(1, 253, DNS_SUBDOMAIN, "a lowercase RFC 1123 hostname")
export type PreciseHostname = typeof PreciseHostname.Type

/** A controller name: a domain-prefixed path, e.g. "example.net/gateway-controller". */
export const GatewayController = BoundedString(
  1,
  253,
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/,
  "a domain-prefixed path"
)
export type GatewayController = typeof GatewayController.Type

export const HTTPHeaderName = BoundedString(1, 256, /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, "an HTTP header name")
export type HTTPHeaderName = typeof HTTPHeaderName.Type

export const HeaderValue = BoundedString(1, 4096, /^[!-~]+([\t ]?[!-~]+)*$/, "an HTTP header value")
export type HeaderValue = typeof HeaderValue.Type

/** A Gateway API duration, e.g. "1h", "500ms", "1m30s". */
export const Duration = Schema.String.check(pattern(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/, "a duration"))
export type Duration = typeof Duration.Type

export const AnnotationValue = BoundedString(0, 4096)
export type AnnotationValue = typeof AnnotationValue.Type

export const LabelValue = BoundedString(0, 63, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, "a label value")
export type LabelValue = typeof LabelValue.Type

export const Weight = IntBetween(0, 1000000)
export type Weight = typeof Weight.Type

/** A string map of at most 16 entries with values up to 4096 characters (listener/policy TLS options). */
export const TLSOptions = Schema.Record(Schema.String, AnnotationValue).check(maxProperties(16))
export type TLSOptions = typeof TLSOptions.Type

// ---------------------------------------------------------------------------------------------
// Object references
// ---------------------------------------------------------------------------------------------

/** A reference within the referrer's namespace, with every field required (e.g. extensionRef). */
export const LocalObjectReference = Schema.Struct({ group: Group, kind: Kind, name: ObjectName })
export type LocalObjectReference = typeof LocalObjectReference.Type

/** A reference to any object, optionally in another namespace (all but namespace required). */
export const ObjectReference = Schema.Struct({
  group: Group,
  kind: Kind,
  name: ObjectName,
  namespace: Schema.optionalKey(Namespace)
})
export type ObjectReference = typeof ObjectReference.Type

export const ParentReference = Schema.Struct({
  group: withDefault(Group, "gateway.networking.k8s.io"),
  kind: withDefault(Kind, "Gateway"),
  namespace: Schema.optionalKey(Namespace),
  name: ObjectName,
  sectionName: Schema.optionalKey(SectionName),
  port: Schema.optionalKey(PortNumber)
})
export type ParentReference = typeof ParentReference.Type

const backendObjectReferenceFields = {
  group: withDefault(Group, ""),
  kind: withDefault(Kind, "Service"),
  name: ObjectName,
  namespace: Schema.optionalKey(Namespace),
  port: Schema.optionalKey(PortNumber)
}

export const BackendObjectReference = Schema.Struct(backendObjectReferenceFields)
export type BackendObjectReference = typeof BackendObjectReference.Type

/** The fields of a BackendRef, for kinds that extend it (HTTPBackendRef, GRPCBackendRef). */
export const backendRefFields = { ...backendObjectReferenceFields, weight: withDefault(Weight, 1) }

export const BackendRef = Schema.Struct(backendRefFields)
export type BackendRef = typeof BackendRef.Type

export const SecretObjectReference = Schema.Struct({
  group: withDefault(Group, ""),
  kind: withDefault(Kind, "Secret"),
  name: ObjectName,
  namespace: Schema.optionalKey(Namespace)
})
export type SecretObjectReference = typeof SecretObjectReference.Type

/** BackendTLSPolicy targetRefs. */
export const LocalPolicyTargetReferenceWithSectionName = Schema.Struct({
  group: Group,
  kind: Kind,
  name: ObjectName,
  sectionName: Schema.optionalKey(SectionName)
})
export type LocalPolicyTargetReferenceWithSectionName = typeof LocalPolicyTargetReferenceWithSectionName.Type

// ---------------------------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------------------------

export const LabelSelectorRequirement = Schema.Struct({
  key: Schema.String,
  operator: Schema.String,
  values: Schema.optionalKey(Schema.Array(Schema.String))
})
export type LabelSelectorRequirement = typeof LabelSelectorRequirement.Type

export const LabelSelector = Schema.Struct({
  matchLabels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  matchExpressions: Schema.optionalKey(Schema.Array(LabelSelectorRequirement))
})
export type LabelSelector = typeof LabelSelector.Type

// ---------------------------------------------------------------------------------------------
// Route pieces shared by HTTPRoute and GRPCRoute
// ---------------------------------------------------------------------------------------------

export const HTTPHeader = Schema.Struct({ name: HTTPHeaderName, value: HeaderValue })
export type HTTPHeader = typeof HTTPHeader.Type

export const HTTPHeaderFilter = Schema.Struct({
  set: Schema.optionalKey(Schema.Array(HTTPHeader).check(maxItems(16))),
  add: Schema.optionalKey(Schema.Array(HTTPHeader).check(maxItems(16))),
  remove: Schema.optionalKey(Schema.Array(Schema.String).check(maxItems(16)))
})
export type HTTPHeaderFilter = typeof HTTPHeaderFilter.Type

export const Fraction = Schema.Struct({
  numerator: IntAtLeast(0),
  denominator: withDefault(IntAtLeast(1), 100)
})
export type Fraction = typeof Fraction.Type

export const HTTPRequestMirrorFilter = Schema.Struct({
  backendRef: BackendObjectReference,
  percent: Schema.optionalKey(IntBetween(0, 100)),
  fraction: Schema.optionalKey(Fraction)
})
export type HTTPRequestMirrorFilter = typeof HTTPRequestMirrorFilter.Type

export const CookieConfig = Schema.Struct({
  lifetimeType: withDefault(Schema.Literals(["Permanent", "Session"]), "Session")
})
export type CookieConfig = typeof CookieConfig.Type

export const SessionPersistence = Schema.Struct({
  sessionName: Schema.optionalKey(BoundedString(0, 128)),
  absoluteTimeout: Schema.optionalKey(Duration),
  type: withDefault(Schema.Literals(["Cookie", "Header"]), "Cookie"),
  cookieConfig: Schema.optionalKey(CookieConfig)
})
export type SessionPersistence = typeof SessionPersistence.Type

/** Rule and route names share the SectionName type. */
export const RouteRuleName = SectionName

export const UseDefaultGateways = Schema.Literals(["All", "None"])
export type UseDefaultGateways = typeof UseDefaultGateways.Type

/** The fields of CommonRouteSpec. */
export const commonRouteSpecFields = {
  parentRefs: Schema.optionalKey(Schema.Array(ParentReference).check(maxItems(32))),
  useDefaultGateways: Schema.optionalKey(UseDefaultGateways)
}

// ---------------------------------------------------------------------------------------------
// Status (statuses are decoded as unknown on the kinds; these are for status writers)
// ---------------------------------------------------------------------------------------------

export const Condition = Schema.Struct({
  type: BoundedString(
    1,
    316,
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    "a condition type"
  ),
  status: Schema.Literals(["True", "False", "Unknown"]),
  observedGeneration: Schema.optionalKey(IntAtLeast(0)),
  lastTransitionTime: Schema.String,
  reason: BoundedString(1, 1024, /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, "a condition reason"),
  message: BoundedString(0, 32768)
})
export type Condition = typeof Condition.Type

export const RouteParentStatus = Schema.Struct({
  parentRef: ParentReference,
  controllerName: GatewayController,
  conditions: Schema.Array(Condition).check(minItems(1), maxItems(8))
})
export type RouteParentStatus = typeof RouteParentStatus.Type

export const RouteStatus = Schema.Struct({
  parents: Schema.Array(RouteParentStatus).check(maxItems(32))
})
export type RouteStatus = typeof RouteStatus.Type

// ---------------------------------------------------------------------------------------------
// Per-version limits of the L4 routes
// ---------------------------------------------------------------------------------------------

/**
 * TLSRoute, TCPRoute and UDPRoute allow one rule in v1 (and TLSRoute v1alpha3) but 16 in v1alpha2:
 * the kind schemas accept the union and this check applies the stricter limit by apiVersion.
 */
export const singleRuleIn = (apiVersions: ReadonlyArray<string>) =>
  Schema.makeFilter<{ readonly apiVersion: string; readonly spec: { readonly rules: ReadonlyArray<unknown> } }>(
    (route) =>
      apiVersions.includes(route.apiVersion) && route.spec.rules.length > 1
        ? {
            path: ["spec", "rules"],
            issue: `expected at most 1 item in ${route.apiVersion}, got ${route.spec.rules.length} items`
          }
        : undefined
  )
