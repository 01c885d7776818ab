/**
 * ReferenceGrant semantics: may an object in one namespace refer to an object
 * in another? Pure.
 */
import type { ResourceSnapshot } from "./Snapshot.ts"
import { namespaceOf } from "./Snapshot.ts"

export interface ReferenceFrom {
  readonly group: string
  readonly kind: string
  readonly namespace: string
}

export interface ReferenceTo {
  readonly group: string
  readonly kind: string
  readonly namespace: string
  readonly name: string
}

/** The core API group is spelled "" in Gateway API references; accept "core" too. */
export const normalizeGroup = (group: string | undefined): string =>
  group === undefined || group === "core" ? "" : group

/**
 * True when the reference is within one namespace, or a ReferenceGrant in the
 * target namespace allows it (from group/kind/namespace; to group/kind and
 * optionally name).
 */
export const isReferenceAllowed = (snapshot: ResourceSnapshot, from: ReferenceFrom, to: ReferenceTo): boolean => {
  if (from.namespace === to.namespace) return true
  return snapshot.referenceGrants.some(
    (grant) =>
      namespaceOf(grant) === to.namespace &&
      grant.spec.from.some(
        (f) =>
          normalizeGroup(f.group) === normalizeGroup(from.group) &&
          f.kind === from.kind &&
          f.namespace === from.namespace
      ) &&
      grant.spec.to.some(
        (t) =>
          normalizeGroup(t.group) === normalizeGroup(to.group) &&
          t.kind === to.kind &&
          (t.name === undefined || t.name === "" || t.name === to.name)
      )
  )
}
