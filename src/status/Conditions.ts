/**
 * Kubernetes conditions as the Gateway API uses them (metav1.Condition), and
 * the condition types and reasons Portico writes. Pure data helpers.
 */

export type ConditionStatus = "True" | "False" | "Unknown"

export interface Condition {
  readonly type: string
  readonly status: ConditionStatus
  readonly reason: string
  readonly message: string
  readonly observedGeneration: number
  /** Set by the status writer; translate output omits it. */
  readonly lastTransitionTime?: string
}

export const makeCondition = (
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  observedGeneration: number
): Condition => ({ type, status, reason, message, observedGeneration })

/**
 * Merges `ours` into `existing` by type: ours replace conditions of the same
 * type, others are kept (never remove another controller's condition), and the
 * lastTransitionTime is kept when the status did not change.
 */
export const mergeConditions = (
  existing: ReadonlyArray<Condition>,
  ours: ReadonlyArray<Condition>,
  now: string
): ReadonlyArray<Condition> => {
  const byType = new Map(existing.map((c) => [c.type, c] as const))
  const merged: Array<Condition> = existing.filter((c) => !ours.some((o) => o.type === c.type))
  for (const c of ours) {
    const prev = byType.get(c.type)
    const lastTransitionTime =
      prev !== undefined && prev.status === c.status && prev.lastTransitionTime !== undefined
        ? prev.lastTransitionTime
        : now
    merged.push({ ...c, lastTransitionTime })
  }
  return merged
}

/** Condition types. */
export const ConditionType = {
  Accepted: "Accepted",
  Programmed: "Programmed",
  ResolvedRefs: "ResolvedRefs",
  Conflicted: "Conflicted",
  SupportedVersion: "SupportedVersion",
  PartiallyInvalid: "PartiallyInvalid"
} as const

/** Reasons used by GatewayClass, Gateway, listeners, routes and policies (Gateway API v1.6.1). */
export const Reason = {
  Accepted: "Accepted",
  Programmed: "Programmed",
  ResolvedRefs: "ResolvedRefs",
  NoConflicts: "NoConflicts",
  SupportedVersion: "SupportedVersion",
  UnsupportedVersion: "UnsupportedVersion",
  InvalidParameters: "InvalidParameters",
  Unsupported: "Unsupported",
  Pending: "Pending",
  Invalid: "Invalid",
  ListenersNotValid: "ListenersNotValid",
  UnsupportedAddress: "UnsupportedAddress",
  AddressNotAssigned: "AddressNotAssigned",
  AddressNotUsable: "AddressNotUsable",
  NoResources: "NoResources",
  PortUnavailable: "PortUnavailable",
  UnsupportedProtocol: "UnsupportedProtocol",
  UnsupportedValue: "UnsupportedValue",
  HostnameConflict: "HostnameConflict",
  ProtocolConflict: "ProtocolConflict",
  InvalidCertificateRef: "InvalidCertificateRef",
  InvalidRouteKinds: "InvalidRouteKinds",
  RefNotPermitted: "RefNotPermitted",
  NoValidCACertificate: "NoValidCACertificate",
  InvalidCACertificateRef: "InvalidCACertificateRef",
  InvalidCACertificateKind: "InvalidCACertificateKind",
  NotAllowedByListeners: "NotAllowedByListeners",
  NoMatchingListenerHostname: "NoMatchingListenerHostname",
  NoMatchingParent: "NoMatchingParent",
  IncompatibleFilters: "IncompatibleFilters",
  BackendNotFound: "BackendNotFound",
  InvalidKind: "InvalidKind",
  NotAllowedByParent: "NotAllowedByParent",
  ParentNotAccepted: "ParentNotAccepted",
  Conflicted: "Conflicted",
  NoMatchingParentListener: "NoMatchingParentListener"
} as const
