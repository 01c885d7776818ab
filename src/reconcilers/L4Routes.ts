/**
 * TLSRoute, TCPRoute and UDPRoute: attachment and status, and one IR route
 * per rule and listener (TLSRoute: with the SNI hostnames). Pure.
 */
import type { TCPRoute } from "../api/gatewayapi/TCPRoute.ts"
import type { TLSRoute } from "../api/gatewayapi/TLSRoute.ts"
import type { UDPRoute } from "../api/gatewayapi/UDPRoute.ts"
import type { Condition } from "../status/Conditions.ts"
import type { Transport } from "./Backends.ts"
import { buildDestination, type RefFailure, type WeightedRef } from "./Destinations.ts"
import { compareHostSpecificity } from "./Hostnames.ts"
import { acceptedCondition, type ParentIndex, type ParentRefInput, resolveParents } from "./RouteParents.ts"
import { ageRank, type L4Entry, type RouteResult, resolvedRefsCondition } from "./RouteResult.ts"
import { namespaceOf, type ResourceSnapshot } from "./Snapshot.ts"

type L4Route = TLSRoute | TCPRoute | UDPRoute

interface L4Spec {
  readonly parentRefs?: ReadonlyArray<ParentRefInput>
  readonly hostnames?: ReadonlyArray<string>
  readonly rules: ReadonlyArray<{ readonly name?: string; readonly backendRefs?: ReadonlyArray<WeightedRef> }>
}

const transportOf = (kind: string): Transport => (kind === "UDPRoute" ? "UDP" : "TCP")

export const reconcileL4Route = (snapshot: ResourceSnapshot, index: ParentIndex, r: L4Route): RouteResult => {
  const spec = r.spec as L4Spec
  const kind = r.kind
  const namespace = namespaceOf(r)
  const name = r.metadata.name
  const gen = r.metadata.generation
  const hostnames = kind === "TLSRoute" ? (spec.hostnames ?? []) : []
  const parents = resolveParents(snapshot, index, { kind, namespace, name, hostnames }, spec.parentRefs ?? [])
  const refFailures: Array<RefFailure> = []
  const prefix = kind.toLowerCase()
  const rules = spec.rules.map((rule, i) => {
    const { destination, failures } = buildDestination(
      snapshot,
      { kind, namespace },
      `${prefix}/${namespace}/${name}/rule/${i}`,
      rule.backendRefs ?? [],
      transportOf(kind)
    )
    refFailures.push(...failures)
    return { i, destination }
  })
  const age = ageRank(r.metadata.creationTimestamp, namespace, name)
  const l4: Array<L4Entry> = []
  const seen = new Set<string>()
  const attached = new Set<string>()
  const statuses = parents.map((p) => {
    const conditions: Array<Condition> = [acceptedCondition(p, gen), resolvedRefsCondition(refFailures, gen)]
    if (p.failure === undefined) {
      for (const a of p.attachments) {
        attached.add(a.listener.id)
        if (!a.listener.programmed) continue
        const hosts = kind === "TLSRoute" ? a.hostnames.filter((h) => h !== "*") : []
        const specificity = [...hosts].sort(compareHostSpecificity)[0]
        for (const { i, destination } of rules) {
          const k = `${a.listener.id}|${destination.name}`
          if (seen.has(k)) continue
          seen.add(k)
          l4.push({
            listenerId: a.listener.id,
            rank: [specificity === undefined ? 2 : specificity.startsWith("*") ? 1 : 0, ...age, i],
            route: { name: destination.name, hostnames: hosts, destination }
          })
        }
      }
    }
    return { parentRef: p.parentRef, conditions }
  })
  const parentAttachments = parents.map((p) =>
    p.failure === undefined ? p.attachments.map((a) => ({ listenerId: a.listener.id, hostnames: a.hostnames })) : []
  )
  return {
    kind,
    namespace,
    name,
    age,
    parents: statuses,
    parentAttachments,
    attachedListeners: [...attached],
    http: [],
    l4
  }
}
