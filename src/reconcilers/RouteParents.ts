/**
 * Route attachment, shared by every route kind: which parentRefs are ours,
 * which listeners each one selects (sectionName, port, allowedRoutes kinds and
 * namespaces, hostname intersection), and the Accepted condition per parent.
 * Pure.
 */
import type { Condition } from "../status/Conditions.ts"
import { ConditionType, makeCondition, Reason } from "../status/Conditions.ts"
import { type GatewayContext, type ListenerSetContext, namespaceLabels } from "./Gateway.ts"
import { intersectHostnames } from "./Hostnames.ts"
import { matchesSelector } from "./LabelSelector.ts"
import { GATEWAY_GROUP, type ListenerContext } from "./Listeners.ts"
import { key, type ResourceSnapshot } from "./Snapshot.ts"

export interface ParentRefInput {
  readonly group?: string
  readonly kind?: string
  readonly namespace?: string
  readonly name: string
  readonly sectionName?: string
  readonly port?: number
}

/** The parentRef as written back in status: group and kind always set. */
export interface StatusParentRef {
  readonly group: string
  readonly kind: string
  readonly namespace?: string
  readonly name: string
  readonly sectionName?: string
  readonly port?: number
}

export interface Attachment {
  readonly listener: ListenerContext
  /** Effective hostnames of the route on this listener (`*` = any). */
  readonly hostnames: ReadonlyArray<string>
}

export interface ParentResult {
  readonly parentRef: StatusParentRef
  readonly gateway: GatewayContext
  readonly attachments: ReadonlyArray<Attachment>
  /** Accepted=False reason and message when the route attaches to no listener of this parent. */
  readonly failure?: { readonly reason: string; readonly message: string }
}

export interface RouteIdentity {
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly hostnames: ReadonlyArray<string>
}

/** Indexes our Gateways and attached ListenerSets by `namespace/name`. */
export interface ParentIndex {
  readonly gateways: ReadonlyMap<string, GatewayContext>
  readonly listenerSets: ReadonlyMap<string, { readonly gateway: GatewayContext; readonly accepted: boolean }>
  /** ListenerSets whose Gateway is ours but does not allow them (spec.allowedListeners). */
  readonly notAllowedListenerSets: ReadonlyMap<string, GatewayContext>
}

export const makeParentIndex = (
  gateways: ReadonlyArray<GatewayContext>,
  rejectedListenerSets: ReadonlyArray<ListenerSetContext> = []
): ParentIndex => {
  const gws = new Map<string, GatewayContext>()
  const sets = new Map<string, { gateway: GatewayContext; accepted: boolean }>()
  const notAllowed = new Map<string, GatewayContext>()
  for (const ls of rejectedListenerSets) {
    const g = gws.get(ls.gatewayKey) ?? gateways.find((x) => x.key === ls.gatewayKey)
    if (g !== undefined) notAllowed.set(key(ls.object.metadata.namespace ?? "default", ls.object.metadata.name), g)
  }
  for (const g of gateways) {
    gws.set(g.key, g)
    for (const ls of g.listenerSets) {
      sets.set(key(ls.object.metadata.namespace ?? "default", ls.object.metadata.name), {
        gateway: g,
        accepted: ls.accepted
      })
    }
  }
  return { gateways: gws, listenerSets: sets, notAllowedListenerSets: notAllowed }
}

const namespaceAllowed = (snapshot: ResourceSnapshot, l: ListenerContext, routeNamespace: string): boolean => {
  switch (l.allowedNamespaces.from) {
    case "All":
      return true
    case "Same":
      return routeNamespace === l.parent.namespace
    case "Selector":
      return (
        l.allowedNamespaces.selector !== undefined &&
        matchesSelector(l.allowedNamespaces.selector, namespaceLabels(snapshot, routeNamespace))
      )
    default:
      return false
  }
}

/** Resolves every parentRef of a route that names one of our Gateways or ListenerSets. */
export const resolveParents = (
  snapshot: ResourceSnapshot,
  index: ParentIndex,
  route: RouteIdentity,
  parentRefs: ReadonlyArray<ParentRefInput>
): ReadonlyArray<ParentResult> => {
  const out: Array<ParentResult> = []
  const seen = new Set<string>()
  for (const ref of parentRefs) {
    // The same parentRef twice is one parent (the API server's CEL rule rejects it; files may not).
    const identity = JSON.stringify([ref.group, ref.kind, ref.namespace, ref.name, ref.sectionName, ref.port])
    if (seen.has(identity)) continue
    seen.add(identity)
    const group = ref.group ?? GATEWAY_GROUP
    const kind = ref.kind ?? "Gateway"
    if (group !== GATEWAY_GROUP) continue
    const ns = ref.namespace ?? route.namespace
    const statusRef: StatusParentRef = {
      group,
      kind,
      ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
      name: ref.name,
      ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName }),
      ...(ref.port === undefined ? {} : { port: ref.port })
    }
    let gateway: GatewayContext | undefined
    let candidates: ReadonlyArray<ListenerContext>
    if (kind === "Gateway") {
      gateway = index.gateways.get(key(ns, ref.name))
      if (gateway === undefined) continue
      candidates = gateway.listeners.filter((l) => l.parent.kind === "Gateway")
    } else if (kind === "ListenerSet") {
      const set = index.listenerSets.get(key(ns, ref.name))
      if (set === undefined) {
        const owner = index.notAllowedListenerSets.get(key(ns, ref.name))
        if (owner !== undefined) {
          out.push({
            parentRef: statusRef,
            gateway: owner,
            attachments: [],
            failure: {
              reason: Reason.NotAllowedByListeners,
              message: `ListenerSet ${ns}/${ref.name} is not attached: Gateway ${owner.key} does not allow it (spec.allowedListeners)`
            }
          })
        }
        continue
      }
      gateway = set.gateway
      candidates = gateway.listeners.filter(
        (l) => l.parent.kind === "ListenerSet" && l.parent.namespace === ns && l.parent.name === ref.name
      )
    } else continue
    out.push(attach(snapshot, route, statusRef, gateway, candidates))
  }
  return out
}

const attach = (
  snapshot: ResourceSnapshot,
  route: RouteIdentity,
  parentRef: StatusParentRef,
  gateway: GatewayContext,
  candidates: ReadonlyArray<ListenerContext>
): ParentResult => {
  const fail = (reason: string, message: string): ParentResult => ({
    parentRef,
    gateway,
    attachments: [],
    failure: { reason, message }
  })
  const selected = candidates.filter(
    (l) =>
      (parentRef.sectionName === undefined || l.name === parentRef.sectionName) &&
      (parentRef.port === undefined || l.port === parentRef.port)
  )
  if (selected.length === 0) {
    const what = [
      parentRef.sectionName === undefined ? undefined : `sectionName ${parentRef.sectionName}`,
      parentRef.port === undefined ? undefined : `port ${parentRef.port}`
    ]
      .filter((x) => x !== undefined)
      .join(" and ")
    return fail(
      Reason.NoMatchingParent,
      `no listener of ${parentRef.kind} ${gateway.key} matches ${what || "the parentRef"}`
    )
  }
  const kindAllowed = selected.filter((l) => l.supportedKinds.some((k) => k.kind === route.kind))
  if (kindAllowed.length === 0) {
    return fail(
      Reason.NotAllowedByListeners,
      `no selected listener of ${gateway.key} allows kind ${route.kind} (allowedRoutes.kinds / protocol)`
    )
  }
  const nsAllowed = kindAllowed.filter((l) => namespaceAllowed(snapshot, l, route.namespace))
  if (nsAllowed.length === 0) {
    return fail(
      Reason.NotAllowedByListeners,
      `no selected listener of ${gateway.key} allows routes from namespace ${route.namespace} (allowedRoutes.namespaces)`
    )
  }
  const attachments: Array<Attachment> = []
  for (const l of nsAllowed) {
    const hostnames = intersectHostnames(l.hostname, route.hostnames)
    if (hostnames.length > 0) attachments.push({ listener: l, hostnames })
  }
  if (attachments.length === 0) {
    return fail(
      Reason.NoMatchingListenerHostname,
      `route hostnames ${route.hostnames.join(", ")} do not intersect the hostnames of the selected listeners`
    )
  }
  return { parentRef, gateway, attachments }
}

/** The Accepted condition of one parent entry. */
export const acceptedCondition = (
  parent: ParentResult,
  generation: number,
  ruleFailure?: { readonly reason: string; readonly message: string }
): Condition => {
  if (parent.failure !== undefined) {
    return makeCondition(ConditionType.Accepted, "False", parent.failure.reason, parent.failure.message, generation)
  }
  if (ruleFailure !== undefined) {
    return makeCondition(ConditionType.Accepted, "False", ruleFailure.reason, ruleFailure.message, generation)
  }
  return makeCondition(ConditionType.Accepted, "True", Reason.Accepted, "Route is accepted", generation)
}
